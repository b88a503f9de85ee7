"""``Network``: an ordered stack of layers over ONE flat parameter buffer.

All weights and biases live in ``net.params``, a contiguous 1-D array; each layer's ``W`` and
``b`` are views into it, and the gradients are views into ``net.grads`` with the same layout.
The weights of every layer come first, then the biases, so weight decay is one slice:
``params[:n_weights]``. An optimizer step is a few whole-array operations whatever the depth;
saving, gradient checking and averaging all see one vector.

The network sits above the training loop (``glassnet.training``), as a Keras ``Model`` sits on
its trainer: ``net.fit`` hands the loop the network, and the loop's engines compute through the
network's *trusted* API, which checks nothing (see the class docstring).
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Sequence

import numpy as np

from . import losses as losses_mod
from . import training
from ._checks import check_dtype, check_positive_int, check_sample_weight, check_X
from .layers import Dense, Dropout, Layer

__all__ = ["Network", "PREDICT_ROWS"]

#: Inference on more rows than twice this runs in blocks of this many, so that a block's
#: activations are still in cache when the next layer reads them (measured on the Intel Xeon,
#: 10^4 rows: 20-100-2 float64 6.8 -> 4.4 ms, 784-512-512-10 float32 124 -> 108 ms; 512 and
#: 2048 rows were no better). A row's output matches the one-pass result to rounding, as it
#: already depended in its last bits on how many rows BLAS saw with it.
PREDICT_ROWS = 1024


def _seed_streams(seed):
    """Independent generators for initialisation, dropout and shuffling, from one seed.

    ``seed`` is None, an int, a ``numpy.random.Generator`` or a legacy ``RandomState``; the last
    is used as is for the initial weights, so ``RandomState(1)`` reproduces the tutorials'
    ``np.random.seed(1)`` + ``randn`` draws.
    """
    if isinstance(seed, (np.random.Generator, np.random.RandomState)):
        # Derive the other streams without drawing from the caller's generator, so that its
        # first draws are the initial weights, exactly as in the tutorials.
        init_rng = seed
        if isinstance(seed, np.random.Generator):
            children = seed.bit_generator.seed_seq.spawn(2)
        else:
            children = np.random.SeedSequence(seed.get_state()[1].tolist()).spawn(2)
    elif seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)
                          and seed >= 0):
        init_seq, *children = np.random.SeedSequence(seed).spawn(3)
        init_rng = np.random.default_rng(init_seq)
    else:
        raise ValueError(
            f"seed must be None, a non-negative int or a numpy random generator, got {seed!r}")
    dropout_rng, shuffle_rng = (np.random.default_rng(s) for s in children)
    return init_rng, dropout_rng, shuffle_rng


class Network:
    """A feed-forward network.

    Parameters
    ----------
    layers : sequence of Layer
        ``Dense`` and ``Dropout`` layers, input to output; the last one is a ``Dense``.
    input_dim : int, optional
        Number of input features. If omitted, taken from the data at the first ``fit``.
    loss : str or Loss, optional
        Default from the last activation: sigmoid -> ``"binary_crossentropy"``,
        softmax -> ``"categorical_crossentropy"``, anything else -> ``"mse"``.
    seed : int, numpy Generator or RandomState, optional
        Source of every random draw (weights, dropout masks, shuffles).
    dtype : {"float64", "float32"}

    Trusted API
    -----------
    For engines and tools that have checked their inputs once (``check_data``,
    ``check_input``): ``propagate`` (forward pass), ``backpropagate`` (loss and gradient into
    ``grads``), ``compute_metrics``, the random streams ``shuffle_rng`` and ``dropout_rng``,
    and ``clone``. They do no validation, so a wrong shape fails inside NumPy.
    """

    def __init__(self, layers: Sequence[Layer], input_dim: int | None = None, loss=None,
                 seed=None, dtype="float64"):
        layers = list(layers) if not isinstance(layers, Layer) else [layers]
        if not layers:
            raise ValueError("a Network needs at least one layer, e.g. [gn.Dense(1, 'sigmoid')]")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}] must be a glassnet layer (Dense, Dropout), "
                                f"got {type(layer).__name__}")
        if not isinstance(layers[-1], Dense):
            raise ValueError("the last layer must be a Dense layer (the output layer), "
                             f"got {type(layers[-1]).__name__}")
        for layer in layers:
            layer.attach(self)
        self.layers = layers
        self._first_param_layer = next(i for i, layer in enumerate(layers)
                                       if isinstance(layer, Dense))
        self.dtype = check_dtype(dtype)
        self.seed = seed
        self.loss = self._resolve_loss(loss, layers[-1].activation.name)
        self._init_rng, dropout_rng, self.shuffle_rng = _seed_streams(seed)
        self.dropout_rng = dropout_rng
        self.input_dim = None
        self._params = self._grads = None
        self._out_buffers = {}
        self.history = None
        if input_dim is not None:
            self.build(input_dim)

    # ------------------------------------------------------------------ construction
    @staticmethod
    def _resolve_loss(loss, head):
        if loss is None:
            loss = losses_mod.DEFAULT_FOR_HEAD.get(head, "mse")
        loss = losses_mod.get(loss)
        if loss.head is not None and loss.head != head:
            raise ValueError(
                f"loss {loss.name!r} is computed from logits and needs a {loss.head!r} output "
                f"layer, but the last layer's activation is {head!r}; use "
                f"Dense(..., activation={loss.head!r}) or loss='mse'")
        return loss

    @property
    def dropout_rng(self) -> np.random.Generator:
        """The stream every Dropout layer draws its masks from (one, in layer order)."""
        return self._dropout_rng

    @dropout_rng.setter
    def dropout_rng(self, rng: np.random.Generator) -> None:
        self._dropout_rng = rng
        for layer in self.layers:
            if isinstance(layer, Dropout):
                layer.rng = rng

    def build(self, input_dim: int) -> Network:
        """Allocate the flat buffers and draw the initial weights for ``input_dim`` features."""
        shapes, n_in = [], check_positive_int(input_dim, "input_dim")
        for layer in self.layers:
            shapes.append(dict(layer.param_shapes(n_in)))
            n_in = layer.output_dim(n_in)
        n_weights = sum(int(np.prod(s["W"])) for s in shapes if "W" in s)
        n_total = n_weights + sum(int(np.prod(s["b"])) for s in shapes if "b" in s)
        self._params = np.zeros(n_total, dtype=self.dtype)
        self._grads = np.zeros(n_total, dtype=self.dtype)
        w_off, b_off = 0, n_weights
        self.param_slices, self._param_shapes = [], shapes
        for layer_shapes in shapes:
            slices = {}
            for name, shape in layer_shapes.items():
                size = int(np.prod(shape))
                start = w_off if name == "W" else b_off
                slices[name] = slice(start, start + size)
                if name == "W":
                    w_off += size
                else:
                    b_off += size
            self.param_slices.append(slices)
        self._bind_views()
        for layer, layer_shapes in zip(self.layers, shapes):
            if "W" in layer_shapes:
                layer.W[...] = layer.init(layer_shapes["W"], self._init_rng)
        self.input_dim = int(input_dim)
        self.n_weights = n_weights
        self.output_dim = n_in
        return self

    def _bind_views(self):
        """Give every layer its views into the flat parameter and gradient buffers."""
        for layer, slices, shapes in zip(self.layers, self.param_slices, self._param_shapes):
            layer.bind({k: self._params[sl].reshape(shapes[k]) for k, sl in slices.items()},
                       {k: self._grads[sl].reshape(shapes[k]) for k, sl in slices.items()})

    def release_buffers(self) -> None:
        """Drop the work arrays kept between training steps (``fit`` does this at its end)."""
        self._out_buffers = {}
        for layer in self.layers:
            layer.release_buffers()

    def __getstate__(self):
        # Work arrays and activations cached from the last pass are not part of the model.
        self.release_buffers()
        return self.__dict__.copy()

    def __setstate__(self, state):
        # Copying turns views into separate copies: point the layers back into the buffers.
        self.__dict__.update(state)
        for layer in self.layers:
            layer.attach(self)
        if self._params is not None:
            self._bind_views()

    def clone(self, input_dim: int | None = None, dtype=None, *,
              share_random_streams: bool = False) -> Network:
        """A copy of this network with its own layers and buffers (trusted API).

        ``input_dim`` and ``dtype`` rebuild it for another input size or precision (the weights
        are then freshly drawn, except that a clone of the same input size copies them);
        ``dtype`` also takes ``numpy.longdouble`` for tools such as ``gradcheck``.
        ``share_random_streams``: the clone draws its shuffles and dropout masks from this
        network's very generators, so training it continues their streams.
        """
        twin = copy.deepcopy(self)
        twin.history = None
        wide = dtype is not None and np.dtype(dtype) == np.dtype(np.longdouble)
        if dtype is not None:
            twin.dtype = np.dtype(dtype) if wide else check_dtype(dtype)
        if input_dim is not None and input_dim != self.input_dim or dtype is not None:
            twin._params = twin._grads = None
            twin.input_dim = None
            twin._init_rng = np.random.default_rng(0)
            twin.build(self.input_dim if input_dim is None else input_dim)
            if twin.input_dim == self.input_dim:
                twin._params[...] = self._params
        if share_random_streams:
            twin.shuffle_rng, twin.dropout_rng = self.shuffle_rng, self.dropout_rng
        return twin

    @property
    def built(self) -> bool:
        return self._params is not None

    def _require_built(self):
        if not self.built:
            raise RuntimeError("this network is not built yet: pass input_dim=... to Network, "
                               "call net.build(n_features), or fit it first")

    # ------------------------------------------------------------------ parameters
    @property
    def params(self) -> np.ndarray:
        """Every weight and bias, one 1-D array (weights of all layers, then biases)."""
        self._require_built()
        return self._params

    @params.setter
    def params(self, value):
        self._require_built()
        value = np.asarray(value)
        if value.shape != self._params.shape:
            raise ValueError(f"params must have shape {self._params.shape}, got {value.shape}")
        # Copy into the buffer: the layers' W and b are views that must stay valid.
        self._params[...] = value

    @property
    def grads(self) -> np.ndarray:
        """The gradient buffer, same layout as ``params`` (filled by ``loss_and_grad``)."""
        self._require_built()
        return self._grads

    @property
    def n_params(self) -> int:
        return 0 if self._params is None else self._params.size

    @property
    def dense_layers(self) -> list[Dense]:
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    # ------------------------------------------------------------------ computation (trusted)
    def propagate(self, X: np.ndarray, train: bool = False, logits: bool = False) -> np.ndarray:
        """Forward pass of checked ``X (n_samples, n_features)``: the output
        ``(n_samples, n_out)``; ``logits=True`` stops before the last activation. Inference
        on many rows runs in blocks of ``PREDICT_ROWS``."""
        n, block = len(X), PREDICT_ROWS
        if not train and n > 2 * block and len(self.layers) > 1:
            head = self.propagate(X[:block], logits=logits)
            out = np.empty((n,) + head.shape[1:], dtype=head.dtype)
            out[:block] = head
            for start in range(block, n, block):
                out[start:start + block] = self.propagate(X[start:start + block], logits=logits)
            return out
        A = X
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            if logits and i == last:
                return layer.linear(A, train)
            A = layer.forward(A, train)
        return A

    def backpropagate(self, X: np.ndarray, y: np.ndarray, sample_weight=None, train: bool = True,
                      grad_scale: float = 1.0):
        """Loss on checked ``(X, y)``, and its gradient times ``grad_scale`` written into
        ``grads``. Returns ``(loss, output)``, ``output (n_samples, n_out)`` being what the loss
        saw (logits or activations)."""
        last = self.layers[-1]
        fused = self.loss.head is not None
        out = self.propagate(X, train=train, logits=fused)
        grad_buffer = None
        if train:
            grad_buffer = self._out_buffers.get(out.shape)
            if grad_buffer is None or grad_buffer.dtype != out.dtype:
                grad_buffer = self._out_buffers[out.shape] = np.empty_like(out)
        loss, d_out = self.loss.value_and_grad(out, y, sample_weight, grad=grad_buffer,
                                               scale=grad_scale)
        # Below the first layer with parameters, dA would be a gradient w.r.t. the data (or a
        # dropout mask over it): nothing needs it, so it is never computed.
        first = self._first_param_layer
        need_dA = len(self.layers) - 1 > first
        if fused:
            dA = last.backward_linear(d_out, need_input_grad=need_dA)
        else:
            dA = last.backward(d_out, need_input_grad=need_dA)
        for i in range(len(self.layers) - 2, first - 1, -1):
            dA = self.layers[i].backward(dA, need_input_grad=i > first)
        return loss, out

    def check_input(self, X, name: str = "X") -> np.ndarray:
        """Validate ``X`` (2-D, numeric, finite, the right number of features) and cast it."""
        self._require_built()
        return check_X(X, self.dtype, n_features=self.input_dim, name=name)

    def check_data(self, X, y, sample_weight=None, names=("X", "y")):
        """Validate and convert ``(X, y, sample_weight)`` once, for every entry point that takes
        labelled data; builds the network from ``X`` if it is not built yet."""
        X = check_X(X, self.dtype, n_features=self.input_dim, name=names[0])
        if not self.built:
            self.build(X.shape[1])
        y = self.loss.prepare_targets(y, self.output_dim, self.dtype)
        if len(y) != len(X):
            raise ValueError(f"{names[0]} and {names[1]} have different numbers of samples: "
                             f"{len(X)} and {len(y)}")
        return X, y, check_sample_weight(sample_weight, len(X), self.dtype)

    def forward(self, X) -> np.ndarray:
        """Output activations, shape ``(n_samples, n_out)``, in inference mode."""
        return self.propagate(self.check_input(X), train=False)

    def loss_and_grad(self, X, y, sample_weight=None):
        """``(loss, grad)`` on ``(X, y)``: grad is 1-D with the layout of ``params`` (a copy).

        Dropout is active, as it is in training.
        """
        loss, _ = self.backpropagate(*self.check_data(X, y, sample_weight))
        return float(loss), self._grads.copy()

    # ------------------------------------------------------------------ using a trained net
    def predict_proba(self, X) -> np.ndarray:
        """Probabilities, shape ``(n_samples, n_out)`` (the output activations)."""
        return self.forward(X)

    def predict(self, X) -> np.ndarray:
        """Class labels for sigmoid heads (0/1 per output) and softmax heads (argmax index);
        the output values for any other head. Single-output heads give shape ``(n_samples,)``.
        """
        out = self.forward(X)
        head = self.layers[-1].activation.name
        if head == "softmax":
            return losses_mod.class_indices(out)
        if head == "sigmoid":
            out = (out > 0.5).astype(np.int64)
        return out[:, 0] if out.shape[1] == 1 else out

    def evaluate(self, X, y, sample_weight=None) -> dict:
        """``{"loss": ..., "accuracy": ...}`` (accuracy for classification losses only)."""
        self._require_built()
        return self.compute_metrics(*self.check_data(X, y, sample_weight))

    def compute_metrics(self, X: np.ndarray, y: np.ndarray, sample_weight=None) -> dict:
        """``evaluate`` on data already checked by ``check_data`` (trusted API)."""
        out = self.propagate(X, logits=self.loss.head is not None)
        result = {"loss": self.loss.value(out, y, sample_weight)}
        if self.loss.is_classification:
            result["accuracy"] = self.loss.n_correct(out, y) / len(X)
        return result

    def fit(self, X, y, optimizer=None, epochs: int = 1, **kwargs):
        """Train on ``(X, y)``; see ``glassnet.training.fit`` for every option (``engine=``
        among them).

        Returns the ``History`` (per-epoch loss and metrics), also kept as ``net.history``.
        """
        return training.fit(self, X, y, optimizer=optimizer, epochs=epochs, **kwargs)

    # ------------------------------------------------------------------ description
    def get_config(self) -> dict:
        """The architecture as plain data (JSON-friendly): enough to rebuild the network."""
        return {"layers": [layer.get_config() for layer in self.layers],
                "input_dim": self.input_dim, "loss": self.loss.name, "dtype": self.dtype.name}

    def describe(self) -> list[dict]:
        """One row per layer: ``{"layer", "output", "params"}`` (what ``summary`` prints)."""
        rows, n_in = [], self.input_dim
        for layer, slices in zip(self.layers, self.param_slices if self.built else []):
            n_out = layer.output_dim(n_in)
            n = sum(s.stop - s.start for s in slices.values())
            rows.append({"layer": repr(layer), "output": n_out, "params": n})
            n_in = n_out
        return rows

    def summary(self, print_fn=print) -> None:
        """Print a Keras-style table: layers, output shapes, parameters, total."""
        rows = self.describe()
        width = max([len(r["layer"]) for r in rows] + [24])
        lines = [f"Network: input {self.input_dim} features, loss {self.loss.name}, "
                 f"dtype {self.dtype.name}",
                 f"{'Layer':<{width}}  {'Output shape':<14}{'Param #':>10}", "=" * (width + 26)]
        lines += [f"{r['layer']:<{width}}  {str((None, r['output'])):<14}{r['params']:>10,}"
                  for r in rows]
        lines += ["=" * (width + 26), f"Total params: {self.n_params:,}"]
        print_fn("\n".join(lines))

    def explain(self, X, y=None, *, samples: int = 3):
        """This network on the batch ``X`` (and ``y``), step by step in the tutorials'
        notation with the live shapes and numbers: see ``glassnet.explain``."""
        from .explain import explain

        return explain(self, X, y, samples=samples)

    def _repr_html_(self) -> str:
        """The summary table, for notebooks."""
        import html

        rows = "".join(f"<tr><td><code>{html.escape(r['layer'])}</code></td>"
                       f"<td>(None, {r['output']})</td><td>{r['params']:,}</td></tr>"
                       for r in self.describe())
        return (f"<table><caption>Network: input {self.input_dim} features, loss "
                f"{self.loss.name}, dtype {self.dtype.name}</caption><tr><th>Layer</th>"
                f"<th>Output shape</th><th>Param #</th></tr>{rows}<tr><td><b>Total params"
                f"</b></td><td></td><td><b>{self.n_params:,}</b></td></tr></table>")

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Network([{inner}], input_dim={self.input_dim}, loss={self.loss.name!r})"
