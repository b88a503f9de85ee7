"""Fuzz target for the playground server's JSON endpoints (atheris). Not part of `make test`.

    pip install atheris && python fuzz/fuzz_server.py -max_total_time=60

Each input becomes a request to one endpoint (settings, control, weight, view, data, neuron)
with a body of any JSON shape, or raw bytes, through the real ASGI app (Starlette's test
client, loopback Host). Any 5xx answer is a finding: bad input must be a 4xx that names it.
"""

import json
import sys
from urllib.parse import quote

import atheris
from json_values import json_value  # fuzz/, beside this script

with atheris.instrument_imports():
    from starlette.testclient import TestClient

    from glassnet.playground.app import create_app
    from glassnet.playground.settings import Settings

_CLIENT = TestClient(create_app(Settings(hidden=(2,), n_samples=50)),
                     base_url="http://127.0.0.1:8000")
_POSTS = ["/api/settings", "/api/control", "/api/weight", "/api/view", "/api/data"]
_KEYS = ["dataset", "hidden", "learning_rate", "features", "action", "layer", "row",
         "column", "value", "bend", "batch_size", "noise", "custom", "head", "epochs_per_frame"]


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    if fdp.ConsumeBool():
        q = "&".join(f"{k}={quote(fdp.ConsumeUnicodeNoSurrogates(6))}"
                     for k in ("layer", "unit"))
        response = _CLIENT.get(f"/api/neuron?{q}")
    else:
        path = fdp.PickValueInList(_POSTS)
        if fdp.ConsumeBool():
            body = json.dumps({fdp.PickValueInList(_KEYS): json_value(fdp, _KEYS)
                               for _ in range(fdp.ConsumeIntInRange(0, 5))}).encode()
        else:
            body = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4096))
        kind = "text/csv" if path == "/api/data" else "application/json"
        response = _CLIENT.post(path, content=body, headers={"content-type": kind})
    if response.status_code >= 500:
        raise AssertionError(f"{response.status_code}: {response.text[:300]}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
