"""Fuzz target for resuming from a checkpoint (atheris). Not part of `make test`.

    pip install atheris && python fuzz/fuzz_checkpoint.py -max_total_time=60

The fuzzer's bytes are the checkpoint file of a fit about to resume. Any exception other than a
clean ModelFileError is a finding, and so is a refused checkpoint that changed the network or
the optimizer, or an accepted one that leaves non-finite weights.
"""

import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    import numpy as np

    import glassnet as gn
    from glassnet.checkpoints import CHECKPOINT_NAME, load_checkpoint
    from glassnet.errors import ModelFileError

FOLDER = tempfile.mkdtemp(prefix="glassnet-fuzz-checkpoint-")
X = np.random.default_rng(0).normal(size=(16, 2))
Y = (X[:, 0] > 0).astype(int)


def network():
    return gn.Network([gn.Dense(3, "relu"), gn.Dropout(0.1), gn.Dense(1, "sigmoid")],
                      input_dim=2, seed=0)


def test_one_input(data: bytes) -> None:
    with open(os.path.join(FOLDER, CHECKPOINT_NAME), "wb") as fh:
        fh.write(data)
    net, optimizer = network(), gn.Adam(0.01)
    before = net.params.copy()
    rng_before = net.shuffle_rng.bit_generator.state
    try:
        state = load_checkpoint(FOLDER, net, optimizer)
    except ModelFileError:
        assert np.array_equal(net.params, before), "a refused checkpoint changed the weights"
        assert not optimizer.state and optimizer.iterations == 0
        assert net.shuffle_rng.bit_generator.state == rng_before
        return
    assert state is not None
    assert np.all(np.isfinite(net.params)), "an accepted checkpoint has non-finite weights"


def seed_corpus(folder):
    os.makedirs(folder, exist_ok=True)
    for i, epochs in enumerate((1, 3)):
        work = tempfile.mkdtemp()
        network().fit(X, Y, optimizer=gn.Adam(0.01), epochs=epochs, batch_size=4,
                      checkpoint=work)
        with open(os.path.join(work, CHECKPOINT_NAME), "rb") as src, \
                open(os.path.join(folder, f"seed{i}"), "wb") as dst:
            dst.write(src.read())


if __name__ == "__main__":
    corpus = os.path.join(os.path.dirname(__file__), "corpus-checkpoint")
    seed_corpus(corpus)
    atheris.Setup(sys.argv + [corpus], test_one_input)
    atheris.Fuzz()
