"""Exact full-batch gradient descent in the row space of X, for wide inputs.

Under full-batch gradient descent every update of the first layer's weights is
``dW1 = X.T @ dZ1``: a combination of the rows of ``X``, so ``W1`` only ever moves inside the
row space of ``X``, of dimension ``r <= n_samples``. Factor ``X.T = Q R`` (thin QR; ``Q`` is
``(n_features, r)`` with orthonormal columns, ``R`` is ``(r, n_samples)``). Then

    X @ W1 = R.T @ (Q.T @ W1) = R.T @ K,      Q.T @ dW1 = R @ dZ1 = dK,   dW1 = Q @ dK,

so training ``K = Q.T @ W1`` on the inputs ``R.T`` gives the same losses, gradients and
iterates as training ``W1`` on ``X``, and ``W1 = W1_0 + Q @ (K - K_0)`` at any time. For the
cat tutorial (209 images of 12288 pixels) a step's first layer shrinks 60-fold. It is the same
computation in other coordinates, so it wraps another engine (the tape where it applies, else
the layered one) that trains the reduced network; a test compares it with the direct path.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..layers import Dense
from .base import Engine, Plan
from .layered import LayeredEngine
from .tape import TapeEngine

__all__ = ["RowSpaceEngine"]

#: engine="auto" uses the reduced coordinates when n_features >= MIN_RATIO * n_samples
MIN_RATIO = 4.0


class RowSpaceEngine(Engine):
    name = "rowspace"

    def refuses(self, plan: Plan) -> str | None:
        if plan.l1 or plan.l2:
            return "l1 and l2 pull W1 out of the row space of X"
        # Momentum would stay in the row space too, but Adam's and RMSprop's per-weight scaling
        # would not.
        reason = plan.refuses_unless_plain_full_batch()
        if reason:
            return reason
        if not isinstance(plan.net.layers[0], Dense):
            return "the first layer must be Dense"
        return None

    def pays_off(self, plan: Plan) -> bool:
        return plan.X.shape[1] >= MIN_RATIO * plan.X.shape[0]

    def start(self, plan: Plan) -> None:
        net = self.net = plan.net
        # QR in float64 whatever the network's dtype: Q must be orthonormal to working precision.
        Q, R = np.linalg.qr(np.asarray(plan.X, dtype=np.float64).T)
        self.Q = Q
        reduced = self.reduced = net.clone(input_dim=Q.shape[1], share_random_streams=True)
        self.W0 = net.layers[0].W.astype(np.float64)
        self.K0 = Q.T @ self.W0
        reduced.layers[0].W[...] = self.K0
        _copy_all_but_first(net.params, reduced.params, net, reduced)
        inner_plan = replace(plan, net=reduced, X=np.ascontiguousarray(R.T, dtype=net.dtype))
        tape = TapeEngine()
        self.inner = tape if tape.refuses(inner_plan) is None and tape.pays_off(inner_plan) \
            else LayeredEngine()
        self.inner.start(inner_plan)
        self.preferred_span = self.inner.preferred_span
        self.can_rewind = self.inner.can_rewind

    def run(self, epochs, rates):
        return self.inner.run(epochs, rates)

    def rewind(self, epoch):
        self.inner.rewind(epoch)

    def finish(self):
        return self.inner.finish()

    def sync(self):
        self.inner.sync()
        net, reduced, Q = self.net, self.reduced, self.Q
        K = reduced.layers[0].W.astype(np.float64)
        net.layers[0].W[...] = self.W0 + Q @ (K - self.K0)
        net.layers[0].dW[...] = Q @ reduced.layers[0].dW.astype(np.float64)
        _copy_all_but_first(reduced.params, net.params, reduced, net)
        _copy_all_but_first(reduced.grads, net.grads, reduced, net)

    def close(self):
        self.inner.close()
        self.net.release_buffers()
        self.reduced = self.inner = self.Q = None


def _copy_all_but_first(source, target, source_net, target_net):
    """Every entry of a flat buffer but layer 0's W, the only tensor whose shape differs: the
    weights of the other layers, then all the biases, as the buffers lay them out."""
    w_src, w_dst = source_net.param_slices[0]["W"], target_net.param_slices[0]["W"]
    target[w_dst.stop:] = source[w_src.stop:]
