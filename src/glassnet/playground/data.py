"""The playground's data: 2-D problems on the plane ``[-6, 6]^2``, and the input features.

Each generator returns ``X (n, 2)`` and ``y (n,)`` from a seed and a noise level in percent
(0 to 50, TensorFlow Playground's scale). Classification labels are class indices (0, 1, ...);
regression targets lie in ``[-1, 1]``. Pure NumPy: the exported training scripts import this
module without the playground's web dependencies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["CLASSIFICATION", "REGRESSION", "DATASETS", "FEATURES", "PlaneData", "generate",
           "split", "features", "from_rows", "upload_scaling"]

RADIUS = 6.0          # the plane shown is [-RADIUS, RADIUS]^2


def _circle(rng, n, noise):
    """A disc of class 1 inside a ring of class 0."""
    r = np.where(np.arange(n) < n // 2, rng.uniform(0, 2.5, n), rng.uniform(3.5, 5.0, n))
    t = rng.uniform(0, 2 * np.pi, n)
    X = np.column_stack([r * np.cos(t), r * np.sin(t)]) + rng.normal(0, noise * 2.5, (n, 2))
    return X, (np.arange(n) < n // 2).astype(np.int64)


def _xor(rng, n, noise):
    """Uniform points, labelled 1 where x1 and x2 have the same sign."""
    X = rng.uniform(-5, 5, (n, 2))
    X += np.where(X > 0, 0.3, -0.3)                   # keep the points off the axes
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    return X + rng.normal(0, noise * 2.5, (n, 2)), y


def _gauss(rng, n, noise):
    """Two Gaussian clouds, class 1 around (2, 2) and class 0 around (-2, -2)."""
    y = (np.arange(n) < n // 2).astype(np.int64)
    centres = np.where(y[:, None] == 1, 2.0, -2.0)
    return centres + rng.normal(0, 0.7 + noise * 3, (n, 2)), y


def _spiral(rng, n, noise):
    """Two interleaved spirals of 1.75 turns."""
    y = (np.arange(n) < n // 2).astype(np.int64)
    s = rng.uniform(0, 1, n)
    r = 5.0 * s
    t = 1.75 * 2 * np.pi * s + np.pi * y
    X = np.column_stack([r * np.sin(t), r * np.cos(t)])
    return X + rng.normal(0, noise * 1.5, (n, 2)), y


def _moons(rng, n, noise):
    """Two interleaving half circles (the first tutorial's problem), scaled to the plane."""
    y = (np.arange(n) >= n // 2).astype(np.int64)
    t = rng.uniform(0, np.pi, n)
    X = np.where(y[:, None] == 0, np.column_stack([np.cos(t), np.sin(t)]),
                 np.column_stack([1 - np.cos(t), 0.5 - np.sin(t)]))
    X = 3.0 * (X - [0.5, 0.25])
    return X + rng.normal(0, noise * 2, (n, 2)), y


def _blobs(rng, n, noise):
    """Three Gaussian clouds, one per class: a problem for a softmax head."""
    y = np.arange(n) % 3
    angles = np.pi / 2 + 2 * np.pi * y / 3
    centres = 3.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    return centres + rng.normal(0, 0.8 + noise * 3, (n, 2)), y.astype(np.int64)


def _plane(rng, n, noise):
    """A tilted plane: ``y = (x1 + x2) / 10``, clipped to [-1, 1]."""
    X = rng.uniform(-RADIUS, RADIUS, (n, 2))
    y = np.clip(X.sum(axis=1) / 10, -1, 1)
    return X + rng.normal(0, noise * 2.5, (n, 2)), y


_BUMPS = np.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1],
                   [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]], dtype=float)


def _reg_gauss(rng, n, noise):
    """Six Gaussian bumps of alternating sign."""
    X = rng.uniform(-RADIUS, RADIUS, (n, 2))
    d2 = ((X[:, None, :] - _BUMPS[None, :, :2]) ** 2).sum(axis=2)
    y = np.clip((_BUMPS[:, 2] * np.exp(-d2 / 2.5)).sum(axis=1), -1, 1)
    return X + rng.normal(0, noise * 2.5, (n, 2)), y


Generator = Callable[[np.random.Generator, int, float], tuple[np.ndarray, np.ndarray]]
CLASSIFICATION: dict[str, Generator] = {"circle": _circle, "xor": _xor, "gauss": _gauss,
                                        "spiral": _spiral, "moons": _moons, "blobs": _blobs}
REGRESSION: dict[str, Generator] = {"plane": _plane, "reg-gauss": _reg_gauss}
DATASETS = {**CLASSIFICATION, **REGRESSION}


def generate(name: str, n_samples: int = 500, noise: float = 0, seed: int = 0):
    """``X (n_samples, 2)``, ``y (n_samples,)`` of the named problem; ``noise`` in percent."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; valid: {', '.join(DATASETS)}")
    rng = np.random.default_rng(seed)
    X, y = DATASETS[name](rng, int(n_samples), float(noise) / 100)
    return X, y


# ----------------------------------------------------------------------------- features
FEATURES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1*x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: np.sin(x1),
    "sin(x2)": lambda x1, x2: np.sin(x2),
}


def features(X: np.ndarray, names) -> np.ndarray:
    """The network's input ``(n, len(names))`` from points ``X (n, 2)``."""
    return np.column_stack([FEATURES[name](X[:, 0], X[:, 1]) for name in names])


# ----------------------------------------------------------------------------- splits
@dataclass
class PlaneData:
    """A problem split into train and test points, with the part of the plane to draw."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str                          # "classification" or "regression"
    domain: tuple[float, float, float, float]     # x1 low, x1 high, x2 low, x2 high
    n_classes: int = 0

    @property
    def points(self) -> dict:
        """The points as plain lists for the page."""
        def rows(X, y):
            return [[round(float(a), 4), round(float(b), 4), float(t) if self.task ==
                     "regression" else int(t)] for (a, b), t in zip(X, y)]
        return {"train": rows(self.X_train, self.y_train), "test": rows(self.X_test, self.y_test)}


def split(X: np.ndarray, y: np.ndarray, train_percent: int, seed: int, task: str,
          domain=None) -> PlaneData:
    """Shuffle (from ``seed``) and split ``train_percent`` % of the points into training."""
    order = np.random.default_rng([seed, 1]).permutation(len(X))
    n_train = min(len(X) - 1, max(1, round(len(X) * train_percent / 100)))
    tr, te = order[:n_train], order[n_train:]
    if domain is None:
        domain = (-RADIUS, RADIUS, -RADIUS, RADIUS)
    n_classes = max(2, int(y.max()) + 1) if task == "classification" else 0
    return PlaneData(X[tr], y[tr], X[te], y[te], task, tuple(float(v) for v in domain),
                     n_classes)


def upload_scaling(rows: np.ndarray):
    """The ``recipe.Preprocessor`` that standardises an uploaded table's x1 and x2."""
    from ..recipe import Preprocessor

    return Preprocessor("standard").fit(np.asarray(rows, dtype=float)[:, :2], ["x1", "x2"])


def from_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, str, tuple]:
    """A user's table ``(n, 3)`` of x1, x2, label: the points, labels, task and a domain that
    holds them with a margin. The task follows the labels as everywhere in glassnet
    (``recipe.detect_task``: integers with few values make a classification, relabelled
    0..k-1 in numeric order; other numbers a regression)."""
    from ..recipe import Target

    X, labels = rows[:, :2].astype(float), rows[:, 2]
    # x1 and x2 standardised as glassnet's recipe does a table's numbers (a table in the
    # hundreds trained nothing in the page): the plane is drawn in those units.
    X = upload_scaling(rows).transform(X)
    target = Target().fit(labels)
    task = target.task
    y = target.encode(labels) if task == "classification" else labels.astype(float)
    lo, hi = X.min(axis=0), X.max(axis=0)
    margin = np.maximum((hi - lo) * 0.1, 1e-3)
    lo, hi = lo - margin, hi + margin
    return X, y.astype(np.int64) if task == "classification" else y, task, \
        (lo[0], hi[0], lo[1], hi[1])
