"""Fuzz target for the data readers (atheris). Not part of `make test`.

    pip install atheris && python fuzz/fuzz_readers.py -max_total_time=60

Each input is written as a file one reader takes (a CSV, an IDX file, a .npz, an image) and
read through ``glassnet.datasets``. A ``ValueError``/``FileNotFoundError`` naming the problem
is the expected answer to bad bytes; any other exception is a finding.
"""

import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    from glassnet import datasets

_DIR = tempfile.mkdtemp(prefix="glassnet-fuzz-readers-")
_KINDS = ["data.csv", "train-images-idx3-ubyte", "data.npz", "image.png"]


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    name = fdp.PickValueInList(_KINDS)
    path = os.path.join(_DIR, name)
    with open(path, "wb") as fh:
        fh.write(fdp.ConsumeBytes(1 << 16))
    try:
        if name == "data.csv":
            datasets.load(path, label=fdp.PickValueInList(["-1", "0", "label"]),
                          drop_missing_labels=fdp.ConsumeBool())
        elif name.startswith("train-images"):
            datasets.load_idx(path)
        elif name == "data.npz":
            datasets.load(path)
        else:
            datasets.load_image(path, (8, 8))
    except (ValueError, FileNotFoundError):
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
