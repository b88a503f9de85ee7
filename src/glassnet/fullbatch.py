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

It computes what the layered path (``Network._loss_and_grad`` then ``SGD.step``) computes, up
to rounding; a test trains both ways and compares. ``fit`` uses it only where that holds:
plain SGD (no momentum, no weight decay), no L2, clipping, validation, callbacks or
checkpoints, only ``Dense`` layers with relu, tanh, sigmoid or identity activations (and the
sigmoid or softmax head of a cross-entropy), and data small enough that a copy is cheap.
"""

from __future__ import annotations

from collections import deque
from functools import partial
from operator import call

import numpy as np

from . import activations, losses
from .layers import Dense
from .schedules import constant

__all__ = ["applies", "fit"]

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


def applies(net, X) -> bool:
    """Whether the tape can train ``net`` on ``X``. ``fit`` asks only for plain full-batch
    gradient descent (``training._plain_full_batch``); here are the network's conditions."""
    if not all(type(layer) is Dense for layer in net.layers):
        return False
    *hidden, last = net.layers
    if not all(_supported_activation(layer.activation) for layer in hidden):
        return False
    loss = type(net.loss)
    if loss is losses.MeanSquaredError:
        if not _supported_activation(last.activation):
            return False
    elif loss not in (losses.BinaryCrossentropy, losses.CategoricalCrossentropy):
        return False
    widest = max([X.shape[1]] + [layer.units for layer in net.layers])
    return len(X) * (widest + 1) <= MAX_ELEMENTS


def _const(value, dtype):
    """A 0-d array: measured 0.2 us cheaper per call than a Python float, which every ufunc
    call converts anew."""
    return np.array(value, dtype=dtype)


def _forward_ops(name, Z, out):
    """Calls that make ``out = g(Z)`` (``out`` may be ``Z``), as the activations module does."""
    half, one = _const(0.5, Z.dtype), _const(1.0, Z.dtype)
    if name == "relu":
        zero = activations.constant_row(0.0, Z.shape[-1], Z.dtype)
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
        tapes = self.tapes
        for row, rate in enumerate(rates):
            if rate != self.rate:
                self.set_rate(rate)
            _consume(map(call, tapes[row]))

    def write_back(self, net) -> None:
        """Copy the weights into the network, and the last gradient (per unit of rate)."""
        for W, G, layer in zip(self.W, self.G, net.layers):
            layer.W[...], layer.b[...] = W[:-1], W[-1]
            np.divide(G[:-1], self.rate, out=layer.dW)
            np.divide(G[-1], self.rate, out=layer.db)


def fit(net, X, y, *, optimizer, epochs, sample_weight, verbose, progress):
    """Train with the tape; the same history, messages and end state as ``training.fit``."""
    from .training import History, _divergence_error, _print_logs, _ProgressBar, _verbose_due

    tape = _Tape(net, X, y, sample_weight, max_steps=epochs)
    history = History()
    net.history = history
    loss_fn, n = net.loss, len(X)
    classify = loss_fn.is_classification
    norm = n if sample_weight is None else float(sample_weight.sum())
    schedule = optimizer.schedule
    if isinstance(schedule, constant):
        def rates_for(span):
            return [schedule.learning_rate] * len(span)
    else:
        def rates_for(span):
            return [schedule(epoch) for epoch in span]
    bar = _ProgressBar(epochs, 0) if progress else None
    # Weights at the start of this block and the one before: enough to rebuild, by replaying
    # at most one block of steps, the last weights that gave a finite loss.
    snapshots = [(0, tape.theta.copy()), (0, tape.theta.copy())]

    def rewind(epoch):
        """Put the weights of the start of ``epoch`` back into the tape."""
        start, saved = snapshots[1] if epoch >= snapshots[1][0] else snapshots[0]
        np.copyto(tape.theta, saved)
        tape.run(rates_for(range(start, epoch)))

    start = 0
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            while start < epochs:
                k = min(tape.block, epochs - start)
                snapshots[0], snapshots[1] = snapshots[1], (start, snapshots[0][1])
                np.copyto(snapshots[1][1], tape.theta)
                rates = rates_for(range(start, start + k))
                tape.run(rates)
                outputs = tape.outputs[:k].transpose(0, 2, 1)     # (k, n, n_out)
                per_sample = loss_fn.per_sample(outputs, y)
                losses = per_sample.sum(axis=-1) / n if sample_weight is None else \
                    per_sample @ sample_weight / norm
                accuracy = loss_fn.correct(outputs, y).sum(axis=-1) / n if classify else None
                finite = np.isfinite(losses)
                done = k if finite.all() else int(np.argmin(finite))
                columns = {"loss": losses[:done]}
                if classify:
                    columns["accuracy"] = accuracy[:done]
                columns["learning_rate"] = rates[:done]
                history.extend(range(start, start + done), columns)
                for epoch in range(start, start + done) if verbose else ():
                    if _verbose_due(epoch, epochs, verbose):
                        _print_logs(epoch, {key: values[epoch - start]
                                            for key, values in columns.items()})
                if bar is not None and done:
                    bar.update({key: values[done - 1] for key, values in columns.items()},
                               advance=done)
                optimizer.iterations += done
                optimizer.learning_rate = rates[min(done, k - 1)]
                if done < k:
                    diverged = start + done
                    # The weights that gave the last finite loss, those of the step before.
                    rewind(max(diverged - 1, 0))
                    kept = f"from the start of epoch {diverged - 1}" if diverged else \
                        "it started with"
                    raise _divergence_error(diverged, kept, rates[done])
                start += k
            if not np.isfinite(tape.theta).all():
                # The last step overflowed: its loss would only show at a step that never comes.
                rewind(epochs - 1)
                raise _divergence_error(epochs - 1, f"from the start of epoch {epochs - 1}",
                                        optimizer.learning_rate)
    finally:
        tape.write_back(net)
        if bar is not None:
            bar.close()
    return history
