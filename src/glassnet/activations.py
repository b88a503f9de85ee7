"""Activation functions: value and backward (vector-Jacobian product).

Every activation works on ``Z`` of shape ``(n_samples, n_units)`` and writes into ``out`` when it
is given, so the training loop can reuse its buffers. ``backward(Z, A, dA)`` returns
``dZ = dA * g'(Z)`` (for softmax the full Jacobian-vector product), and may overwrite ``dA``.

Each activation says what its backward reads: ``needs_z = False`` means ``g'`` is computed from
``A = g(Z)`` alone (relu, sigmoid, tanh, ...), so a layer may overwrite ``Z`` with ``A`` in
training; ``needs_z = True`` (gelu, silu, elu, and any subclass that does not say otherwise)
makes the layer keep both. It also names the initialiser that suits it (``default_init``) and
carries its own configuration (``get_config()``), so a saved ``LeakyReLU(0.3)`` comes back with
its slope.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_number
from ._kernels import constant_row, row_max, row_sum

__all__ = ["Activation", "Identity", "ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid",
           "Tanh", "Softmax", "Exp", "get", "NAMES"]


class Activation:
    """Base class: a named, stateless element-wise (or row-wise) function.

    A subclass implements ``forward`` and ``backward``; it keeps the safe ``needs_z = True``
    unless its derivative can be computed from ``A`` alone.
    """

    name: str = ""
    #: whether ``backward`` reads ``Z`` (else only ``A``, which may then overwrite ``Z``)
    needs_z: bool = True
    #: the weight initialiser a ``Dense`` layer with this activation uses by default
    default_init: str = "glorot_uniform"

    def forward(self, Z, out=None):
        raise NotImplementedError

    def backward(self, Z, A, dA):
        """``dZ = dA * g'(Z)``; may reuse ``dA``'s memory."""
        raise NotImplementedError

    def get_config(self) -> dict:
        """Plain data that ``activations.get`` turns back into an equal activation."""
        return {"name": self.name}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class Identity(Activation):
    name, needs_z = "identity", False

    def forward(self, Z, out=None):
        if out is None:
            return Z
        np.copyto(out, Z)
        return out

    def backward(self, Z, A, dA):
        return dA


class ReLU(Activation):
    name, needs_z, default_init = "relu", False, "he_normal"

    def forward(self, Z, out=None):
        # max(Z, 0). A zero row broadcast down the rows runs NumPy's vectorised loop; a scalar 0
        # takes a scalar loop (NumPy 2.4: 3x slower on a (128, 512) float32 array).
        return np.maximum(Z, constant_row(0.0, Z.shape[-1], Z.dtype), out=out)

    def backward(self, Z, A, dA):
        # g'(Z) = 1 where Z > 0; A > 0 is the same mask and A is already at hand.
        return np.multiply(dA, A > 0, out=dA)


class LeakyReLU(Activation):
    """``max(z, negative_slope * z)`` for ``0 <= negative_slope < 1``."""

    name, needs_z, default_init = "leaky_relu", False, "he_normal"

    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = check_number(negative_slope, "negative_slope", 0.0, True, 1.0)

    def forward(self, Z, out=None):
        # max(z, a*z) is z for z > 0 and a*z below, for 0 <= a < 1.
        return np.maximum(Z, self.negative_slope * Z, out=out)

    def backward(self, Z, A, dA):
        # A shares the sign of Z (for a > 0; for a = 0 the mask A > 0 is relu's).
        slope = np.where(A > 0, 1.0, self.negative_slope).astype(dA.dtype, copy=False)
        return np.multiply(dA, slope, out=dA)

    def get_config(self):
        return {"name": self.name, "negative_slope": self.negative_slope}


class ELU(Activation):
    """``z`` for ``z > 0``, ``alpha * (exp(z) - 1)`` below (Clevert et al. 2016).

    ``g'(z) = alpha * exp(z)`` below zero, read from ``Z``: ``A + alpha`` would lose its digits
    to cancellation for very negative ``z``.
    """

    name, default_init = "elu", "he_normal"

    def __init__(self, alpha: float = 1.0):
        self.alpha = check_number(alpha, "alpha", 0.0, False)

    def forward(self, Z, out=None):
        A = np.expm1(np.minimum(Z, 0))
        A *= self.alpha
        np.copyto(A, Z, where=Z > 0)
        if out is None:
            return A
        np.copyto(out, A)
        return out

    def backward(self, Z, A, dA):
        slope = np.exp(np.minimum(Z, 0))
        slope *= self.alpha
        slope[Z > 0] = 1
        return np.multiply(dA, slope, out=dA)

    def get_config(self):
        return {"name": self.name, "alpha": self.alpha}


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


class GELU(Activation):
    """``0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))``: the tanh form of the Gaussian error
    linear unit (Hendrycks & Gimpel 2016), as in GPT-2 and PyTorch's ``approximate="tanh"``.

    The form with ``erf`` needs an ``erf`` NumPy does not have; this one is within 1e-3 of it.
    """

    name, default_init = "gelu", "he_normal"

    def forward(self, Z, out=None):
        inner = Z * Z
        inner *= 0.044715
        inner += 1
        inner *= Z
        inner *= _SQRT_2_OVER_PI
        np.tanh(inner, out=inner)
        inner += 1
        inner *= 0.5
        return np.multiply(Z, inner, out=out)

    def backward(self, Z, A, dA):
        # d/dz = 0.5 (1 + t) + 0.5 z (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 z^2), t = tanh(u)
        z2 = Z * Z
        u = 0.044715 * z2
        u += 1
        u *= Z
        u *= _SQRT_2_OVER_PI
        t = np.tanh(u)
        du = 3 * 0.044715 * z2
        du += 1
        du *= _SQRT_2_OVER_PI
        slope = 1 - t * t
        slope *= du
        slope *= Z
        slope += 1 + t
        slope *= 0.5
        return np.multiply(dA, slope, out=dA)


class SiLU(Activation):
    """``z * sigmoid(z)``, also called swish (Elfwing et al. 2018; Ramachandran et al. 2017)."""

    name, default_init = "silu", "he_normal"

    def forward(self, Z, out=None):
        s = _sigmoid(Z)
        return np.multiply(Z, s, out=out)

    def backward(self, Z, A, dA):
        # d/dz = s (1 + z (1 - s))
        s = _sigmoid(Z)
        slope = 1 - s
        slope *= Z
        slope += 1
        slope *= s
        return np.multiply(dA, slope, out=dA)


def _sigmoid(Z, out=None):
    """``1 / (1 + exp(-z))`` for ``z >= 0`` and ``exp(z) / (1 + exp(z))`` below, both from
    ``e = exp(-|z|)``: never overflows, and keeps its relative precision for very negative
    ``z`` (``sigmoid(-700)`` is 1e-304, not the 0 that ``(1 + tanh(z/2)) / 2`` gives from about
    ``z = -38``: probabilities stay strictly inside (0, 1)). ``out`` may be ``Z``."""
    negative = Z < 0
    e = np.abs(Z)
    np.negative(e, out=e)
    np.exp(e, out=e)
    out = np.add(e, 1, out=out)
    np.divide(1, out, out=out)
    np.multiply(out, e, out=out, where=negative)
    return out


class Sigmoid(Activation):
    name, needs_z = "sigmoid", False

    def forward(self, Z, out=None):
        return _sigmoid(Z, out)

    def backward(self, Z, A, dA):
        return np.multiply(dA, A * (1 - A), out=dA)


class Tanh(Activation):
    name, needs_z = "tanh", False

    def forward(self, Z, out=None):
        return np.tanh(Z, out=out)

    def backward(self, Z, A, dA):
        return np.multiply(dA, 1 - A * A, out=dA)


class Exp(Activation):
    """``exp(z)``: the output of a Poisson regression (the rate is positive)."""

    name, needs_z = "exp", False

    def forward(self, Z, out=None):
        return np.exp(Z, out=out)

    def backward(self, Z, A, dA):
        return np.multiply(dA, A, out=dA)


class Softmax(Activation):
    """Row-wise softmax over the units: ``A[i] = exp(Z[i]) / sum(exp(Z[i]))``."""

    name, needs_z = "softmax", False

    def forward(self, Z, out=None):
        # Subtracting the row maximum leaves the result unchanged and keeps exp() <= 1.
        out = np.subtract(Z, row_max(Z), out=out)
        np.exp(out, out=out)
        out /= row_sum(out)
        return out

    def backward(self, Z, A, dA):
        # Jacobian-vector product: dZ = A * (dA - sum(dA * A, axis=1)).
        inner = (dA * A).sum(axis=1, keepdims=True)
        dA -= inner
        return np.multiply(dA, A, out=dA)


_REGISTRY: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Identity, ReLU, LeakyReLU, ELU, GELU, SiLU, Sigmoid, Tanh, Softmax,
                              Exp)
}
# scikit-learn calls the sigmoid "logistic"
_ALIASES = {"linear": "identity", "swish": "silu", "logistic": "sigmoid"}
NAMES = tuple(_REGISTRY)


def get(activation: str | dict | Activation | None) -> Activation:
    """Resolve an activation: a name (``"relu"``), a config (``{"name": "leaky_relu",
    "negative_slope": 0.3}``, what ``get_config`` gives) or an instance, passed through.

    ``None`` means ``"identity"``.
    """
    if activation is None:
        return Identity()
    if isinstance(activation, Activation):
        return activation
    config = {"name": activation} if isinstance(activation, str) else activation
    if isinstance(config, dict) and isinstance(config.get("name"), str):
        key = _ALIASES.get(config["name"].lower(), config["name"].lower())
        if key in _REGISTRY:
            options = {k: v for k, v in config.items() if k != "name"}
            try:
                return _REGISTRY[key](**options)
            except TypeError:
                raise ValueError(f"activation {key!r} takes no options {sorted(options)}")\
                    from None
    raise ValueError(
        f"unknown activation {activation!r}; valid activations are: {', '.join(NAMES)}"
    )
