"""Fuzz target for the model-file loader (atheris). Not part of `make test`.

    pip install atheris && python fuzz/fuzz_load.py -max_total_time=60

Any exception other than a clean ModelFileError / FileNotFoundError is a finding. The corpus
starts from real model files so the fuzzer explores valid headers too.
"""

import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    import numpy as np

    import glassnet as gn
    from glassnet.io import ModelFileError

PATH = os.path.join(tempfile.mkdtemp(prefix="glassnet-fuzz-"), "m.safetensors")


def test_one_input(data: bytes) -> None:
    with open(PATH, "wb") as fh:
        fh.write(data)
    try:
        net = gn.load(PATH)
    except (ModelFileError, FileNotFoundError):
        return
    # A file that loads must give a working, finite network.
    out = net.forward(np.zeros((1, net.input_dim), dtype=net.dtype))
    assert np.all(np.isfinite(out)), "loaded network gives non-finite output"


def seed_corpus(folder):
    os.makedirs(folder, exist_ok=True)
    for i, layers in enumerate(([gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")],
                                [gn.Dense(2, "softmax")])):
        gn.save(gn.Network(layers, input_dim=2, seed=i), os.path.join(folder, f"seed{i}"))


if __name__ == "__main__":
    corpus = os.path.join(os.path.dirname(__file__), "corpus")
    seed_corpus(corpus)
    atheris.Setup(sys.argv + [corpus], test_one_input)
    atheris.Fuzz()
