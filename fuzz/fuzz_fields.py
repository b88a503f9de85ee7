"""Structure-aware fuzz target for the header's fields (atheris). Not part of `make test`.

    pip install atheris && python fuzz/fuzz_fields.py -max_total_time=60

Random bytes rarely get past the JSON parser; here the fuzzer rewrites the fields of a valid
model file instead: it picks a place in the architecture or the metadata and puts a value of
any JSON type there (huge and negative numbers, strings, nesting), keeping the tensors. Any
exception other than a clean ModelFileError is a finding, and so is a network that loads but
cannot predict.
"""

import json
import os
import sys
import tempfile

import atheris
from json_values import json_value  # fuzz/, beside this script

with atheris.instrument_imports():
    import numpy as np
    from safetensors.numpy import load as st_load
    from safetensors.numpy import save as st_save

    import glassnet as gn
    from glassnet.errors import ModelFileError

PATH = os.path.join(tempfile.mkdtemp(prefix="glassnet-fuzz-fields-"), "m.safetensors")
_BASE = os.path.join(tempfile.mkdtemp(), "base.safetensors")
gn.save(gn.Network([gn.Dense(3, gn.activations.LeakyReLU(0.2)), gn.Dropout(0.1),
                    gn.Dense(2, "softmax")], input_dim=2, seed=0), _BASE, {"classes": [0, 1]})
with open(_BASE, "rb") as _fh:
    _RAW = _fh.read()
_TENSORS = st_load(_RAW)
_HEADER = json.loads(_RAW[8:8 + int.from_bytes(_RAW[:8], "little")])["__metadata__"]


def _places(node, path=()):
    yield path
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _places(child, path + (key,))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _places(child, path + (i,))


def _replace(node, path, value):
    if not path:
        return value
    node[path[0]] = _replace(node[path[0]], path[1:], value)
    return node


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    key = ("glassnet.config", "glassnet.metadata", "glassnet.format_version")[
        fdp.ConsumeIntInRange(0, 2)]
    document = json.loads(_HEADER[key])
    places = list(_places(document))
    place = places[fdp.ConsumeIntInRange(0, len(places) - 1)]
    document = _replace(document, place, json_value(fdp))
    header = dict(_HEADER)
    header[key] = json.dumps(document) if fdp.ConsumeBool() else fdp.ConsumeUnicodeNoSurrogates(64)
    with open(PATH, "wb") as fh:
        fh.write(st_save(_TENSORS, metadata=header))
    try:
        net = gn.load(PATH)
    except ModelFileError:
        return
    out = net.predict_proba(np.zeros((2, net.input_dim)))
    assert np.all(np.isfinite(out)), "a loaded network gives non-finite output"


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
