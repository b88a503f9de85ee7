"""Full-batch gradient descent replayed from a fixed list of NumPy calls.

In full-batch training (the tutorials' setting) every step does the same arithmetic on the
same arrays; only the numbers in them change. So the step is laid out once, as a list of
NumPy calls bound to arrays made beforehand (a *tape*), and replayed: between two calls there
is no Python but the loop that makes them. On the small networks people train this way a
step is call overhead, not arithmetic (2-5-1 on 240 samples: 13 calls of 0.2-1.4 us each), so
the layout is chosen to make the calls few:

- samples are columns, as in the tutorials, so every elementwise pass runs along long rows;
- each layer keeps ``[W; b]``, shape ``(n_in + 1, n_out)``, and every activation carries a row
  of ones below it, so one product gives ``W.T @ A + b`` and one gives ``dW`` and ``db``;
- the output gradient's constants (``1 / n``, the sample weights, the learning rate) are
  folded into arrays made once, so the gradient buffer holds the step itself;
- each step writes its output into its own row of a block, and the losses and accuracies of
  a whole block of steps are computed afterwards in a few vectorised calls
  (``Loss.per_sample``) instead of a dozen small ones per step.

It computes what the layered engine (``Network.backpropagate`` then ``SGD.step``) computes, up
to rounding; a test trains both ways and compares. ``refuses`` says where that does not hold.
"""

from __future__ import annotations

from collections import deque
from functools import partial
from operator import call

import numpy as np

from .. import activations, losses
from .._kernels import constant_row
from ..errors import KEPT_INITIAL
from ..layers import Dense
from .base import Engine, Plan, Span

__all__ = ["TapeEngine", "refuses_network"]

#: largest ``n_samples * (widest layer + 1)`` the tape takes on; beyond it a step is
#: arithmetic, not call overhead, and the layered path costs the same without a copy of X
MAX_ELEMENTS = 1 << 22
#: steps per block are chosen so that a block of outputs takes about this many bytes
BLOCK_BYTES = 1 << 20
MAX_BLOCK = 256
#: largest activation for which relu's backward uses putmask (see _backward_ops)
PUTMASK_MAX = 8192

_consume = deque(maxlen=0).extend      # runs an iterator to its end without a Python loop
_ACTIVATIONS = {"identity": activations.Identity, "relu": activations.ReLU,
                "tanh": activations.Tanh, "sigmoid": activations.Sigmoid}


def _supported_activation(activation) -> bool:
    return type(activation) is _ACTIVATIONS.get(activation.name)


def refuses_network(net) -> str | None:
    """Why the full-batch replays (this tape, the compiled engine) cannot run ``net``, or
    None."""
    if not all(type(layer) is Dense for layer in net.layers):
        return "it runs Dense layers only (no Dropout, no subclasses)"
    *hidden, last = net.layers
    names = ", ".join(_ACTIVATIONS)
    if not all(_supported_activation(layer.activation) for layer in hidden):
        return f"its hidden layers' activations must be among {names}"
    loss = type(net.loss)
    if loss is losses.MeanSquaredError:
        if not _supported_activation(last.activation):
            return f"with mse the output activation must be among {names}"
    elif loss not in (losses.BinaryCrossentropy, losses.CategoricalCrossentropy):
        return "its loss must be binary_crossentropy, categorical_crossentropy or mse"
    return None


def _const(value, dtype):
    """A 0-d array: measured 0.2 us cheaper per call than a Python float, which every ufunc
    call converts anew."""
    return np.array(value, dtype=dtype)


def _forward_ops(name, Z, out):
    """Calls that make ``out = g(Z)`` (``out`` may be ``Z``), as the activations module does."""
    half, one = _const(0.5, Z.dtype), _const(1.0, Z.dtype)
    if name == "relu":
        zero = constant_row(0.0, Z.shape[-1], Z.dtype)
        return [partial(np.maximum, Z, zero, out=out)]
    if name == "tanh":
        return [partial(np.tanh, Z, out)]
    if name == "sigmoid":          # (1 + tanh(z / 2)) / 2, like activations.Sigmoid
        return [partial(np.multiply, Z, half, out), partial(np.tanh, out, out),
                partial(np.add, out, one, out), partial(np.multiply, out, half, out)]
    return [] if Z is out else [partial(np.copyto, out, Z)]


def _backward_ops(name, A, dA, tmp, mask):
    """Calls that make ``dA *= g'(Z)`` from ``A = g(Z)``; ``tmp`` is scratch of A's shape,
    ``mask`` a boolean one."""
    zero, one = _const(0.0, A.dtype), _const(1.0, A.dtype)
    if name == "relu":
        # Measured: zeroing where A <= 0 (putmask) is the fastest on small arrays, but its
        # data-dependent branch makes it 10x slower than dA *= (A > 0) on large ones.
        if A.size <= PUTMASK_MAX:
            return [partial(np.less_equal, A, zero, mask), partial(np.putmask, dA, mask, zero)]
        return [partial(np.greater, A, zero, mask), partial(np.multiply, dA, mask, dA)]
    if name == "tanh":             # 1 - A^2
        return [partial(np.multiply, A, A, tmp), partial(np.subtract, one, tmp, tmp),
                partial(np.multiply, dA, tmp, dA)]
    if name == "sigmoid":          # A (1 - A)
        return [partial(np.subtract, one, A, tmp), partial(np.multiply, tmp, A, tmp),
                partial(np.multiply, dA, tmp, dA)]
    return []


class _Tape:
    """The arrays of one full-batch step, and the calls that make it, one list per block row.

    Shapes (``n`` samples, layer ``l`` maps ``a`` units to ``b``): ``W[l]`` is ``(a + 1, b)``
    with the bias as its last row, ``inputs[l]`` is ``(a + 1, n)`` with a last row of ones,
    ``outputs`` is ``(block, n_out, n)``.
    """

    def __init__(self, net, X, y, sample_weight, max_steps):
        dtype, n = net.dtype, len(X)
        layers = net.layers
        sizes = [net.input_dim] + [layer.units for layer in layers]
        shapes = [(a + 1, b) for a, b in zip(sizes[:-1], sizes[1:])]
        self.theta = np.empty(sum(a * b for a, b in shapes), dtype=dtype)
        self.grad = np.empty_like(self.theta)
        self.W, self.G, offset = [], [], 0
        for shape in shapes:
            size = shape[0] * shape[1]
            self.W.append(self.theta[offset:offset + size].reshape(shape))
            self.G.append(self.grad[offset:offset + size].reshape(shape))
            offset += size
        for W, layer in zip(self.W, layers):
            W[:-1], W[-1] = layer.W, layer.b

        self.inputs = []
        for a in sizes[:-1]:
            A = np.empty((a + 1, n), dtype=dtype)
            A[-1] = 1
            self.inputs.append(A)
        self.inputs[0][:-1] = X.T
        n_out = sizes[-1]
        self.block = int(np.clip(BLOCK_BYTES // (n_out * n * dtype.itemsize), 1,
                                 min(MAX_BLOCK, max_steps)))
        self.outputs = np.empty((self.block, n_out, n), dtype=dtype)

        # Per-sample scale of the output gradient: w_i / sum(w) (1 / n unweighted), times the
        # learning rate; `_scaled` holds the arrays that carry it, at rate 1 and now.
        scale = np.full((1, n), 1.0 / n, dtype=dtype) if sample_weight is None else \
            (sample_weight / sample_weight.sum()).astype(dtype)[None, :]
        self._scaled, self.rate = [], 1.0

        def scaled(base):
            base = np.ascontiguousarray(base, dtype=dtype)
            self._scaled.append((base, base.copy()))
            return self._scaled[-1][1]

        loss = net.loss.name
        if loss == "categorical_crossentropy" and y.ndim == 1:
            Y = np.zeros((n_out, n), dtype=dtype)
            Y[y, np.arange(n)] = 1
        else:
            Y = np.ascontiguousarray(y.T, dtype=dtype)
        dZ = np.empty((n_out, n), dtype=dtype)
        if loss == "binary_crossentropy":
            # sigmoid(z) - y = tanh(z/2) / 2 + (1/2 - y)
            self._head = self._bce_ops, (dZ, _const(0.5, dtype), scaled(0.5 * scale),
                                         scaled((0.5 - Y) * scale))
        elif loss == "categorical_crossentropy":
            # softmax(z) * mass - y, the mass of each target column being 1 for one-hot rows
            columns = (np.empty((1, n), dtype=dtype), np.empty((1, n), dtype=dtype))
            self._head = self._cce_ops, (dZ, columns, scaled(Y.sum(axis=0) * scale),
                                         scaled(Y * scale))
        else:
            # d/da mean((a - y)^2) = 2 (a - y) / n_out, then through the output activation
            head = layers[-1].activation.name
            z = None if head == "identity" else np.empty((n_out, n), dtype=dtype)
            self._head = self._mse_ops, (dZ, z, Y, scaled(2.0 / n_out * scale),
                                         np.empty((n_out, n), dtype=dtype),
                                         np.empty((n_out, n), dtype=bool), head)

        # Forward through the hidden layers, into the rows above each row of ones.
        self._forward = []
        for i, layer in enumerate(layers[:-1]):
            H = self.inputs[i + 1][:-1]
            self._forward.append(partial(np.dot, self.W[i].T, self.inputs[i], H))
            self._forward += _forward_ops(layer.activation.name, H, H)
        # Backward: dW (and db) of every layer, dA of every layer but the first, the update.
        self._backward, dZ_i = [], dZ
        for i in range(len(layers) - 1, -1, -1):
            self._backward.append(partial(np.dot, self.inputs[i], dZ_i.T, self.G[i]))
            if i > 0:
                H = self.inputs[i][:-1]
                dA, tmp, mask = np.empty_like(H), np.empty_like(H), np.empty(H.shape, bool)
                self._backward.append(partial(np.dot, self.W[i][:-1], dZ_i, dA))
                self._backward += _backward_ops(layers[i - 1].activation.name, H, dA, tmp,
                                                mask)
                dZ_i = dA
        self._backward.append(partial(np.subtract, self.theta, self.grad, self.theta))
        self.tapes = [self._row_ops(row) for row in range(self.block)]
        # A rate of 0 (a schedule's end): the gradient at rate 1, and no update.
        self.frozen_tapes = [ops[:-1] for ops in self.tapes]

    # The output layer's product and gradient, writing into row `row` of the block.
    def _row_ops(self, row):
        make, args = self._head
        return self._forward + make(self.outputs[row], *args) + self._backward

    def _bce_ops(self, out, dZ, half, half_scale, offset):
        return [partial(np.dot, self.W[-1].T, self.inputs[-1], out),
                partial(np.multiply, out, half, dZ), partial(np.tanh, dZ, dZ),
                partial(np.multiply, dZ, half_scale, dZ), partial(np.add, dZ, offset, dZ)]

    def _cce_ops(self, out, dZ, columns, mass_scale, target_scale):
        peak, total = columns
        return [partial(np.dot, self.W[-1].T, self.inputs[-1], out),
                partial(np.maximum.reduce, out, 0, None, peak, True),
                partial(np.subtract, out, peak, dZ), partial(np.exp, dZ, dZ),
                partial(np.add.reduce, dZ, 0, None, total, True),
                partial(np.divide, dZ, total, dZ),
                partial(np.multiply, dZ, mass_scale, dZ),
                partial(np.subtract, dZ, target_scale, dZ)]

    def _mse_ops(self, out, dZ, z, Y, scale, tmp, mask, head):
        if head == "identity":
            ops = [partial(np.dot, self.W[-1].T, self.inputs[-1], out)]
        else:
            ops = [partial(np.dot, self.W[-1].T, self.inputs[-1], z)] + _forward_ops(head, z, out)
        return ops + [partial(np.subtract, out, Y, dZ), partial(np.multiply, dZ, scale, dZ)] \
            + _backward_ops(head, out, dZ, tmp, mask)

    def set_rate(self, rate: float) -> None:
        for base, current in self._scaled:
            np.multiply(base, rate, out=current)
        self.rate = rate

    def run(self, rates) -> None:
        """One step per learning rate in ``rates`` (at most ``block``), outputs in rows 0..."""
        for row, rate in enumerate(rates):
            ops = self.tapes[row] if rate else self.frozen_tapes[row]
            rate = rate or 1.0
            if rate != self.rate:
                self.set_rate(rate)
            _consume(map(call, ops))

    def write_back(self, net) -> None:
        """Copy the weights into the network, and the last gradient (per unit of rate)."""
        for W, G, layer in zip(self.W, self.G, net.layers):
            layer.W[...], layer.b[...] = W[:-1], W[-1]
            np.divide(G[:-1], self.rate, out=layer.dW)
            np.divide(G[-1], self.rate, out=layer.db)


class TapeEngine(Engine):
    name = "tape"
    can_rewind = True

    def refuses(self, plan: Plan) -> str | None:
        return plan.refuses_unless_plain_full_batch() or refuses_network(plan.net)

    def pays_off(self, plan: Plan) -> bool:
        # Beyond this a step is arithmetic, not call overhead, and the layered engine costs the
        # same without a transposed copy of X.
        widest = max([plan.X.shape[1]] + [layer.units for layer in plan.net.layers])
        return len(plan.X) * (widest + 1) <= MAX_ELEMENTS

    def start(self, plan: Plan) -> None:
        self.plan, self.net = plan, plan.net
        self.tape = _Tape(plan.net, plan.X, plan.y, plan.sample_weight, max_steps=plan.epochs)
        self.preferred_span = self.tape.block
        # Weights at the start of this block and the one before, with their epochs and rates:
        # enough to rebuild, by replaying at most one block of steps, the last weights that
        # gave a finite loss.
        theta = self.tape.theta
        self.snapshots = [(None, theta.copy(), []), (None, theta.copy(), [])]
        self.last_epoch = None

    def run(self, epochs, rates):
        tape, plan = self.tape, self.plan
        loss_fn, y, w, n = self.net.loss, plan.y, plan.sample_weight, len(plan.X)
        norm = n if w is None else float(w.sum())
        losses_, accuracies = [], []
        classify = loss_fn.is_classification
        for offset in range(0, len(epochs), tape.block):
            block = epochs[offset:offset + tape.block]
            block_rates = list(rates[offset:offset + tape.block])
            k = len(block)
            older, _ = self.snapshots
            self.snapshots = [self.snapshots[1], (block[0], older[1], block_rates)]
            np.copyto(older[1], tape.theta)
            tape.run(block_rates)
            plan.optimizer.learning_rate = block_rates[-1]
            outputs = tape.outputs[:k].transpose(0, 2, 1)     # (k, n, n_out)
            per_sample = loss_fn.per_sample(outputs, y)
            block_losses = per_sample.sum(axis=-1) / n if w is None else \
                per_sample @ w / norm
            finite = np.isfinite(block_losses)
            done = k if finite.all() else int(np.argmin(finite))
            losses_.extend(block_losses[:done].tolist())
            if classify:
                accuracies.extend((loss_fn.correct(outputs[:done], y).sum(axis=-1) / n).tolist())
            plan.optimizer.iterations += done
            if done < k:
                diverged = block[done]
                plan.optimizer.learning_rate = block_rates[done]
                if self.last_epoch is None and done == 0:
                    self._rewind(block[0])
                    kept = KEPT_INITIAL
                else:
                    # The weights that gave the last finite loss, those of the step before.
                    self._rewind(diverged - 1)
                    kept = f"from the start of epoch {diverged - 1}"
                return Span(losses_, accuracies if classify else None, kept=kept)
            self.last_epoch = block[-1]
        return Span(losses_, accuracies if classify else None)

    def rewind(self, epoch):
        self._rewind(epoch)

    def _rewind(self, epoch):
        """Put the weights of the start of ``epoch`` back into the tape, replaying at most one
        block of steps from the snapshot before it."""
        start, saved, rates = next(s for s in reversed(self.snapshots)
                                   if s[0] is not None and s[0] <= epoch)
        np.copyto(self.tape.theta, saved)
        self.tape.run(rates[:epoch - start])

    def finish(self):
        if self.last_epoch is not None and not np.isfinite(self.tape.theta).all():
            # The last step overflowed: its loss would only show at a step that never comes.
            self._rewind(self.last_epoch)
            return f"from the start of epoch {self.last_epoch}"
        return None

    def sync(self):
        self.tape.write_back(self.net)

    def close(self):
        self.net.release_buffers()
        self.tape = None
