"""The three seed tutorials' experiments, with their exact configurations.

Each function returns a list of rows ``{"experiment", "metric", "tutorial", "glassnet"}``: the
number the tutorial printed and the one glassnet gets with the same data, layer sizes,
initialisation (the same random draws, in the same order), learning rate and iterations.

Where glassnet differs from a tutorial, it says so:
- moons: the tutorial's backward pass uses ``dW2`` where ``W2`` belongs
  (``dZ1 = dW2.T @ dZ2 * relu'(Z1)``); glassnet computes the true gradient, and the data are
  unseeded in the tutorial (here ``random_state=0``).
"""

from __future__ import annotations

import math

import numpy as np

from .initializers import Initializer
from .layers import Dense
from .network import Network
from .optimizers import SGD

__all__ = ["moons", "circles", "cats", "EXPERIMENTS"]


class TutorialDraw(Initializer):
    """``randn(n_out, n_in).T * scale``: the tutorials' weight draws, in their order.

    ``scale`` is a number or ``"1/sqrt(n_in)"``.
    """

    name = "tutorial_draw"

    def __init__(self, scale: float | str = 1.0, transposed: bool = True):
        self.scale, self.transposed = scale, transposed

    def __call__(self, shape, rng):
        n_in, n_out = shape
        W = rng.standard_normal((n_out, n_in)).T if self.transposed else \
            rng.standard_normal(shape)
        return W * (1 / math.sqrt(n_in) if self.scale == "1/sqrt(n_in)" else self.scale)

    def get_config(self):
        # A saved model needs no initialiser: its weights are in the file.
        return {"name": "zeros"}


def _net(sizes, activations, init, seed):
    layers = [Dense(n, a, init=init) for n, a in zip(sizes[1:], activations)]
    return Network(layers, input_dim=sizes[0], seed=np.random.RandomState(seed))


def _row(experiment, metric, tutorial, ours):
    return {"experiment": experiment, "metric": metric, "tutorial": tutorial, "glassnet": ours}


def moons(epochs: int = 20000):
    """Tutorial 000: 2-5-1, ReLU then sigmoid, lr 0.003, full batch; make_moons(300, 0.2),
    80/20 split with random_state=0; weights randn / sqrt(n_in) after np.random.seed(0)."""
    from sklearn.datasets import make_moons
    from sklearn.model_selection import train_test_split

    X, y = make_moons(300, noise=0.20, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, test_size=0.20)
    net = _net([2, 5, 1], ["relu", "sigmoid"], TutorialDraw("1/sqrt(n_in)"), seed=0)
    history = net.fit(X_train, y_train, optimizer=SGD(0.003), epochs=epochs)
    return net, history, [
        _row("moons 2-5-1", "train accuracy", 0.854, net.evaluate(X_train, y_train)["accuracy"]),
        _row("moons 2-5-1", "test accuracy", 0.833, net.evaluate(X_test, y_test)["accuracy"]),
    ]


def circles(epochs: int = 25000):
    """Tutorial 001: [2, 10, 5, 1], ReLU, ReLU, sigmoid, lr 0.01, full batch; make_circles
    (1000, noise=.05) after np.random.seed(4), weights plain randn after np.random.seed(4)."""
    from sklearn.datasets import make_circles

    X, y = make_circles(n_samples=1000, noise=.05, random_state=4)
    X_test, y_test = make_circles(n_samples=100, noise=.05, random_state=2)
    net = _net([2, 10, 5, 1], ["relu", "relu", "sigmoid"], TutorialDraw(1.0, transposed=False),
               seed=4)
    history = net.fit(X, y, optimizer=SGD(0.01), epochs=epochs)
    return net, history, [
        _row("circles 2-10-5-1", "cost at iteration 0", 1.7162788190920542,
             history["loss"][0]),
        _row("circles 2-10-5-1", "cost at iteration 24000", 0.0612092147947077,
             history["loss"][min(24000, epochs - 1)]),
        _row("circles 2-10-5-1", "train accuracy", 0.983, net.evaluate(X, y)["accuracy"]),
        _row("circles 2-10-5-1", "test accuracy", None, net.evaluate(X_test, y_test)["accuracy"]),
    ]


def cats(folder, iterations: int = 2500):
    """Tutorial 002: cat vs non-cat, lr 0.0075, full batch, 2500 iterations, np.random.seed(1):
    2-layer (12288, 7, 1) with randn * 0.01, and 4-layer [12288, 20, 7, 5, 1] with
    randn / sqrt(n_in)."""
    from .datasets import load_catvnoncat

    data = load_catvnoncat(folder)
    rows, nets = [], {}
    for label, sizes, init, train_t, test_t in (
            ("cats 2-layer", [12288, 7, 1], TutorialDraw(0.01), 1.0, 0.72),
            ("cats 4-layer", [12288, 20, 7, 5, 1], TutorialDraw("1/sqrt(n_in)"), 1.0, 0.80)):
        acts = ["relu"] * (len(sizes) - 2) + ["sigmoid"]
        net = _net(sizes, acts, init, seed=1)
        net.fit(data.X_train, data.y_train, optimizer=SGD(0.0075), epochs=iterations)
        nets[label] = net
        rows.append(_row(label, "train accuracy", train_t,
                         net.evaluate(data.X_train, data.y_train)["accuracy"]))
        rows.append(_row(label, "test accuracy", test_t,
                         net.evaluate(data.X_test, data.y_test)["accuracy"]))
    return nets, rows


EXPERIMENTS = ("moons", "circles", "cats")
