"""Layers: ``Dense`` (linear map + activation) and ``Dropout``.

Shapes follow one convention, samples are rows:
``A_prev (n_samples, n_in)``, ``W (n_in, n_out)``, ``b (n_out,)``, ``Z, A (n_samples, n_out)``.

A layer owns no memory for its parameters: the ``Network`` hands it views into one flat
parameter buffer (and one flat gradient buffer) when it is built.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import activations, initializers

__all__ = ["Layer", "Dense", "Dropout"]


class Layer:
    """Base class. ``forward(A_prev, train)`` then ``backward(dA)`` in reverse order."""

    #: ``[(name, shape)]`` of this layer's parameters, known once built
    def param_shapes(self, n_in: int) -> list[tuple[str, tuple[int, ...]]]:
        return []

    def output_dim(self, n_in: int) -> int:
        return n_in

    def bind(self, params: dict, grads: dict) -> None:
        """Receive views into the network's flat parameter and gradient buffers."""

    def forward(self, A_prev, train: bool = False):
        raise NotImplementedError

    def backward(self, dA, need_input_grad: bool = True):
        raise NotImplementedError

    def release_buffers(self) -> None:
        """Drop work arrays and cached activations kept from the last pass."""

    def get_config(self) -> dict:
        raise NotImplementedError


def _check_positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


class Dense(Layer):
    """Fully connected layer: ``Z = A_prev @ W + b``, ``A = activation(Z)``.

    Parameters
    ----------
    units : int
        Number of output units ``n_out``.
    activation : str or Activation
        ``"relu"``, ``"leaky_relu"``, ``"sigmoid"``, ``"tanh"``, ``"softmax"`` or ``"identity"``.
    init : str or Initializer, optional
        Weight initialiser. Default: ``"he_normal"`` after relu-like activations,
        ``"glorot_uniform"`` otherwise. Biases start at zero.
    """

    def __init__(self, units: int, activation="identity", init=None):
        self.units = _check_positive_int(units, "Dense units")
        self.activation = activations.get(activation)
        if init is None:
            relu_like = self.activation.name in ("relu", "leaky_relu")
            init = "he_normal" if relu_like else "glorot_uniform"
        self.init = initializers.get(init)
        self.W = self.b = self.dW = self.db = None
        self._A_prev = self._Z = self._A = None
        self._training = False
        self._buffers: dict = {}

    def param_shapes(self, n_in):
        return [("W", (n_in, self.units)), ("b", (self.units,))]

    def output_dim(self, n_in):
        return self.units

    def bind(self, params, grads):
        self.W, self.b = params["W"], params["b"]
        self.dW, self.db = grads["W"], grads["b"]

    def _buffer(self, name, n_rows, n_cols, dtype):
        """A work array kept between training steps (one per batch size), so the hot path
        allocates nothing; ``release_buffers`` drops them."""
        key = (name, n_rows)
        buf = self._buffers.get(key)
        if buf is None or buf.dtype != dtype or buf.shape[1] != n_cols:
            buf = self._buffers[key] = np.empty((n_rows, n_cols), dtype=dtype)
        return buf

    def release_buffers(self):
        self._buffers.clear()
        self._A_prev = self._Z = self._A = None

    def linear(self, A_prev, train=False):
        """``Z = A_prev @ W + b``, shape ``(n_samples, n_out)``; remembers ``A_prev``.

        In training ``Z`` is a buffer that the next step overwrites; otherwise a new array.
        """
        self._A_prev, self._training = A_prev, train
        if train:
            Z = np.matmul(A_prev, self.W,
                          out=self._buffer("Z", len(A_prev), self.units, A_prev.dtype))
        else:
            Z = A_prev @ self.W
        Z += self.b
        self._Z = Z
        return Z

    def forward(self, A_prev, train=False):
        Z = self.linear(A_prev, train)
        # In training the activation works in place: every backward here needs only A
        # (leaky_relu reads the sign of Z, which A shares).
        A = self.activation.forward(Z, out=Z if train else None)
        self._A = A
        return A

    def backward_linear(self, dZ, need_input_grad=True):
        """From ``dZ (n_samples, n_out)``: fill ``dW``, ``db``; return ``dA_prev``."""
        np.matmul(self._A_prev.T, dZ, out=self.dW)   # dW = A_prev.T @ dZ
        # db = sum of dZ over samples, as ones @ dZ: a BLAS call, several times faster than
        # NumPy's axis-0 reduction on small arrays.
        np.matmul(activations.constant_row(1.0, len(dZ), dZ.dtype), dZ, out=self.db)
        if not need_input_grad:
            return None
        if self._training:                           # dA_prev = dZ @ W.T
            return np.matmul(dZ, self.W.T,
                             out=self._buffer("dA", len(dZ), self.W.shape[0], dZ.dtype))
        return dZ @ self.W.T

    def backward(self, dA, need_input_grad=True):
        dZ = self.activation.backward(self._Z, self._A, dA)   # dZ = dA * g'(Z)
        return self.backward_linear(dZ, need_input_grad)

    def get_config(self):
        return {"type": "Dense", "units": self.units, "activation": self.activation.name,
                "init": self.init.get_config()}

    def __repr__(self):
        return f"Dense({self.units}, activation={self.activation.name!r})"


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``rate`` and scale the
    survivors by ``1 / (1 - rate)``, so that inference is the identity.

    The mask comes from a generator the network derives from its seed: deterministic.
    """

    def __init__(self, rate: float):
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ValueError(f"Dropout rate must be a number in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.rng = None  # set by the network
        self._mask = None

    def forward(self, A_prev, train=False):
        if not train or self.rate == 0:
            self._mask = None
            return A_prev
        keep = 1.0 - self.rate
        mask = self.rng.random(A_prev.shape, dtype=A_prev.dtype if A_prev.dtype in
                               (np.float32, np.float64) else np.float64)
        # mask := (u < keep) / keep, built in place
        np.less(mask, keep, out=mask, casting="unsafe")
        mask *= 1.0 / keep
        self._mask = mask
        return A_prev * mask

    def backward(self, dA, need_input_grad=True):
        if self._mask is None:
            return dA
        return np.multiply(dA, self._mask, out=dA)

    def release_buffers(self):
        self._mask = None

    def get_config(self):
        return {"type": "Dropout", "rate": self.rate}

    def __repr__(self):
        return f"Dropout({self.rate})"


def from_config(config: dict) -> Layer:
    """Rebuild a layer from ``get_config()`` output (plain data, no code)."""
    kind = config.get("type")
    if kind == "Dense":
        return Dense(config["units"], activation=config["activation"], init=config.get("init"))
    if kind == "Dropout":
        return Dropout(config["rate"])
    raise ValueError(f"unknown layer type {kind!r}; valid types are: Dense, Dropout")
