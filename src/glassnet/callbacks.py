"""What the training loop records and who may look in between epochs: ``History``,
``Callback``, ``LambdaCallback``, ``EarlyStopping``.

A callback reads the network (``net.params``, ``net.predict``...) between epochs; it changes
nothing but its own state, except through ``on_train_end`` (where ``EarlyStopping`` puts back
its best weights). Any callback makes the loop hand it every epoch, so fast engines then run one
epoch at a time.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_number, check_positive_int

__all__ = ["History", "Callback", "LambdaCallback", "EarlyStopping"]


class History:
    """Per-epoch metrics: ``history["loss"]``, ``["accuracy"]``, ``["val_loss"]``, ...

    ``epochs`` lists the epochs trained; ``val_epochs`` those the validation metrics were
    measured at (every epoch unless ``fit(validation_freq=N)``); ``engine`` names the engine
    that computed the steps. ``to_dict()`` gives plain Python lists (JSON-friendly).
    """

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epochs: list[int] = []
        self.val_epochs: list[int] = []
        self.stopped_epoch: int | None = None
        self.best_epoch: int | None = None
        self.engine: str | None = None

    def append(self, epoch: int, logs: dict) -> None:
        self.epochs.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        if any(key.startswith("val_") for key in logs):
            self.val_epochs.append(epoch)

    def extend(self, epochs: range, columns: dict) -> None:
        """Append many epochs at once: ``columns`` maps each metric to one value per epoch."""
        self.epochs.extend(epochs)
        for key, values in columns.items():
            values = values.tolist() if isinstance(values, np.ndarray) else map(float, values)
            self.history.setdefault(key, []).extend(values)

    def append_validation(self, epoch: int, metrics: dict) -> None:
        """The validation metrics measured after ``epoch`` (already in ``epochs``)."""
        for key, value in metrics.items():
            self.history.setdefault(key, []).append(float(value))
        self.val_epochs.append(epoch)

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def __len__(self):
        return len(self.epochs)

    def to_dict(self) -> dict:
        return {"epochs": list(self.epochs), **{k: list(v) for k, v in self.history.items()},
                "val_epochs": list(self.val_epochs), "stopped_epoch": self.stopped_epoch,
                "best_epoch": self.best_epoch, "engine": self.engine}

    @classmethod
    def from_dict(cls, data: dict) -> History:
        h = cls()
        special = ("epochs", "val_epochs", "stopped_epoch", "best_epoch", "engine")
        h.epochs = list(data.get("epochs", []))
        h.stopped_epoch, h.best_epoch = data.get("stopped_epoch"), data.get("best_epoch")
        h.engine = data.get("engine")
        h.history = {k: list(v) for k, v in data.items() if k not in special}
        # Histories written before val_epochs existed validated every epoch.
        h.val_epochs = list(data.get("val_epochs", h.epochs if "val_loss" in h.history else []))
        return h

    def __repr__(self):
        last = {k: round(v[-1], 6) for k, v in self.history.items() if v}
        return f"History(epochs={len(self)}, last={last})"

    def _repr_png_(self) -> bytes | None:
        """The loss curve, for notebooks."""
        if not self.history.get("loss"):
            return None
        from .plotting import loss_curve, to_png

        return to_png(loss_curve(self, title=f"loss over {len(self)} epochs"))

    def _repr_html_(self) -> str:
        import base64
        import html

        last = ", ".join(f"{html.escape(k)} {v[-1]:.4g}" for k, v in self.history.items() if v)
        png = self._repr_png_()
        image = "" if png is None else \
            f'<br><img src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        return f"<div><b>History</b>: {len(self)} epochs ({last}){image}</div>"


class Callback:
    """Hooks into the loop. ``on_epoch_end`` returning True stops training.

    ``reads_weights = False`` declares that ``on_epoch_end`` looks at the logs only, never at
    the network: the loop then need not bring the weights back from a fast engine each epoch.
    """

    reads_weights = True

    def on_train_begin(self, net, history: History) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict, net, history: History) -> bool | None:
        return None

    def on_train_end(self, net, history: History) -> None:
        pass


class LambdaCallback(Callback):
    """A function ``f(epoch, logs)`` called after every epoch; returning True stops."""

    def __init__(self, fn):
        if not callable(fn):
            raise TypeError(f"a callback must be a Callback or a function f(epoch, logs), "
                            f"got {type(fn).__name__}")
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
        self.patience = check_positive_int(patience, "patience")
        self.min_delta = check_number(min_delta, "min_delta")
        if monitor is not None and not isinstance(monitor, str):
            raise TypeError(f"monitor must be a metric name such as 'val_loss', got {monitor!r}")
        self.monitor, self.restore_best_weights = monitor, bool(restore_best_weights)
        self.reads_weights = self.restore_best_weights

    def on_train_begin(self, net, history):
        self.best, self.wait, self.best_params = math.inf, 0, None
        self._monitor = self.monitor

    def on_epoch_end(self, epoch, logs, net, history):
        if self._monitor is None:
            self._monitor = "val_loss" if "val_loss" in logs else "loss"
        if self._monitor not in logs:
            if self._monitor.startswith("val_") and history.val_epochs:
                return False            # validation runs every few epochs: not this one
            raise ValueError(f"EarlyStopping(monitor={self._monitor!r}): no such metric; this "
                             f"fit records {sorted(logs)}")
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
