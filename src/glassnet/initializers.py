"""Weight initialisers: draw a ``(n_in, n_out)`` weight matrix.

Each initialiser is called as ``init((n_in, n_out), rng)`` and returns a float64 array; the
network casts it to its dtype, so float32 and float64 networks start from the same numbers.
``rng`` is a ``numpy.random.Generator`` or a legacy ``numpy.random.RandomState``: the latter lets
the tutorials' ``np.random.seed(...)`` + ``randn`` draws be reproduced exactly.

Biases always start at zero, as in the tutorials.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Initializer", "Normal", "Uniform", "get", "NAMES"]


class Initializer:
    name: str = ""

    def __call__(self, shape: tuple[int, int], rng) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def get_config(self) -> dict:
        return {"name": self.name}


class Normal(Initializer):
    """``std * randn(n_in, n_out)``: the tutorials' ``randn * 0.01`` is ``Normal(0.01)``."""

    name = "normal"

    def __init__(self, std: float = 1.0):
        if not (isinstance(std, (int, float)) and std >= 0 and math.isfinite(std)):
            raise ValueError(f"Normal(std) needs a finite std >= 0, got {std!r}")
        self.std = float(std)

    def __call__(self, shape, rng):
        return rng.standard_normal(shape) * self.std

    def __repr__(self) -> str:
        return f"Normal(std={self.std})"

    def get_config(self) -> dict:
        return {"name": self.name, "std": self.std}


class Uniform(Initializer):
    """Uniform on ``[-limit, limit]``."""

    name = "uniform"

    def __init__(self, limit: float = 0.05):
        if not (isinstance(limit, (int, float)) and limit >= 0 and math.isfinite(limit)):
            raise ValueError(f"Uniform(limit) needs a finite limit >= 0, got {limit!r}")
        self.limit = float(limit)

    def __call__(self, shape, rng):
        return rng.uniform(-self.limit, self.limit, shape)

    def __repr__(self) -> str:
        return f"Uniform(limit={self.limit})"

    def get_config(self) -> dict:
        return {"name": self.name, "limit": self.limit}


class _Scaled(Initializer):
    """Variance scaling: ``Var(W) = gain / fan`` with fan = n_in, or (n_in + n_out) / 2."""

    gain = 1.0
    fan = "in"
    distribution = "normal"

    def __call__(self, shape, rng):
        n_in, n_out = shape
        fan = n_in if self.fan == "in" else (n_in + n_out) / 2
        std = math.sqrt(self.gain / max(fan, 1))
        if self.distribution == "normal":
            return rng.standard_normal(shape) * std
        # A uniform on [-l, l] has variance l^2 / 3.
        limit = math.sqrt(3.0) * std
        return rng.uniform(-limit, limit, shape)


class HeNormal(_Scaled):
    """He et al. 2015, for ReLU: std = sqrt(2 / n_in)."""

    name, gain = "he_normal", 2.0


class HeUniform(_Scaled):
    name, gain, distribution = "he_uniform", 2.0, "uniform"


class GlorotNormal(_Scaled):
    """Glorot & Bengio 2010: std = sqrt(2 / (n_in + n_out))."""

    name, fan = "glorot_normal", "avg"


class GlorotUniform(_Scaled):
    name, fan, distribution = "glorot_uniform", "avg", "uniform"


class LecunNormal(_Scaled):
    """std = 1 / sqrt(n_in): the tutorials' ``randn(...) / np.sqrt(n_in)``."""

    name = "lecun_normal"


class Zeros(Initializer):
    name = "zeros"

    def __call__(self, shape, rng):
        return np.zeros(shape)


_REGISTRY: dict[str, type[Initializer]] = {
    cls.name: cls
    for cls in (HeNormal, HeUniform, GlorotNormal, GlorotUniform, LecunNormal, Zeros, Normal,
                Uniform)
}
NAMES = tuple(_REGISTRY)


def get(init: str | Initializer | dict) -> Initializer:
    """Resolve an initialiser by name, by ``get_config()`` dict, or pass an instance through."""
    if isinstance(init, Initializer):
        return init
    if isinstance(init, dict):
        config = dict(init)
        name = config.pop("name", None)
        cls = _REGISTRY.get(name) if isinstance(name, str) else None
        if cls is not None:
            return cls(**config)
        init = name
    if isinstance(init, str) and init.lower() in _REGISTRY:
        return _REGISTRY[init.lower()]()
    raise ValueError(
        f"unknown initializer {init!r}; valid initializers are: {', '.join(NAMES)} "
        "(or gn.initializers.Normal(std) / Uniform(limit))"
    )
