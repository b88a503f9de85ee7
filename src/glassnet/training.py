"""The fit loop: the ONE epoch loop, for every engine.

``fit`` checks every input once, describes the fit as a ``Plan``, asks ``engines.choose`` for an
engine, then runs spans of epochs through it. It owns everything around the steps: the
validation split and validation metrics, callbacks and early stopping, checkpoints, the history,
verbose lines and the progress bar, and the divergence message. When nothing looks at the
weights between epochs an engine runs many epochs per call; validation, callbacks and
checkpoints make the loop stop the engine where they need to look (``validation_freq`` and
``checkpoint_every`` let a fast engine run in between).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Iterable

import numpy as np

from . import engines
from ._checks import check_int, check_number
from .callbacks import Callback, EarlyStopping, History, LambdaCallback
from .checkpoints import check_checkpoint_folder, load_checkpoint, save_checkpoint
from .errors import DivergenceError
from .optimizers import Optimizer
from .optimizers import get as get_optimizer

__all__ = ["fit", "split_validation", "History", "Callback", "EarlyStopping", "DivergenceError"]


def split_validation(X, y, w, fraction: float, rng, stratify: bool):
    """A random (stratified for classification) split; never just the last rows.

    Returns ``X_train, y_train, w_train, (X_val, y_val, w_val)``.
    """
    n = len(X)
    n_val = int(math.ceil(n * fraction))
    if not 0 < n_val < n:
        raise ValueError(f"validation_split={fraction} leaves no samples for training or "
                         f"validation with {n} samples")
    order = rng.permutation(n)
    if stratify:
        labels = y if y.ndim == 1 else y.argmax(axis=1) if y.shape[1] > 1 else y[:, 0]
        # Take about `fraction` of each class, in the shuffled order.
        val_idx = []
        for cls in np.unique(labels):
            members = order[labels[order] == cls]
            k = int(round(len(members) * fraction))
            val_idx.extend(members[:k])
        val_idx = np.array(sorted(val_idx), dtype=np.intp)
        if not 0 < len(val_idx) < n:
            val_idx = np.sort(order[:n_val])
    else:
        val_idx = np.sort(order[:n_val])
    mask = np.ones(n, dtype=bool)
    mask[val_idx] = False
    train_w = None if w is None else w[mask]
    val_w = None if w is None else w[~mask]
    return X[mask], y[mask], train_w, (X[~mask], y[~mask], val_w)


def fit(net, X, y, optimizer: Optimizer | str | None = None, epochs: int = 1,
        batch_size: int | None = None, shuffle: bool | Callable = True, validation_data=None,
        validation_split: float = 0.0, validation_freq: int = 1, sample_weight=None,
        callbacks: Iterable[Callback | Callable] = (), verbose: int = 0,
        early_stopping: int | EarlyStopping | None = None, clip_norm: float | None = None,
        l2: float = 0.0, l1: float = 0.0, checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int = 1, progress: bool = False,
        engine: str | engines.Engine = "auto", epoch_loss: str = "weighted") -> History:
    """Train ``net`` on ``X (n_samples, n_features)`` and ``y``; return the ``History``.

    Parameters
    ----------
    optimizer : Optimizer or name, default ``SGD(learning_rate=0.01)``
    epochs : int
        Passes over the data. With ``batch_size=None`` an epoch is one full-batch step,
        the tutorials' "iteration".
    batch_size : int, optional
        Mini-batch size; None means the whole training set.
    shuffle : bool or callable
        Reshuffle the samples every epoch (from the network's seed); or a function
        ``order(n_samples) -> permutation`` called once per epoch (the estimators use it to draw
        as scikit-learn does).
    validation_data : (X_val, y_val) or (X_val, y_val, sample_weight_val), optional
    validation_split : float
        Fraction of (X, y) held out for validation, chosen at random (stratified for
        classification); ignored when ``validation_data`` is given.
    validation_freq : int
        Measure the validation metrics every ``validation_freq`` epochs (and at the last);
        ``history.val_epochs`` lists when.
    sample_weight : array of shape (n_samples,), optional
    callbacks : Callbacks, or functions ``f(epoch, logs)`` that return True to stop
    verbose : int
        Print the metrics every ``verbose`` epochs (0: silent).
    early_stopping : int or EarlyStopping, optional
        Patience in epochs (monitoring ``val_loss`` if there is validation data, else ``loss``);
        the best weights are restored at the end.
    clip_norm : float, optional
        Rescale the gradient when its global L2 norm exceeds this.
    l2 : float
        L2 penalty ``0.5 * l2 * ||W||^2 / n_batch`` added to each batch's loss, over the
        weights (not biases); ``n_batch`` is the batch's total sample weight (its size when
        unweighted), so a weight of 2 is the same as repeating a sample. This is
        scikit-learn's ``alpha``.
    l1 : float
        L1 penalty ``l1 * ||W||_1 / n_batch`` on the weights, in the same form (its gradient
        ``l1 * sign(W) / n_batch``, 0 at 0); it drives weights to zero rather than shrinking
        them all.
    checkpoint : path, optional
        Folder for a checkpoint written every ``checkpoint_every`` epochs; if it already holds
        one, training resumes from it and ends exactly as an uninterrupted run would.
    progress : bool
        Show a Rich progress bar with the loss and accuracy.
    epoch_loss : "weighted" or "rows"
        How ``history["loss"]`` averages an epoch's mini-batches under ``sample_weight``: by
        their weight (the epoch's weighted mean loss) or by their rows (scikit-learn's
        ``loss_curve_``, whose ``tol`` rule the estimators follow). Without weights, or with
        one batch, both are the same.
    engine : "auto", "layered", "tape", "compiled", "rowspace" or an Engine
        How the steps are computed (``glassnet.engines``). Every engine gives the same
        weights; ``"auto"`` takes the fastest that runs this fit exactly.

    After ``fit``, ``net.grads`` holds the gradient of the last step (the batch's loss plus the
    ``l1`` and ``l2`` terms, at the weights before that step), whatever the engine.
    """
    epochs = check_int(epochs, "epochs")
    if epoch_loss not in ("weighted", "rows"):
        raise ValueError(f"epoch_loss must be 'weighted' or 'rows'; got {epoch_loss!r}")
    batch_size = check_int(batch_size, "batch_size", allow_none=True)
    verbose = check_int(verbose, "verbose", low=0)
    validation_freq = check_int(validation_freq, "validation_freq")
    checkpoint_every = check_int(checkpoint_every, "checkpoint_every")
    if not (isinstance(validation_split, numbers.Real) and 0 <= validation_split < 1):
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    if clip_norm is not None and not (isinstance(clip_norm, numbers.Real)
                                      and 0 < clip_norm < math.inf):
        raise ValueError(f"clip_norm must be a number > 0, got {clip_norm!r}")
    l2 = check_number(l2, "l2")
    l1 = check_number(l1, "l1")
    optimizer = get_optimizer("sgd", learning_rate=0.01) if optimizer is None else \
        get_optimizer(optimizer)
    if checkpoint is not None:
        checkpoint = check_checkpoint_folder(checkpoint)

    adopted = engine.adopt(net, X, y, sample_weight) if isinstance(engine, engines.Engine) \
        else None
    if adopted is not None:                  # the data stays where the engine keeps it
        if validation_split:
            raise ValueError("validation_split needs the training data on this machine; with "
                             "data kept on a cluster pass validation_data=(X_val, y_val)")
        X, y, sample_weight = adopted
    else:
        X, y, sample_weight = net.check_data(X, y, sample_weight)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a tuple (X_val, y_val)")
        validation = net.check_data(validation_data[0], validation_data[1],
                                    validation_data[2] if len(validation_data) == 3 else None,
                                    names=("X_val", "y_val"))
    elif validation_split:
        X, y, sample_weight, validation = split_validation(
            X, y, sample_weight, validation_split, net.shuffle_rng,
            stratify=net.loss.is_classification)
    else:
        validation = None

    callbacks = [cb if isinstance(cb, Callback) else LambdaCallback(cb) for cb in callbacks]
    if early_stopping is not None:
        callbacks.append(early_stopping if isinstance(early_stopping, EarlyStopping)
                         else EarlyStopping(patience=early_stopping))

    # What this fit will record, so that a monitor naming anything else fails before any work.
    recorded = {"loss", "learning_rate"} | ({"accuracy"} if net.loss.is_classification else set())
    if validation is not None:
        recorded |= {f"val_{k}" for k in recorded - {"learning_rate"}}
    for cb in callbacks:
        monitor = getattr(cb, "monitor", None) if isinstance(cb, EarlyStopping) else None
        if monitor is not None and monitor not in recorded:
            raise ValueError(f"EarlyStopping(monitor={monitor!r}): no such metric; this fit "
                             f"records {sorted(recorded)}")

    plan = engines.Plan(net=net, optimizer=optimizer, X=X, y=y, sample_weight=sample_weight,
                        batch_size=len(X) if batch_size is None else min(batch_size, len(X)),
                        shuffle=shuffle if callable(shuffle) else bool(shuffle),
                        clip_norm=clip_norm, l2=l2, l1=l1, epochs=epochs,
                        epoch_loss=epoch_loss)
    chosen = engines.choose(plan, engine)

    history, start_epoch = History(), 0
    if checkpoint is not None:
        state = load_checkpoint(checkpoint, net, optimizer)
        if state is not None:
            history, start_epoch = state["history"], state["epoch"] + 1
    net.history = history
    history.engine = chosen.name
    loop = _Loop(net, optimizer, chosen, history, epochs, validation, validation_freq,
                 callbacks, checkpoint, checkpoint_every, verbose, progress)
    chosen.start(plan)
    optimizer.expect_steps((epochs - start_epoch) * plan.steps_per_epoch)
    try:
        loop.run(start_epoch)
    finally:
        optimizer.expect_steps(0)
        chosen.close()
        loop.close()
    for cb in callbacks:
        cb.on_train_end(net, history)
    return history


class _Loop:
    """The epoch loop's state: what watches the weights, and when."""

    def __init__(self, net, optimizer, engine, history, epochs, validation, validation_freq,
                 callbacks, checkpoint, checkpoint_every, verbose, progress):
        self.net, self.optimizer, self.engine, self.history = net, optimizer, engine, history
        self.epochs, self.validation, self.validation_freq = epochs, validation, validation_freq
        self.callbacks, self.checkpoint = callbacks, checkpoint
        self.checkpoint_every, self.verbose = checkpoint_every, verbose
        self.callbacks_read_weights = any(cb.reads_weights for cb in callbacks)
        self.bar = None
        if progress:
            from .progress import ProgressBar

            self.bar = ProgressBar(epochs)

    def _due(self, epoch, every: int) -> bool:
        return epoch == self.epochs - 1 or (epoch + 1) % every == 0

    def _weights_due(self, epoch) -> bool:
        """Whether the weights are read after ``epoch``: validation or a checkpoint is due, or
        a callback reads them."""
        return (self.validation is not None and self._due(epoch, self.validation_freq)) or (
            self.checkpoint is not None and self._due(epoch, self.checkpoint_every)) or (
            self.callbacks_read_weights)

    def _span_end(self, start) -> int:
        """The end of the next span: the first epoch after which the weights are read, within
        the engine's preferred span. Callbacks that read only the logs are handed a span's
        epochs afterwards when the engine can rewind to where one of them stops; otherwise
        they need every epoch."""
        every_epoch = bool(self.callbacks) and not self.engine.can_rewind
        end = min(self.epochs, start + self.engine.preferred_span)
        for epoch in range(start, end):
            if every_epoch or self._weights_due(epoch):
                return epoch + 1
        return end

    def run(self, start_epoch):
        net, engine, history, optimizer = self.net, self.engine, self.history, self.optimizer
        for cb in self.callbacks:
            cb.on_train_begin(net, history)
        if self.bar is not None:
            self.bar.start(start_epoch)
        epoch = start_epoch
        # A diverging run overflows somewhere; the loop says so itself, naming the epoch.
        with np.errstate(over="ignore", invalid="ignore"):
            while epoch < self.epochs:
                end = self._span_end(epoch)
                span = range(epoch, end)
                rates = [optimizer.schedule(e) for e in span]
                result = engine.run(span, rates)
                done = len(result.loss)
                finished = done == len(span)
                columns = {"loss": list(result.loss)}
                if result.accuracy is not None:
                    columns["accuracy"] = list(result.accuracy)
                columns["learning_rate"] = rates[:done]
                val = {}
                if finished and self._weights_due(end - 1):
                    engine.sync()
                    val = self._validate(end - 1)
                stop_at = self._epoch_ends(span[:done], columns, val)
                if stop_at is not None:
                    if stop_at < done - 1 or not finished:
                        # The engine ran past the epoch a callback stopped at: go back to it.
                        engine.rewind(span[stop_at] + 1)
                        optimizer.iterations -= done - 1 - stop_at
                        optimizer.learning_rate = rates[stop_at]
                        val = {}
                    engine.sync()
                    if self.checkpoint is not None:
                        save_checkpoint(self.checkpoint, net, optimizer, span[stop_at], history)
                    self._report(span[:stop_at + 1], columns, val)
                    history.stopped_epoch = span[stop_at]
                    break
                self._report(span[:done], columns, val)
                if not finished:
                    engine.sync()
                    raise _divergence_error(span[done], result.kept, rates[done])
                if self.checkpoint is not None and self._due(end - 1, self.checkpoint_every):
                    save_checkpoint(self.checkpoint, net, optimizer, end - 1, history)
                epoch = end
            kept = engine.finish()
        engine.sync()
        if kept is not None:
            raise _divergence_error(history.epochs[-1], kept, optimizer.learning_rate)

    def _validate(self, epoch) -> dict:
        """The validation metrics after ``epoch`` if they are due (the weights are synced)."""
        if self.validation is None or not self._due(epoch, self.validation_freq):
            return {}
        return {f"val_{k}": v for k, v in self.net.compute_metrics(*self.validation).items()}

    def _epoch_ends(self, span, columns, val) -> int | None:
        """Record each epoch of ``span`` in the history (``val`` belongs to its last) and hand
        it to the callbacks; the index of the epoch one of them stopped at, if any."""
        history = self.history
        if not self.callbacks:
            history.extend(span, columns)
            if val:
                history.append_validation(span[-1], val)
            return None
        for i, epoch in enumerate(span):
            logs = {key: values[i] for key, values in columns.items()}
            history.extend(range(epoch, epoch + 1), {k: [v] for k, v in logs.items()})
            if val and epoch == span[-1]:
                history.append_validation(epoch, val)
                logs.update(val)
            stop = False
            for cb in self.callbacks:
                stop = bool(cb.on_epoch_end(epoch, logs, self.net, history)) or stop
            if stop:
                return i
        return None

    def _report(self, span, columns, val):
        """Verbose lines and the progress bar for a span; ``val`` belongs to its last epoch."""
        if not len(span):
            return
        if self.verbose:
            for i, epoch in enumerate(span):
                if epoch % self.verbose == 0 or epoch == self.epochs - 1:
                    logs = {k: v[i] for k, v in columns.items() if k != "learning_rate"}
                    if epoch == span[-1]:
                        logs.update(val)
                    print(f"epoch {epoch}: " + ", ".join(f"{k} {v:.6g}" for k, v in logs.items()),
                          flush=True)
        if self.bar is not None:
            last = len(span) - 1
            self.bar.update({k: v[last] for k, v in columns.items() if k != "learning_rate"}
                            | val, advance=len(span))

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _divergence_error(epoch, kept, lr) -> DivergenceError:
    return DivergenceError(
        f"training diverged at epoch {epoch}: the loss became NaN or infinite. The network "
        f"keeps the last weights that gave a finite loss ({kept}). Try a smaller learning "
        f"rate (now {lr:g}, e.g. {lr / 10:g}), gradient clipping (clip_norm=1.0), or "
        "scaling the input features.", epoch=epoch, kept=kept)
