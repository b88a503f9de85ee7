"""The fit loop: epochs of mini-batches, validation, early stopping, callbacks, history.

The loop itself checks nothing per step except that the loss is finite: every input is validated
once before the first epoch. A loss that becomes NaN or infinite stops training with a
``DivergenceError`` and the network keeps the last weights that gave a finite loss.
Full-batch plain gradient descent on wide inputs runs in the row space of X (``lowrank``), and
on networks small enough for call overhead to matter, from one list of NumPy calls
(``fullbatch``).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Iterable

import numpy as np

from .optimizers import Optimizer
from .optimizers import get as get_optimizer

__all__ = ["fit", "History", "Callback", "EarlyStopping", "DivergenceError"]


class DivergenceError(ValueError):
    """Training produced a NaN or infinite loss; the network holds its last finite weights."""


class History:
    """Per-epoch metrics: ``history["loss"]``, ``["accuracy"]``, ``["val_loss"]``, ...

    ``to_dict()`` gives plain Python lists of floats (JSON-friendly).
    """

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epochs: list[int] = []
        self.stopped_epoch: int | None = None
        self.best_epoch: int | None = None

    def append(self, epoch: int, logs: dict) -> None:
        self.epochs.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def extend(self, epochs: range, columns: dict) -> None:
        """Append many epochs at once: ``columns`` maps each metric to one value per epoch."""
        self.epochs.extend(epochs)
        for key, values in columns.items():
            values = values.tolist() if isinstance(values, np.ndarray) else map(float, values)
            self.history.setdefault(key, []).extend(values)

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def __len__(self):
        return len(self.epochs)

    def to_dict(self) -> dict:
        return {"epochs": list(self.epochs), **{k: list(v) for k, v in self.history.items()},
                "stopped_epoch": self.stopped_epoch, "best_epoch": self.best_epoch}

    @classmethod
    def from_dict(cls, data: dict) -> History:
        h = cls()
        h.epochs = list(data.get("epochs", []))
        h.stopped_epoch, h.best_epoch = data.get("stopped_epoch"), data.get("best_epoch")
        h.history = {k: list(v) for k, v in data.items()
                     if k not in ("epochs", "stopped_epoch", "best_epoch")}
        return h

    def __repr__(self):
        last = {k: round(v[-1], 6) for k, v in self.history.items() if v}
        return f"History(epochs={len(self)}, last={last})"


class Callback:
    """Hooks into the loop. ``on_epoch_end`` returning True stops training."""

    def on_train_begin(self, net, history: History) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict, net, history: History) -> bool | None:
        return None

    def on_train_end(self, net, history: History) -> None:
        pass


class _FunctionCallback(Callback):
    def __init__(self, fn):
        self.fn = fn

    def on_epoch_end(self, epoch, logs, net, history):
        return self.fn(epoch, logs)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs, and
    (by default) put back the weights of the best epoch.

    ``monitor`` is ``"val_loss"`` when there is validation data, else ``"loss"``.
    """

    def __init__(self, patience: int = 10, min_delta: float = 0.0, monitor: str | None = None,
                 restore_best_weights: bool = True):
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) \
                or patience < 1:
            raise ValueError(f"patience must be a positive integer, got {patience!r}")
        self.patience, self.min_delta = int(patience), float(min_delta)
        self.monitor, self.restore_best_weights = monitor, restore_best_weights

    def on_train_begin(self, net, history):
        self.best, self.wait, self.best_params = math.inf, 0, None
        self._monitor = self.monitor

    def on_epoch_end(self, epoch, logs, net, history):
        if self._monitor is None:
            self._monitor = "val_loss" if "val_loss" in logs else "loss"
        value = logs[self._monitor]
        if value < self.best - self.min_delta:
            self.best, self.wait = value, 0
            history.best_epoch = epoch
            if self.restore_best_weights:
                self.best_params = net.params.copy()
            return False
        self.wait += 1
        return self.wait >= self.patience

    def on_train_end(self, net, history):
        if self.restore_best_weights and self.best_params is not None:
            net.params = self.best_params


def _check_int(value, name, low=1, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _split_validation(X, y, w, fraction, rng, stratify):
    """A random (stratified for classification) split; never just the last rows."""
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
        batch_size: int | None = None, shuffle: bool = True, validation_data=None,
        validation_split: float = 0.0, sample_weight=None,
        callbacks: Iterable[Callback | Callable] = (), verbose: int = 0,
        early_stopping: int | EarlyStopping | None = None, clip_norm: float | None = None,
        l2: float = 0.0,
        checkpoint: str | os.PathLike | None = None, checkpoint_every: int = 1,
        progress: bool = False):
    """Train ``net`` on ``X (n_samples, n_features)`` and ``y``; return the ``History``.

    Parameters
    ----------
    optimizer : Optimizer or name, default ``SGD(learning_rate=0.01)``
    epochs : int
        Passes over the data. With ``batch_size=None`` an epoch is one full-batch step,
        the tutorials' "iteration".
    batch_size : int, optional
        Mini-batch size; None means the whole training set.
    shuffle : bool
        Reshuffle the samples every epoch (from the network's seed).
    validation_data : (X_val, y_val), optional
    validation_split : float
        Fraction of (X, y) held out for validation, chosen at random (stratified for
        classification); ignored when ``validation_data`` is given.
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
    checkpoint : path, optional
        Folder for a checkpoint written every ``checkpoint_every`` epochs; if it already holds
        one, training resumes from it and ends exactly as an uninterrupted run would.
    progress : bool
        Show a Rich progress bar with the loss and accuracy.
    """
    epochs = _check_int(epochs, "epochs")
    batch_size = _check_int(batch_size, "batch_size", allow_none=True)
    verbose = _check_int(verbose, "verbose", low=0)
    checkpoint_every = _check_int(checkpoint_every, "checkpoint_every")
    if not (isinstance(validation_split, numbers.Real) and 0 <= validation_split < 1):
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    if clip_norm is not None and not (isinstance(clip_norm, numbers.Real) and clip_norm > 0):
        raise ValueError(f"clip_norm must be a number > 0, got {clip_norm!r}")
    if not (isinstance(l2, numbers.Real) and 0 <= l2 < math.inf):
        raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")
    optimizer = get_optimizer("sgd", learning_rate=0.01) if optimizer is None else \
        get_optimizer(optimizer)

    X, y, sample_weight = net.check_data(X, y, sample_weight)

    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a tuple (X_val, y_val)")
        validation = net.check_data(validation_data[0], validation_data[1],
                                    validation_data[2] if len(validation_data) == 3 else None,
                                    names=("X_val", "y_val"))
    elif validation_split:
        X, y, sample_weight, validation = _split_validation(
            X, y, sample_weight, validation_split, net._shuffle_rng,
            stratify=net.loss.is_classification)
    else:
        validation = None

    callbacks = [cb if isinstance(cb, Callback) else _FunctionCallback(cb) for cb in callbacks]
    if early_stopping is not None:
        callbacks.append(early_stopping if isinstance(early_stopping, EarlyStopping)
                         else EarlyStopping(patience=early_stopping))

    from . import fullbatch, lowrank

    if _plain_full_batch(X, optimizer, batch_size, l2, clip_norm, validation, callbacks,
                         checkpoint):
        if lowrank.applies(net, X):
            # Same iterates, computed in the row space of X: see glassnet.lowrank.
            return lowrank.fit_reduced(net, X, y, fit, optimizer=optimizer, epochs=epochs,
                                       sample_weight=sample_weight, verbose=verbose,
                                       progress=progress)
        if fullbatch.applies(net, X):
            # The same steps, replayed from one list of NumPy calls: see glassnet.fullbatch.
            return fullbatch.fit(net, X, y, optimizer=optimizer, epochs=epochs,
                                 sample_weight=sample_weight, verbose=verbose,
                                 progress=progress)

    history = History()
    start_epoch = 0
    if checkpoint is not None:
        from .io import load_checkpoint

        state = load_checkpoint(checkpoint, net, optimizer)
        if state is not None:
            history = History.from_dict(state["history"])
            start_epoch = state["epoch"] + 1

    net.history = history
    for cb in callbacks:
        cb.on_train_begin(net, history)

    loop = _Loop(net, optimizer, X, y, sample_weight, batch_size, shuffle, clip_norm, l2)
    bar = _ProgressBar(epochs, start_epoch) if progress else None
    try:
        # A diverging run overflows somewhere; the loop says so itself, naming the epoch.
        with np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(start_epoch, epochs):
                optimizer.set_epoch(epoch)
                logs = loop.run_epoch(epoch)
                logs["learning_rate"] = optimizer.learning_rate
                if validation is not None:
                    # Checked once above: no validation of X_val every epoch.
                    for key, value in net._evaluate(*validation).items():
                        logs[f"val_{key}"] = value
                history.append(epoch, logs)
                if _verbose_due(epoch, epochs, verbose):
                    _print_logs(epoch, logs)
                if bar is not None:
                    bar.update(logs)
                stop = False
                for cb in callbacks:
                    stop = bool(cb.on_epoch_end(epoch, logs, net, history)) or stop
                if checkpoint is not None and ((epoch + 1) % checkpoint_every == 0 or stop
                                               or epoch == epochs - 1):
                    from .io import save_checkpoint

                    save_checkpoint(checkpoint, net, optimizer, epoch, history)
                if stop:
                    history.stopped_epoch = epoch
                    break
            loop.check_final_weights()
    finally:
        net.release_buffers()
        if bar is not None:
            bar.close()
    for cb in callbacks:
        cb.on_train_end(net, history)
    return history


def _plain_full_batch(X, optimizer, batch_size, l2, clip_norm, validation, callbacks,
                      checkpoint) -> bool:
    """Full-batch SGD without momentum or decay, and nothing that looks at the weights between
    steps: the runs the exact fast paths (``lowrank``, ``fullbatch``) may take over."""
    return ((batch_size is None or batch_size >= len(X)) and _plain_sgd(optimizer) and not l2
            and clip_norm is None and validation is None and not callbacks
            and checkpoint is None)


def _plain_sgd(optimizer) -> bool:
    """SGD itself (not a subclass that may change the step), without momentum or decay."""
    from .optimizers import SGD

    return type(optimizer) is SGD and optimizer.plain


def _verbose_due(epoch, epochs, verbose) -> bool:
    """Whether ``verbose`` asks for this epoch's line: every ``verbose``-th, and the last."""
    return bool(verbose) and (epoch % verbose == 0 or epoch == epochs - 1)


def _print_logs(epoch, logs):
    print(f"epoch {epoch}: " + ", ".join(
        f"{k} {v:.6g}" for k, v in logs.items() if k != "learning_rate"), flush=True)


def _divergence_error(epoch, kept, lr) -> DivergenceError:
    return DivergenceError(
        f"training diverged at epoch {epoch}: the loss became NaN or infinite. The network "
        f"keeps the last weights that gave a finite loss ({kept}). Try a smaller learning "
        f"rate (now {lr:g}, e.g. {lr / 10:g}), gradient clipping (clip_norm=1.0), or "
        "scaling the input features.")


class _Loop:
    """One epoch of mini-batch steps, with the buffers it needs made once."""

    def __init__(self, net, optimizer, X, y, w, batch_size, shuffle, clip_norm, l2):
        self.net, self.optimizer = net, optimizer
        self.X, self.y, self.w = X, y, w
        n = len(X)
        self.batch_size = n if batch_size is None else min(batch_size, n)
        # A full batch's gradient does not depend on the order of the samples.
        self.shuffle = shuffle and self.batch_size < n
        if self.shuffle:
            # Each batch is gathered into buffers made once per fit: as cheap as copying the
            # whole data set each epoch, without a data-sized array whose pages fault on first
            # touch (measured: a third of an epoch), and the batch is still in cache when used.
            bs = self.batch_size
            self._X = np.empty((bs,) + X.shape[1:], dtype=X.dtype)
            self._y = np.empty((bs,) + y.shape[1:], dtype=y.dtype)
            self._w = None if w is None else np.empty(bs, dtype=w.dtype)
        self.clip_norm, self.l2 = clip_norm, float(l2)
        # Plain SGD: the learning rate rides on the output gradient, a (batch, n_out) array, so
        # the update is one pass over the parameters (params -= grads), not two. Clipping
        # needs the gradient's own norm, so it keeps the ordinary step.
        self.scaled = _plain_sgd(optimizer) and clip_norm is None
        # Weights at the start of this epoch and of the one before: restoring the right one
        # on divergence costs one copy per epoch, not one per step. `previous` holds nothing
        # until this loop has run an epoch (a resumed run starts at a later epoch).
        self.snapshot, self.previous = np.empty_like(net.params), np.empty_like(net.params)
        self.last_epoch = None
        self.total_weight = n if w is None else float(w.sum())

    def run_epoch(self, epoch):
        net, loss_fn, params, grads = self.net, self.net.loss, self.net.params, self.net.grads
        X, y, w = self.X, self.y, self.w
        order = net._shuffle_rng.permutation(len(X)) if self.shuffle else None
        self.snapshot, self.previous = self.previous, self.snapshot
        np.copyto(self.snapshot, params)
        total_loss, correct, bs, n = 0.0, 0, self.batch_size, len(X)
        classify = loss_fn.is_classification
        scale = self.optimizer.learning_rate if self.scaled else 1.0
        for start in range(0, n, bs):
            stop = start + bs
            if order is None:
                Xb, yb = X[start:stop], y[start:stop]
                wb = None if w is None else w[start:stop]
            else:
                Xb, yb, wb = self._gather(order[start:stop])
            loss, out = net._loss_and_grad(Xb, yb, wb, grad_scale=scale)
            if not math.isfinite(loss):
                self._diverged(epoch, first_batch=start == 0)
            weight = len(Xb) if wb is None else float(wb.sum())
            if self.l2:
                W, dW = params[:net.n_weights], grads[:net.n_weights]
                loss += 0.5 * self.l2 * float(W @ W) / weight
                dW += (self.l2 * scale / weight) * W
            total_loss += float(loss) * weight
            if classify:
                correct += loss_fn.n_correct(out, yb)
            if self.clip_norm is not None:
                norm = math.sqrt(float(grads @ grads))
                if norm > self.clip_norm:
                    grads *= self.clip_norm / norm
            if self.scaled:
                self.optimizer.step_scaled(params, grads)
            else:
                self.optimizer.step(params, grads, net.n_weights)
        self.last_epoch = epoch
        logs = {"loss": total_loss / self.total_weight}
        if classify:
            logs["accuracy"] = correct / n
        return logs

    def _gather(self, idx):
        """Rows ``idx`` of X, y (and w) in the batch buffers. mode="clip": with the default
        "raise", take() buffers its whole output first; these indices are always in range."""
        k = len(idx)
        Xb = np.take(self.X, idx, axis=0, out=self._X[:k], mode="clip")
        yb = np.take(self.y, idx, axis=0, out=self._y[:k], mode="clip")
        wb = None if self.w is None else np.take(self.w, idx, out=self._w[:k], mode="clip")
        return Xb, yb, wb

    def check_final_weights(self):
        """After the last step: weights that overflowed would only show at the next step's
        loss, which never comes, so look at them once."""
        if self.last_epoch is not None and not np.isfinite(self.net.params).all():
            self._diverged(self.last_epoch, first_batch=False)

    def _diverged(self, epoch, first_batch):
        """Restore the last weights that gave a finite loss, and say what happened."""
        if not first_batch:
            # This epoch's first batch had a finite loss with the weights it started from.
            self.net.params, kept = self.snapshot, f"from the start of epoch {epoch}"
        elif self.last_epoch is not None:
            # The epoch before ran here, and its first batch had a finite loss.
            self.net.params, kept = self.previous, f"from the start of epoch {self.last_epoch}"
        else:
            self.net.params, kept = self.snapshot, "it started with"
        raise _divergence_error(epoch, kept, self.optimizer.learning_rate)


class _ProgressBar:
    def __init__(self, epochs, start):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[metrics]}"), TimeElapsedColumn(),
                                 TimeRemainingColumn(), transient=False)
        self.progress.start()
        self.task = self.progress.add_task("fit", total=epochs, completed=start, metrics="")

    def update(self, logs, advance=1):
        text = " ".join(f"{k} {v:.4f}" for k, v in logs.items() if k != "learning_rate")
        self.progress.update(self.task, advance=advance, metrics=text)

    def close(self):
        self.progress.stop()
