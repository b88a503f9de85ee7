"""The engine protocol: how a fit's steps are computed, behind one interface.

``training.fit`` checks everything once and describes the fit as a ``Plan``; an engine computes
its steps. The loop asks an engine to ``run`` a span of epochs at given learning rates, and gets
back each epoch's loss (and accuracy), stopping at the first epoch whose loss is not finite; it
calls ``sync`` before anything reads the network's weights, ``finish`` after the last epoch, and
``close`` at the end. The loop never looks inside an engine, and an engine never prints,
validates or writes files.

The divergence rule every engine keeps: when epoch ``e`` meets a NaN or infinite loss, the
network is put back to the weights at the start of epoch ``e`` if its first batch still had a
finite loss, else to those at the start of epoch ``e - 1`` (else to the weights it started
with). ``Span.kept`` says which, in words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import KEPT_INITIAL
from ..optimizers import SGD

__all__ = ["Plan", "Span", "Engine", "EpochSnapshots", "penalize", "l2_factor"]


@dataclass
class Plan:
    """A fit as the engines see it, every input checked and converted.

    ``X (n_samples, n_features)`` and ``y`` are the training data after any validation split;
    ``batch_size`` is resolved (``n_samples`` for full batch).
    """

    net: object
    optimizer: object
    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray | None
    batch_size: int
    shuffle: bool | Callable[[int], np.ndarray]     # or order(n_samples) -> permutation
    clip_norm: float | None
    l2: float
    epochs: int
    l1: float = 0.0
    #: how the epoch's loss averages its batches: by their sample weight (the epoch's true
    #: weighted mean) or by their rows (scikit-learn's ``loss_curve_``)
    epoch_loss: str = "weighted"

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.X) // self.batch_size)

    @property
    def full_batch(self) -> bool:
        return self.batch_size >= len(self.X)

    @property
    def plain_sgd(self) -> bool:
        """SGD itself (not a subclass that may change the step), without momentum or decay."""
        return type(self.optimizer) is SGD and self.optimizer.plain

    def refuses_unless_plain_full_batch(self) -> str | None:
        """Why this is not plain full-batch gradient descent (what the tape and the row space
        compute), or None."""
        if not self.full_batch:
            return "it trains full batches only (batch_size=None)"
        if not self.plain_sgd:
            return "it runs plain gradient descent only (SGD without momentum or weight decay)"
        if self.l1 or self.l2 or self.clip_norm is not None:
            return "it does not apply l1, l2 or clip_norm"
        return None


def penalize(params: np.ndarray, grads: np.ndarray, n_weights: int, plan: Plan,
             weight: float, scale: float = 1.0, l2_gradient: bool = True) -> float:
    """Add ``plan``'s weight penalties to a batch's gradient; return their loss.

    ``l1 * ||W||_1 / n_batch + 0.5 * l2 * ||W||^2 / n_batch`` over the weights (the first
    ``n_weights`` entries of the flat buffers, not the biases), ``n_batch`` the batch's total
    sample ``weight``; the gradient gets ``scale`` times its derivative (``l1 * sign(W)``, the
    subgradient 0 at 0, and ``l2 * W``), for engines that fold the learning rate into it.
    ``l2_gradient=False`` leaves the L2 term to the caller, who passes ``l2_factor(...)`` to
    ``optimizer.step(..., l2=)`` (one pass with a fused update).
    """
    W, dW = params[:n_weights], grads[:n_weights]
    loss = 0.0
    if plan.l1:
        loss += plan.l1 * float(np.abs(W).sum()) / weight
        dW += (plan.l1 * scale / weight) * np.sign(W)
    if plan.l2:
        loss += 0.5 * plan.l2 * float(W @ W) / weight
        if l2_gradient:
            plan.optimizer.add_l2_gradient(dW, W, l2_factor(plan, weight, scale))
    return loss


def l2_factor(plan: Plan, weight: float, scale: float = 1.0) -> float:
    """What ``penalize`` multiplies the weights by for the L2 term of the gradient."""
    return plan.l2 * scale / weight


class EpochSnapshots:
    """The weights at the start of this epoch and of the one before, for engines that update
    ``net.params`` in place: the divergence rule above at the cost of one copy per epoch."""

    def __init__(self, net):
        self.net = net
        self.snapshot, self.previous = np.empty_like(net.params), np.empty_like(net.params)
        self.last_epoch = None     # nothing in `previous` until an epoch ran here (a resumed
        #                            run starts at a later epoch)

    def begin(self) -> None:
        """At the start of an epoch."""
        self.snapshot, self.previous = self.previous, self.snapshot
        np.copyto(self.snapshot, self.net.params)

    def end(self, epoch: int) -> None:
        self.last_epoch = epoch

    def restore(self, epoch: int, first_batch: bool) -> str:
        """Epoch ``epoch`` met a non-finite loss: put back the last weights that gave a finite
        one, and say which."""
        if not first_batch:
            # This epoch's first batch had a finite loss with the weights it started from.
            self.net.params, kept = self.snapshot, f"from the start of epoch {epoch}"
        elif self.last_epoch is not None:
            # The epoch before ran here, and its first batch had a finite loss.
            self.net.params, kept = self.previous, f"from the start of epoch {self.last_epoch}"
        else:
            self.net.params, kept = self.snapshot, KEPT_INITIAL
        return kept

    def finish(self) -> str | None:
        """Weights that overflowed in the very last step: restore, and say which were kept."""
        if self.last_epoch is not None and not np.isfinite(self.net.params).all():
            return self.restore(self.last_epoch, first_batch=False)
        return None


@dataclass
class Span:
    """What ``Engine.run`` gives back for ``k`` epochs asked.

    ``loss`` (and ``accuracy`` for classification) hold one value per epoch that finished with a
    finite loss; when there are fewer than ``k``, the next epoch diverged, the engine has already
    restored the weights by the rule above, and ``kept`` says which weights it kept.
    """

    loss: Sequence[float]
    accuracy: Sequence[float] | None = None
    kept: str | None = None


class Engine:
    """Base class. A subclass states its conditions in ``refuses`` and computes in ``run``."""

    #: the name ``fit(engine=...)`` knows it by
    name = ""
    #: how many epochs one ``run`` call should cover when nothing watches in between
    preferred_span = 256
    #: whether ``rewind`` can go back to an epoch inside the last span (then callbacks that
    #: read only the logs need not stop the engine every epoch)
    can_rewind = False

    def refuses(self, plan: Plan) -> str | None:
        """Why this engine cannot compute ``plan``'s steps exactly, or None when it can."""
        return None

    def adopt(self, net, X, y, sample_weight):
        """Data this engine keeps elsewhere (a Dask array for ``DataParallel``): check it where
        it lies and return stand-ins ``(X, y, sample_weight)`` with the lengths and shapes, or
        None to let ``fit`` check the data here as usual."""
        return None

    def pays_off(self, plan: Plan) -> bool:
        """Whether ``engine="auto"`` should prefer this engine for ``plan`` (speed, not
        exactness: ``refuses`` is asked first)."""
        return True

    def start(self, plan: Plan) -> None:
        """Prepare to run ``plan`` from the network's current weights."""
        raise NotImplementedError

    def run(self, epochs: range, rates: Sequence[float]) -> Span:
        """Train the epochs ``epochs``, epoch ``epochs[i]`` at learning rate ``rates[i]``."""
        raise NotImplementedError

    def rewind(self, epoch: int) -> None:
        """Put back the weights the network had at the start of ``epoch``, an epoch of the last
        span (or the one just after it). Only where ``can_rewind``."""
        raise NotImplementedError(f"the {self.name} engine cannot rewind")

    def finish(self) -> str | None:
        """After the last epoch: weights that overflowed in the last step would only show at a
        next step's loss, which never comes. If they did, restore and say which were kept."""
        return None

    def sync(self) -> None:
        """Put the current weights, and the last step's gradient (unscaled, before clipping and
        the optimizer), into the network's buffers."""

    def close(self) -> None:
        """Drop work arrays; the engine is done."""
