"""MNIST on a small slice: the IDX loader and a short training run (the full table is
bench/mnist.py)."""

import numpy as np

import glassnet as gn
from glassnet import datasets

from .conftest import DATA, needs_data


@needs_data("mnist", "train-images-idx3-ubyte.gz")
def test_short_training_on_a_slice_of_mnist_beats_90_percent():
    ds = datasets.load_mnist(DATA / "mnist", limit=6000)
    assert ds.X_train.dtype == np.float32 and ds.X_train.shape == (6000, 784)
    assert set(np.unique(ds.y_train)) == set(range(10))
    # Labels line up with images: the mean image of each digit differs from the others.
    means = np.stack([ds.X_train[ds.y_train == d].mean(0) for d in range(10)])
    assert np.linalg.matrix_rank(means) == 10
    net = gn.Network([gn.Dense(128, "relu"), gn.Dense(10, "softmax")], seed=0, dtype="float32")
    net.fit(ds.X_train[:5000], ds.y_train[:5000], optimizer=gn.Adam(1e-3), epochs=4,
            batch_size=64)
    assert net.evaluate(ds.X_test[:1000], ds.y_test[:1000])["accuracy"] > 0.90
