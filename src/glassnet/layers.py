"""Layers: ``Dense`` (linear map + activation) and ``Dropout``.

Shapes follow one convention, samples are rows:
``A_prev (n_samples, n_in)``, ``W (n_in, n_out)``, ``b (n_out,)``, ``Z, A (n_samples, n_out)``.

A layer owns no memory for its parameters: the ``Network`` hands it views into one flat
parameter buffer (and one flat gradient buffer) when it is built. So a layer belongs to one
network at a time; give another network ``copy.deepcopy(layer)``.
"""

from __future__ import annotations

import numbers
import weakref

import numpy as np

from . import activations, initializers
from ._checks import check_positive_int
from ._kernels import column_sum

__all__ = ["Layer", "Dense", "Dropout", "from_config"]


class Layer:
    """Base class. ``forward(A_prev, train)`` then ``backward(dA)`` in reverse order."""

    _owner = None   # a weak reference to the network this layer computes for

    def attach(self, network) -> None:
        """Called by ``Network``: this layer now computes with ``network``'s buffers."""
        owner = None if self._owner is None else self._owner()
        if owner is not None and owner is not network:
            raise ValueError(
                f"this {type(self).__name__} layer already belongs to another Network, whose "
                "weights it would share; give each network its own layers, e.g. "
                "copy.deepcopy(layers)")
        self._owner = weakref.ref(network)

    def __getstate__(self):
        # A copy (deepcopy, pickle) belongs to no network until one attaches it.
        state = self.__dict__.copy()
        state.pop("_owner", None)
        return state

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


class Dense(Layer):
    """Fully connected layer: ``Z = A_prev @ W + b``, ``A = activation(Z)``.

    Parameters
    ----------
    units : int
        Number of output units ``n_out``.
    activation : str, dict or Activation
        ``"relu"``, ``"leaky_relu"``, ``"elu"``, ``"gelu"``, ``"silu"``, ``"sigmoid"``,
        ``"tanh"``, ``"softmax"`` or ``"identity"``; a config such as
        ``{"name": "leaky_relu", "negative_slope": 0.3}``; or an instance.
    init : str or Initializer, optional
        Weight initialiser. Default: the activation's ``default_init`` (``"he_normal"`` after
        relu-like activations, ``"glorot_uniform"`` otherwise). Biases start at zero.
    """

    #: how ``db`` sums ``dZ`` over the samples: BLAS's ``ones @ dZ`` (fast on small batches).
    #: L-BFGS swaps in NumPy's ``sum(axis=0)`` per layer for scikit-learn's exact rounding.
    column_sum = staticmethod(column_sum)

    def __init__(self, units: int, activation="identity", init=None):
        self.units = check_positive_int(units, "Dense units")
        self.activation = activations.get(activation)
        self.init = initializers.get(self.activation.default_init if init is None else init)
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
        out = self._buffer("Z", len(A_prev), self.units, A_prev.dtype) if train else None
        Z = _product(A_prev, self.W, out)
        Z += self.b
        self._Z = Z
        return Z

    def forward(self, A_prev, train=False):
        Z = self.linear(A_prev, train)
        if not train:
            # Z is a fresh array here: an activation whose backward reads only A overwrites it
            # as in training (measured: predict_proba of 10^4 rows through 2-100-1, 2.6 -> 2.0 ms).
            A = self.activation.forward(Z, out=None if self.activation.needs_z else Z)
        elif self.activation.needs_z:
            # The backward pass reads Z: A goes into a buffer of its own.
            A = self.activation.forward(
                Z, out=self._buffer("A", len(Z), self.units, Z.dtype))
        else:
            # Every backward that reads only A lets the activation work in place.
            A = self.activation.forward(Z, out=Z)
        self._A = A
        return A

    def backward_linear(self, dZ, need_input_grad=True):
        """From ``dZ (n_samples, n_out)``: fill ``dW``, ``db``; return ``dA_prev``."""
        np.matmul(self._A_prev.T, dZ, out=self.dW)   # dW = A_prev.T @ dZ
        self.column_sum(dZ, out=self.db)             # db = dZ.sum(axis=0)
        if not need_input_grad:
            return None
        out = self._buffer("dA", len(dZ), self.W.shape[0], dZ.dtype) if self._training \
            else None
        return _product(dZ, self.W.T, out)           # dA_prev = dZ @ W.T

    def backward(self, dA, need_input_grad=True):
        dZ = self.activation.backward(self._Z, self._A, dA)   # dZ = dA * g'(Z)
        return self.backward_linear(dZ, need_input_grad)

    def get_config(self):
        activation = self.activation.get_config()
        # A bare name where the activation has no options: the files older glassnets wrote.
        if list(activation) == ["name"]:
            activation = activation["name"]
        return {"type": "Dense", "units": self.units, "activation": activation,
                "init": self.init.get_config()}

    def __repr__(self):
        options = {k: v for k, v in self.activation.get_config().items() if k != "name"}
        shown = repr(self.activation) if options else repr(self.activation.name)
        return f"Dense({self.units}, activation={shown})"


def _product(A, B, out=None):
    """``A @ B`` for ``A (n, k)``, ``B (k, m)``. With ``k = 1`` (one output unit's ``dZ @ W.T``,
    one input feature's ``X @ W``) it is an outer product, each entry a single multiplication,
    so NumPy's broadcast multiply gives BLAS's numbers to the bit, faster (measured, NumPy 2.4
    and OpenBLAS 0.3.31: (200, 100) float64 29 -> 22 us, (128, 512) float32 96 -> 34 us)."""
    if A.shape[1] == 1:
        return np.multiply(A, B, out=out)
    return np.matmul(A, B, out=out)


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
    if not isinstance(config, dict):
        raise ValueError(f"a layer must be described by an object with a 'type', got "
                         f"{type(config).__name__}")
    kind = config.get("type")
    if kind == "Dense":
        return Dense(config["units"], activation=config["activation"], init=config.get("init"))
    if kind == "Dropout":
        return Dropout(config["rate"])
    raise ValueError(f"unknown layer type {kind!r}; valid types are: Dense, Dropout")
