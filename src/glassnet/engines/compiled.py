"""Full-batch gradient descent compiled whole: a span of steps in one Numba call.

The tape (``tape.py``) replays a step as a short list of NumPy calls; on the smallest
networks those calls are the step (2-5-1 on 240 samples: about 9 us a step, most of it the
calls' own overhead). JAX compiles the whole loop (``lax.fori_loop``) instead, and took about
5 us a step on this machine. This engine does what JAX does, with Numba: the forward pass, the
loss and its accuracy, the backward pass and the update of every step of a span run in one
compiled function, with no Python between two steps.

The arrays keep the tape's layout, samples as columns, so each inner loop runs along the
samples: ``A[l]`` is layer ``l``'s output ``(units, n)``, ``D`` two ``(widest, n)`` buffers
that take turns holding ``dZ``. The weights live in one flat buffer ``theta``, each layer's
``W (n_in, n_out)`` row by row and then its ``b``, with ``grad`` beside it. Sums over samples
may be reordered by the compiler (``fastmath``'s ``reassoc``, which is what lets them use
vector registers), so the numbers match the layered engine's up to rounding, as the tape's do;
no option that assumes finite numbers is on, so a diverging run is still seen and rewound by
the rule every engine keeps (``base``).

Numba is the ``fast`` extra. Its start (import, then compiling or loading the cached kernel,
about a second) is paid once per process, so ``engine="auto"`` takes this engine only for fits
long enough to pay for it (``pays_off``); ``engine="compiled"`` asks for it whatever the
length.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache

import numpy as np

from .. import _fused, losses
from ..errors import KEPT_INITIAL
from .base import Engine, Plan, Span
from .tape import refuses_network

__all__ = ["CompiledEngine"]

#: the activations the kernel knows, by code
_ACTIVATION_CODES = {"identity": 0, "relu": 1, "tanh": 2, "sigmoid": 3}
#: the losses, by code: binary cross-entropy on logits, categorical on logits, mean squared error
_BCE, _CCE, _MSE = 0, 1, 2
#: what a step saves over the tape on the networks ``engine="auto"`` gives this engine
#: (measured: moons 2-5-1, 9 us against 4), and Numba's start in a process, which it must pay
#: for: ``auto`` takes it for fits of ``START_S / SAVED_PER_STEP_S`` epochs or more
SAVED_PER_STEP_S, START_S = 5e-6, 1.0
#: most multiply-adds in a step's forward products (``n_samples x sum(n_in x n_out)``) for
#: ``auto``: the kernel's loops are not blocked as BLAS's are, and lose beyond (measured: 2000
#: samples through 2-100-1, 185 us against the tape's 321; 1000 through 2-32-32-1, 225 us
#: against 177)
MAX_PRODUCTS = 1 << 19


@lru_cache(maxsize=1)
def _numba_installed() -> bool:
    """Looked up once per process (``engine="auto"`` asks on every full-batch fit); imported
    only when the engine starts."""
    return importlib.util.find_spec("numba") is not None


@lru_cache(maxsize=1)
def _kernel():
    """The compiled span of steps (compiled on first call, per dtype)."""

    def activate(row, code):
        if code == 1:
            for i in range(row.size):
                if row[i] < 0:
                    row[i] = 0.0
        elif code == 2:
            for i in range(row.size):
                row[i] = np.tanh(row[i])
        elif code == 3:                     # (1 + tanh(z / 2)) / 2, as activations.Sigmoid
            for i in range(row.size):
                row[i] = (np.tanh(row[i] * 0.5) + 1.0) * 0.5

    def derive(d, a, code):
        """``d *= g'(z)`` from ``a = g(z)``."""
        if code == 1:
            for i in range(d.size):
                if a[i] <= 0:
                    d[i] = 0.0
        elif code == 2:
            for i in range(d.size):
                d[i] *= 1.0 - a[i] * a[i]
        elif code == 3:
            for i in range(d.size):
                d[i] *= (1.0 - a[i]) * a[i]

    activate, derive = _fused.jit(activate), _fused.jit(derive)

    def steps(theta, grad, previous, w_at, b_at, sizes, codes, loss_kind, X, Y, scale, mass,
              A, D, per_sample, right, rates, losses_out, correct_out):
        """Run ``len(rates)`` steps; return how many had a finite loss (the first that did not
        is not applied, and ``previous`` holds the weights the step before started from)."""
        n = X.shape[1]
        n_layers = sizes.size - 1
        n_out = sizes[n_layers]
        out = A[n_layers - 1]
        for t in range(rates.size):
            # Forward: Z = W.T @ A_prev + b, one output row at a time, along the samples.
            for layer in range(n_layers):
                n_in, units = sizes[layer], sizes[layer + 1]
                source = X if layer == 0 else A[layer - 1]
                for j in range(units):
                    row = A[layer, j]
                    bias = theta[b_at[layer] + j]
                    for i in range(n):
                        row[i] = bias
                    for k in range(n_in):
                        w = theta[w_at[layer] + k * units + j]
                        src = source[k]
                        for i in range(n):
                            row[i] += w * src[i]
                    if layer < n_layers - 1 or loss_kind == _MSE:
                        activate(row, codes[layer])
            # The loss, its accuracy and dZ of the output layer (into D[0]): passes along
            # the samples, one output row at a time, so each loop vectorises around its one
            # or two calls into libm (sigmoid and softplus share one exp).
            dz = D[0]
            per_sample[:] = 0.0
            right[:] = True
            if loss_kind == _BCE:
                for j in range(n_out):
                    z_row, y_row, d_row = out[j], Y[j], dz[j]
                    for i in range(n):
                        z, y = z_row[i], y_row[i]
                        e = np.exp(-abs(z))
                        inverse = 1.0 / (1.0 + e)
                        sigmoid = inverse if z >= 0 else e * inverse
                        d_row[i] = (sigmoid - y) * scale[i]
                        per_sample[i] += max(z, 0.0) - z * y + np.log1p(e)
                        right[i] = right[i] and ((z > 0) == (y > 0.5))
            elif loss_kind == _CCE:
                for i in range(n):
                    peak, best, truth = out[0, i], 0, 0
                    for j in range(1, n_out):
                        if out[j, i] > peak:
                            peak, best = out[j, i], j
                        if Y[j, i] > Y[truth, i]:
                            truth = j
                    norm, dot = 0.0, 0.0
                    for j in range(n_out):
                        e = np.exp(out[j, i] - peak)
                        dz[j, i] = e
                        norm += e
                        dot += Y[j, i] * (out[j, i] - peak)
                    per_sample[i] = np.log(norm) * mass[i] - dot
                    for j in range(n_out):
                        dz[j, i] = (dz[j, i] / norm * mass[i] - Y[j, i]) * scale[i]
                    right[i] = best == truth
            else:
                for j in range(n_out):
                    a_row, y_row, d_row = out[j], Y[j], dz[j]
                    for i in range(n):
                        diff = a_row[i] - y_row[i]
                        per_sample[i] += diff * diff
                        d_row[i] = diff * (2.0 / n_out) * scale[i]
                for i in range(n):
                    per_sample[i] /= n_out
            total, correct = 0.0, 0
            for i in range(n):
                total += per_sample[i] * scale[i]
                correct += right[i]
            if not np.isfinite(total):
                return t
            losses_out[t], correct_out[t] = total, correct
            if loss_kind == _MSE:
                for j in range(n_out):
                    derive(dz[j], out[j], codes[n_layers - 1])
            # Backward: dW = A_prev @ dZ.T and db = dZ summed, then dA_prev = W @ dZ.
            current = 0
            for layer in range(n_layers - 1, -1, -1):
                n_in, units = sizes[layer], sizes[layer + 1]
                source = X if layer == 0 else A[layer - 1]
                dz = D[current]
                for j in range(units):
                    d = dz[j]
                    s = 0.0
                    for i in range(n):
                        s += d[i]
                    grad[b_at[layer] + j] = s
                    for k in range(n_in):
                        src = source[k]
                        s = 0.0
                        for i in range(n):
                            s += src[i] * d[i]
                        grad[w_at[layer] + k * units + j] = s
                if layer > 0:
                    below = D[1 - current]
                    for k in range(n_in):
                        row = below[k]
                        for i in range(n):
                            row[i] = 0.0
                        for j in range(units):
                            w = theta[w_at[layer] + k * units + j]
                            d = dz[j]
                            for i in range(n):
                                row[i] += w * d[i]
                        derive(row, A[layer - 1, k], codes[layer - 1])
                    current = 1 - current
            rate = rates[t]
            for p in range(theta.size):
                previous[p] = theta[p]
                theta[p] -= rate * grad[p]
        return rates.size

    # reassoc lets the sums over samples use vector registers; contract, fused multiply-adds.
    return _fused.jit(steps, fastmath={"reassoc", "contract"})


class CompiledEngine(Engine):
    """Plain full-batch gradient descent, a span of steps per compiled call (``fast`` extra)."""

    name = "compiled"
    preferred_span = 512

    def refuses(self, plan: Plan) -> str | None:
        reason = plan.refuses_unless_plain_full_batch() or refuses_network(plan.net)
        if reason is None and not _numba_installed():
            # A failed import when the engine starts is an error naming the extra.
            reason = "it needs Numba: install it with `pip install glassnet[fast]`"
        return reason

    def pays_off(self, plan: Plan) -> bool:
        """For a long fit of a small network without transcendental hidden units: the choice
        depends on the fit alone, never on what ran before in the process, so a fit gives the
        same numbers every time it runs."""
        if plan.epochs * SAVED_PER_STEP_S < START_S:
            return False
        *hidden, _ = plan.net.layers
        if any(layer.activation.name not in ("relu", "identity") for layer in hidden):
            return False         # NumPy's tanh runs in vector registers, the kernel's does not
        sizes = [plan.X.shape[1]] + [layer.units for layer in plan.net.layers]
        return len(plan.X) * sum(a * b for a, b in zip(sizes, sizes[1:])) <= MAX_PRODUCTS

    def start(self, plan: Plan) -> None:
        net = self.net = plan.net
        self.plan, dtype, n = plan, net.dtype, len(plan.X)
        layers = net.layers
        self.sizes = np.array([net.input_dim] + [layer.units for layer in layers], np.int64)
        self.codes = np.array([_ACTIVATION_CODES.get(layer.activation.name, 0)
                               for layer in layers], np.int64)
        w_at, b_at, offset = [], [], 0
        for layer in layers:
            w_at.append(offset)
            b_at.append(offset + layer.W.size)
            offset += layer.W.size + layer.b.size
        self.w_at, self.b_at = np.array(w_at, np.int64), np.array(b_at, np.int64)
        self.theta = np.empty(offset, dtype)
        for layer, w, b in zip(layers, w_at, b_at):
            self.theta[w:b] = layer.W.ravel()
            self.theta[b:b + layer.b.size] = layer.b
        self.grad, self.previous = np.zeros_like(self.theta), self.theta.copy()
        self.X = np.ascontiguousarray(plan.X.T, dtype=dtype)
        n_out, y = int(self.sizes[-1]), plan.y
        loss = type(net.loss)
        self.loss_kind = _BCE if loss is losses.BinaryCrossentropy else \
            _CCE if loss is losses.CategoricalCrossentropy else _MSE
        if self.loss_kind == _CCE and y.ndim == 1:
            self.Y = np.zeros((n_out, n), dtype)
            self.Y[y, np.arange(n)] = 1
        else:
            self.Y = np.ascontiguousarray(np.asarray(y).reshape(n, n_out).T, dtype=dtype)
        w = plan.sample_weight
        self.scale = np.full(n, 1.0 / n, dtype) if w is None else (w / w.sum()).astype(dtype)
        self.mass = np.ascontiguousarray(self.Y.sum(axis=0), dtype=dtype)
        widest = int(self.sizes[1:].max())
        self.A = np.zeros((len(layers), widest, n), dtype)
        self.D = np.zeros((2, widest, n), dtype)
        self.per_sample, self.right = np.zeros(n, np.float64), np.ones(n, np.bool_)
        self.last_epoch = None
        if _fused.unavailable() is not None:
            raise ImportError(_fused.unavailable())
        self.steps = _kernel()

    def run(self, epochs, rates):
        k, given = len(epochs), list(rates)
        rates = np.asarray(given, dtype=self.theta.dtype)
        loss_values = np.empty(k, np.float64)
        correct = np.empty(k, np.int64)
        done = self.steps(self.theta, self.grad, self.previous, self.w_at, self.b_at,
                          self.sizes, self.codes, self.loss_kind, self.X, self.Y, self.scale,
                          self.mass, self.A, self.D, self.per_sample, self.right, rates,
                          loss_values, correct)
        _fused.mark_started()
        optimizer = self.plan.optimizer
        optimizer.iterations += done
        optimizer.learning_rate = given[min(done, k - 1)]
        n = len(self.plan.X)
        accuracy = (correct[:done] / n).tolist() if self.net.loss.is_classification else None
        span = Span(loss_values[:done].tolist(), accuracy)
        if done < k:
            # Epoch epochs[done] met a non-finite loss: the weights of the step before.
            if done > 0 or self.last_epoch is not None:
                np.copyto(self.theta, self.previous)
                span.kept = f"from the start of epoch {epochs[done] - 1}"
            else:
                span.kept = KEPT_INITIAL
            return span
        self.last_epoch = epochs[-1]
        return span

    def finish(self):
        if self.last_epoch is not None and not np.isfinite(self.theta).all():
            # The last step overflowed: its loss would only show at a step that never comes.
            np.copyto(self.theta, self.previous)
            return f"from the start of epoch {self.last_epoch}"
        return None

    def sync(self):
        for layer, w, b in zip(self.net.layers, self.w_at, self.b_at):
            layer.W[...] = self.theta[w:b].reshape(layer.W.shape)
            layer.b[...] = self.theta[b:b + layer.b.size]
            layer.dW[...] = self.grad[w:b].reshape(layer.W.shape)
            layer.db[...] = self.grad[b:b + layer.b.size]

    def close(self):
        self.net.release_buffers()
        self.A = self.D = self.X = self.Y = None
