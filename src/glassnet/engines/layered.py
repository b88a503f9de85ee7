"""Mini-batch steps through the layers: the readable path, always available.

Each step is ``net.backpropagate`` on one batch (the layers' ``forward`` and ``backward``, which
read like the tutorials' equations), then one ``optimizer.step`` over the flat buffers. Pass
``fit(engine="layered")`` to step through it in a debugger.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Engine, EpochSnapshots, Plan, Span, l2_factor, penalize

__all__ = ["LayeredEngine"]


class LayeredEngine(Engine):
    name = "layered"
    preferred_span = 64

    def _start_batches(self, plan: Plan) -> None:
        """What every engine that walks the batches as this one does needs: the batch size,
        each epoch's order, the epoch snapshots for the divergence rule."""
        net = plan.net
        self.plan, self.net, self.optimizer = plan, net, plan.optimizer
        n = len(plan.X)
        self.batch_size = min(plan.batch_size, n)
        # A full batch's gradient does not depend on the order of the samples.
        self.shuffle = bool(plan.shuffle) and self.batch_size < n
        self.order = plan.shuffle if callable(plan.shuffle) else net.shuffle_rng.permutation
        self.snapshots = EpochSnapshots(net)
        self.grad_scale = 1.0          # what net.grads holds, in units of the gradient

    def start(self, plan: Plan) -> None:
        self._start_batches(plan)
        net, X, y, w = plan.net, plan.X, plan.y, plan.sample_weight
        if self.shuffle:
            # Each batch is gathered into buffers made once per fit: as cheap as copying the
            # whole data set each epoch, without a data-sized array whose pages fault on first
            # touch (measured: a third of an epoch), and the batch is still in cache when used.
            bs = self.batch_size
            self._X = np.empty((bs,) + X.shape[1:], dtype=X.dtype)
            self._y = np.empty((bs,) + y.shape[1:], dtype=y.dtype)
            self._w = None if w is None else np.empty(bs, dtype=w.dtype)
        # Plain SGD: the learning rate rides on the output gradient, a (batch, n_out) array, so
        # the update is one pass over the parameters (params -= grads), not two. Clipping needs
        # the gradient's own norm, so it keeps the ordinary step.
        self.scaled = plan.plain_sgd and plan.clip_norm is None
        self._clipped = np.empty_like(net.params) if plan.clip_norm is not None else None
        # The L2 gradient goes to optimizer.step, which adds it in the update's own pass where
        # it can (measured inside a fit: a pass of its own took 85-91 us a step at 50k-80k
        # parameters, streamed from L3); clipping needs the whole gradient first, and scaled
        # SGD has no step() to give it to.
        self.l2_in_step = bool(plan.l2) and plan.clip_norm is None and not self.scaled \
            and plan.optimizer.folds_l2

    def run(self, epochs, rates):
        losses, accuracies = [], []
        classify = self.net.loss.is_classification
        for epoch, rate in zip(epochs, rates):
            self.optimizer.learning_rate = rate
            result = self._epoch(epoch, rate)
            if isinstance(result, str):
                return Span(losses, accuracies if classify else None, kept=result)
            losses.append(result[0])
            accuracies.append(result[1])
        return Span(losses, accuracies if classify else None)

    def _epoch(self, epoch, rate):
        """One pass over the data: ``(loss, accuracy)``, or what was kept on divergence."""
        net, plan = self.net, self.plan
        loss_fn, params, grads = net.loss, net.params, net.grads
        X, y, w = plan.X, plan.y, plan.sample_weight
        n, bs = len(X), self.batch_size
        order = self.order(n) if self.shuffle else None
        self.snapshots.begin()
        total_loss, correct = 0.0, 0
        by_rows = plan.epoch_loss == "rows"
        classify = loss_fn.is_classification
        # A rate of 0 (a schedule's end) takes the ordinary step, so that net.grads keeps the
        # gradient itself rather than 0 x the gradient.
        scaled = self.scaled and rate != 0
        scale = rate if scaled else 1.0
        for start in range(0, n, bs):
            stop = start + bs
            if order is None:
                Xb, yb = X[start:stop], y[start:stop]
                wb = None if w is None else w[start:stop]
            else:
                Xb, yb, wb = self._gather(order[start:stop])
            loss, out = net.backpropagate(Xb, yb, wb, grad_scale=scale)
            self.grad_scale = scale
            if not math.isfinite(loss):
                return self.snapshots.restore(epoch, first_batch=start == 0)
            weight = len(Xb) if wb is None else float(wb.sum())
            l2 = 0.0
            if (plan.l1 or plan.l2) and weight > 0:   # a zero-weight batch has no loss
                loss += penalize(params, grads, net.n_weights, plan, weight, scale,
                                 l2_gradient=not self.l2_in_step)
                if self.l2_in_step:
                    l2 = l2_factor(plan, weight, scale)
            # The epoch's loss: each batch by its weight (the true weighted mean), or by its
            # rows as scikit-learn's loss_curve_ (the same without sample weights).
            total_loss += float(loss) * (len(Xb) if by_rows else weight)
            if classify:
                correct += loss_fn.n_correct(out, yb)
            step_grad = grads
            if plan.clip_norm is not None:
                norm = math.sqrt(float(grads @ grads))
                if norm > plan.clip_norm:
                    step_grad = np.multiply(grads, plan.clip_norm / norm, out=self._clipped)
            if scaled:
                self.optimizer.step_scaled(params, grads)
            elif l2:
                self.optimizer.step(params, step_grad, net.n_weights, l2=l2)
            else:
                self.optimizer.step(params, step_grad, net.n_weights)
        self.snapshots.end(epoch)
        total_weight = n if w is None or by_rows else float(w.sum())
        return total_loss / total_weight, correct / n

    def _gather(self, idx):
        """Rows ``idx`` of X, y (and w) in the batch buffers. mode="clip": with the default
        "raise", take() buffers its whole output first; these indices are always in range."""
        k, plan = len(idx), self.plan
        Xb = np.take(plan.X, idx, axis=0, out=self._X[:k], mode="clip")
        yb = np.take(plan.y, idx, axis=0, out=self._y[:k], mode="clip")
        wb = None if plan.sample_weight is None else \
            np.take(plan.sample_weight, idx, out=self._w[:k], mode="clip")
        return Xb, yb, wb

    def finish(self):
        return self.snapshots.finish()

    def sync(self):
        # Plain SGD's gradient buffer holds rate x gradient (see start).
        if self.grad_scale != 1.0:
            grads = self.net.grads
            grads /= self.grad_scale
            self.grad_scale = 1.0

    def close(self):
        self.net.release_buffers()
        self._X = self._y = self._w = self._clipped = None
