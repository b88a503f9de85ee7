"""One playground run: the data, the network, the training thread and the frames it shows.

Training is one ``net.fit`` call, the library's own loop, run in a thread with a callback
(``_Gate``) at every epoch's end. The gate records the epoch, applies the weight edits the page
asked for, publishes a frame when one is due, and blocks while the run is paused. So what the
page shows after epoch ``e`` is what ``net.fit(..., epochs=e)`` computes with the same settings
(the tests check it), and edits happen between epochs, never inside a step.

A frame is computed on ``probe``, a copy of the network given the weights of that moment, so
the page's questions (a neuron's formula, an export) never touch the weights being trained.

Frame arrays are heat maps on a ``resolution x resolution`` grid over the data's domain, row 0
at the top (largest x2), sent as base64 bytes: ``round(255 * (v / scale + 1) / 2)`` for a value
``v`` of range ``[-scale, scale]``.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import threading
import time

import numpy as np

from .. import recipe
from ..callbacks import Callback
from ..errors import DivergenceError
from ..explain import explain
from ..network import Network
from . import data
from .settings import Settings

__all__ = ["Session", "build_network", "build_optimizer", "fit_arguments", "make_data",
           "live_change", "FRAME_INTERVAL", "LIVE"]

#: the shortest time between two frames while playing (seconds): at most 30 frames a second
FRAME_INTERVAL = 1 / 30
#: fit's epochs argument: a run goes on until paused or replaced
MAX_EPOCHS = 10**7
#: the settings a run takes without starting again (``Session.change``)
LIVE = ("learning_rate", "optimizer", "schedule", "regularization", "reg_rate")
#: the side of the grid a hidden neuron's map is drawn on (the output's is the resolution)
NEURON_RESOLUTION = 24
#: the most points a run's loss curve keeps (older ones are thinned)
MAX_CURVE = 2000
#: epochs after which "step" decays the rate tenfold; cosine decays over this many
DECAY_EPOCHS = 500
_session_ids = itertools.count(1)


# ----------------------------------------------------------------------------- building
def make_data(settings: Settings) -> data.PlaneData:
    if settings.dataset == "custom":
        X, y, task, domain = data.from_rows(np.asarray(settings.custom, dtype=float))
    else:
        X, y = data.generate(settings.dataset, settings.n_samples, settings.noise,
                             settings.data_seed)
        task, domain = settings.task, None
    return data.split(X, y, settings.train_percent, settings.data_seed, task, domain)


def build_network(settings: Settings, plane: data.PlaneData) -> Network:
    """The network the settings describe, its weights drawn from ``settings.seed``."""
    output = recipe.output_layer(plane.task, plane.n_classes, head=settings.head)
    return recipe.build_network(
        settings.hidden, [settings.activation_of(i) for i in range(len(settings.hidden))],
        output, input_dim=len(settings.features), dropout=settings.dropout,
        seed=settings.seed)


def build_optimizer(settings: Settings):
    """The page's optimizer: ``momentum`` is SGD with momentum 0.9; schedules decay over
    ``DECAY_EPOCHS`` (cosine) or tenfold every ``DECAY_EPOCHS`` (step)."""
    return recipe.build_optimizer(settings.optimizer, settings.learning_rate,
                                  schedule=settings.schedule, epochs=DECAY_EPOCHS,
                                  step_size=DECAY_EPOCHS)


def _rows_text(rows: np.ndarray, shown: int = 12) -> str:
    """A batch's sample numbers, the first ``shown`` of them."""
    text = ", ".join(str(int(i)) for i in rows[:shown])
    return text + (f", ... ({len(rows)} in all)" if len(rows) > shown else "")


def live_change(old: Settings, new: Settings) -> dict | None:
    """The ``LIVE`` fields ``new`` changes, when it changes nothing else (else None)."""
    fields = type(old).__dataclass_fields__
    differ = [f for f in fields if getattr(old, f) != getattr(new, f)]
    if not differ or any(f not in LIVE for f in differ):
        return None
    return {f: getattr(new, f) for f in differ}


def _same_optimizer(a: Settings, b: Settings) -> bool:
    """Whether two settings run the same update (only the rate or penalty differs): then the
    optimizer's state (momentum, Adam's moments) carries on."""
    return a.optimizer == b.optimizer


def fit_arguments(settings: Settings) -> dict:
    """``net.fit``'s keyword arguments (beside the optimizer and epochs) for these settings."""
    rate = settings.reg_rate if settings.regularization != "none" else 0.0
    return {"batch_size": settings.batch_size or None,
            "l1": rate if settings.regularization == "l1" else 0.0,
            "l2": rate if settings.regularization == "l2" else 0.0}


def _encode(values: np.ndarray, scale: float) -> str:
    """``values`` in ``[-scale, scale]`` as base64 bytes 0..255 (see the module docstring)."""
    scale = scale if scale > 0 and math.isfinite(scale) else 1.0
    q = np.clip(np.round(255 * (np.nan_to_num(values) / scale + 1) / 2), 0, 255)
    return base64.b64encode(q.astype(np.uint8).tobytes()).decode("ascii")


def _layer_outputs(net: Network, X: np.ndarray, n_layers: int | None = None) -> list:
    """The outputs ``(n, units)`` of ``net``'s first ``n_layers`` Dense layers (all of them by
    default) for ``X``, in inference, as ``net.predict`` computes them."""
    outputs = []
    for layer in net.dense_layers[:n_layers]:
        X = layer.forward(X)
        outputs.append(X)
    return outputs


def _number(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# ----------------------------------------------------------------------------- the run
class Session:
    """A run of ``settings``: build it, then ``play``, ``pause``, ``step``, ``edit``, ``close``.

    ``publish(text)`` receives every frame as JSON text. Thread-safe: the page's requests
    come from the server's threads while the training thread runs.
    """

    def __init__(self, settings: Settings, publish=lambda text: None):
        self.id = next(_session_ids)
        self.settings = settings
        self.plane = make_data(settings)
        self.F_train = data.features(self.plane.X_train, settings.features)
        self.F_test = data.features(self.plane.X_test, settings.features)
        self.net = build_network(settings, self.plane)
        self.probe = self.net.clone()
        # compute_metrics is the trusted API: it takes data checked once, here.
        self._train_data = self.net.check_data(self.F_train, self.plane.y_train)[:2]
        self._test_data = self.net.check_data(self.F_test, self.plane.y_test)[:2]
        self.optimizer = build_optimizer(settings)
        self._publish_text = publish
        self.grid_points = self._grid(settings.resolution)
        self.F_grid = data.features(self.grid_points, settings.features)
        # The neurons' small pictures (36 px on the page) on a coarser grid: the largest
        # network's frame went from 336 to about 80 KB, and the page draws it 2x faster.
        self.neuron_resolution = min(settings.resolution, NEURON_RESOLUTION)
        self.F_neurons = data.features(self._grid(self.neuron_resolution), settings.features)
        self._bend_lines = self._lines()
        self._F_lines = data.features(self._bend_lines.reshape(-1, 2), settings.features)
        self.bend = None                  # (hidden layer, unit i, unit j) to draw, or None
        self.epoch = 0
        self.fit_loss = None              # the last epoch's loss as fit reports it
        self.status, self.message = "paused", ""
        self.curve: list[tuple[int, float | None, float | None]] = []
        self._lock = threading.Condition()
        self._playing = False
        self._steps = 0
        self._idle = True                 # the training thread waits between two epochs
        self._closing = False
        self._edits: list[tuple[int, str, tuple, float]] = []
        self._live: Settings | None = None    # settings to continue with (``change``)
        self.initial_settings = settings
        self._epoch_base = 0              # epochs trained by the fits before the current one
        #: the live changes made, ``(epoch, {field: value})``: the script notes them
        self.changes: list[tuple[int, dict]] = []
        #: the weights set by hand, ``(epoch, layer, "W" or "b", index, value)``, each after
        #: that many epochs: the script replays them
        self.edits: list[tuple[int, int, str, tuple, float]] = []
        self._thread = None
        self.last_order: np.ndarray | None = None   # the last epoch's order of the samples
        self._last_frame_time = 0.0
        self.frame = None
        with self._lock:
            self._publish()

    # ------------------------------------------------------------------ geometry
    def _grid(self, resolution) -> np.ndarray:
        """Grid points ``(resolution**2, 2)``, row-major from the top-left corner."""
        lo1, hi1, lo2, hi2 = self.plane.domain
        x1 = np.linspace(lo1, hi1, resolution)
        x2 = np.linspace(hi2, lo2, resolution)
        g1, g2 = np.meshgrid(x1, x2)
        return np.column_stack([g1.ravel(), g2.ravel()])

    def _lines(self, n_lines=13, n_points=41) -> np.ndarray:
        """The grid lines of the plane ``(2 * n_lines, n_points, 2)`` that the bend view
        draws through a hidden layer."""
        lo1, hi1, lo2, hi2 = self.plane.domain
        along = np.linspace(0, 1, n_points)
        across = np.linspace(0, 1, n_lines)
        vertical = [np.column_stack([np.full(n_points, lo1 + a * (hi1 - lo1)),
                                     lo2 + along * (hi2 - lo2)]) for a in across]
        horizontal = [np.column_stack([lo1 + along * (hi1 - lo1),
                                       np.full(n_points, lo2 + a * (hi2 - lo2))])
                      for a in across]
        return np.array(vertical + horizontal)

    def describe(self) -> dict:
        """What the page needs once per run: settings, points, domain, the input maps."""
        s = self.settings
        every = data.features(self.grid_points, list(data.FEATURES))   # lit or not
        feature_maps = [{"name": name, "map": _encode(col, np.abs(col).max())}
                        for name, col in zip(data.FEATURES, every.T)]
        return {"session": self.id, "settings": s.to_dict(), "task": self.plane.task,
                "n_classes": self.plane.n_classes, "domain": list(self.plane.domain),
                "resolution": s.resolution, "points": self.plane.points,
                "layers": [len(s.features), *s.hidden, self.net.output_dim],
                "activations": [s.activation_of(i) for i in range(len(s.hidden))] +
                               [self.net.dense_layers[-1].activation.name],
                "features": feature_maps, "loss": self.net.loss.name}

    # ------------------------------------------------------------------ frames
    def _frame(self) -> dict:
        """The picture of the weights in ``self.net`` now (called with the lock held)."""
        probe = self.probe
        np.copyto(probe.params, self.net.params)
        dense = probe.dense_layers
        out = _layer_outputs(probe, self.F_grid)[-1]
        hidden = _layer_outputs(probe, self.F_neurons)[:-1]
        task = self.plane.task
        if task == "regression":
            output = {"kind": "value", "map": _encode(out[:, 0], 1.0)}
        elif out.shape[1] == 1:
            output = {"kind": "binary", "map": _encode(2 * out[:, 0] - 1, 1.0)}
        else:
            confidence = out.max(axis=1)
            output = {"kind": "classes", "classes": base64.b64encode(
                out.argmax(axis=1).astype(np.uint8).tobytes()).decode("ascii"),
                "map": _encode(2 * confidence - 1, 1.0),
                "units": [_encode(2 * p - 1, 1.0) for p in out.T]}   # each class's P
        neurons = [[{"map": _encode(col, np.abs(col).max()),
                     "range": [_number(col.min()), _number(col.max())]} for col in H.T]
                   for H in hidden]
        train = probe.compute_metrics(*self._train_data)
        test = probe.compute_metrics(*self._test_data)
        frame = {"session": self.id, "epoch": self.epoch, "status": self.status,
                 "message": self.message, "train_loss": _number(train["loss"]),
                 "test_loss": _number(test["loss"]),
                 "fit_loss": None if self.fit_loss is None else _number(self.fit_loss),
                 "train_accuracy": train.get("accuracy"), "test_accuracy": test.get("accuracy"),
                 "learning_rate": self.optimizer.learning_rate,
                 "output": output, "neurons": neurons,
                 "weights": [np.round(layer.W, 5).tolist() for layer in dense],
                 "biases": [np.round(layer.b, 5).tolist() for layer in dense]}
        if self.bend is not None:
            frame["bend"] = self._bend_view(*self.bend)
        return frame

    def _bend_view(self, layer: int, i: int, j: int) -> dict:
        """The plane's grid lines and the training points drawn through hidden layer
        ``layer`` (0-based), as the coordinates of its units ``i`` and ``j``."""
        lines = self._bend_lines
        A = _layer_outputs(self.probe, self._F_lines, layer + 1)[-1]
        P = _layer_outputs(self.probe, self.F_train, layer + 1)[-1]
        lines_out = A[:, [i, j]].reshape(lines.shape[0], lines.shape[1], 2)
        return {"layer": layer, "units": [i, j],
                "lines": np.round(np.nan_to_num(lines_out), 4).tolist(),
                "points": np.round(np.nan_to_num(P[:, [i, j]]), 4).tolist()}

    def _publish(self) -> None:
        frame = self._frame()
        point = (self.epoch, frame["train_loss"], frame["test_loss"])
        if self.curve and self.curve[-1][0] == self.epoch:
            self.curve[-1] = point        # an edit or a view between epochs: one point each
        else:
            self.curve.append(point)
            if len(self.curve) > MAX_CURVE:
                # Bounded however long a run plays: every other point of the older half goes
                # (the recent epochs keep their detail; the plot's shape stays).
                half = len(self.curve) // 2
                self.curve = self.curve[:half:2] + self.curve[half:]
        self.frame = frame
        self._publish_text(json.dumps(frame))

    # ------------------------------------------------------------------ controls
    def play(self) -> None:
        with self._lock:
            self._refuse_if_stopped()
            self._playing, self.status = True, "playing"
            self._start()
            self._lock.notify_all()

    def pause(self) -> None:
        with self._lock:
            if self.status == "playing":
                self._playing, self.status = False, "paused"
                self._lock.notify_all()

    def step(self, epochs: int = 1) -> None:
        """Train ``epochs`` more epochs, then pause (a frame at the end)."""
        with self._lock:
            self._refuse_if_stopped()
            self._playing, self.status = False, "paused"
            self._steps += int(epochs)
            self._start()
            self._lock.notify_all()

    def change(self, settings: Settings) -> None:
        """Continue this run with ``settings``, which differ from its own only in ``LIVE``
        fields (the learning rate, the optimizer and its schedule, the regularisation): the
        weights stay, and training goes on as ``net.fit`` called again with the new
        optimizer or penalty would, from the next epoch."""
        changed = live_change(self.settings, settings)
        if changed is None:
            raise ValueError("only the learning rate, optimizer, schedule and regularisation "
                             "change a run in place; other settings start a new run")
        with self._lock:
            self._refuse_if_stopped()
            if self._thread is None:          # nothing trained yet: simply the new settings
                self.changes.append((self.epoch, changed))
                self.settings, self.optimizer = settings, build_optimizer(settings)
                self._publish()
            else:
                self._live = settings         # the training thread takes it between epochs
                self._lock.notify_all()
                deadline = time.monotonic() + 30
                while self._live is not None and self.status in ("paused", "playing") and \
                        time.monotonic() < deadline:
                    self._lock.wait(1)        # taken at the end of the epoch under way

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        """Block until the run is paused between two epochs, the steps asked for done (for
        tests and scripts); False if that takes longer than ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.status in ("paused", "playing") and (
                    self._steps or self._playing or self._edits or not self._idle):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    def edit(self, layer: int, name: str, row: int, column: int = 0, value: float = 0.0):
        """Set one weight ``W[row, column]`` (or bias ``b[row]``) of Dense layer ``layer``
        (0-based) between two epochs."""
        dense = self.net.dense_layers
        if not 0 <= layer < len(dense):
            raise ValueError(f"layer must be in 0..{len(dense) - 1}; got {layer}")
        if name not in ("W", "b"):
            raise ValueError(f"name must be 'W' or 'b'; got {name!r}")
        shape = getattr(dense[layer], name).shape
        index = (row, column) if name == "W" else (row,)
        if any(not 0 <= k < n for k, n in zip(index, shape)):
            raise ValueError(f"{name}{layer + 1} has shape {shape}; index {index} is outside")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"a weight must be a finite number; got {value}")
        with self._lock:
            self._edits.append((layer, name, index, value))
            if self._thread is None or not self._thread.is_alive():
                self._apply_edits()
                self._publish()
            else:                        # the training thread takes it between two epochs
                self._lock.notify_all()

    def edit_log(self) -> list[tuple[int, int, str, tuple, float]]:
        """A copy of ``edits``, the weights set by hand so far (for ``train.py``)."""
        with self._lock:
            return list(self.edits)

    def _apply_edits(self) -> None:
        """Set the weights edited since the last epoch (under the lock), and note them."""
        dense = self.net.dense_layers
        for layer, name, index, value in self._edits:
            getattr(dense[layer], name)[index] = value
            self.edits.append((self.epoch, layer, name, tuple(int(k) for k in index), value))
        self._edits.clear()

    def set_bend(self, view) -> None:
        """Draw the plane through ``(layer, i, j)``, or stop (None)."""
        if view is not None:
            layer, i, j = (int(v) for v in view)
            hidden = self.settings.hidden
            if not 0 <= layer < len(hidden) or not (0 <= i < hidden[layer]
                                                    and 0 <= j < hidden[layer]):
                raise ValueError(f"no units {i} and {j} in hidden layer {layer}; the hidden "
                                 f"layers have {list(hidden)} units")
            view = (layer, i, j)
        with self._lock:
            self.bend = view
            self._publish()

    def close(self) -> None:
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _refuse_if_stopped(self):
        if self.status == "diverged":
            raise ValueError("this run diverged; reset it, or lower the learning rate")
        if self.status == "error":
            raise ValueError(f"{self.message}; reset the run")
        if self._closing:
            raise ValueError("this run was closed")

    # ------------------------------------------------------------------ training thread
    def _start(self):
        if self._thread is None:
            self._idle = False
            self._thread = threading.Thread(target=self._train, name=f"playground-{self.id}",
                                            daemon=True)
            self._thread.start()

    def _train(self):
        try:
            while True:
                self.net.fit(self.F_train, self.plane.y_train, self.optimizer,
                             epochs=MAX_EPOCHS, callbacks=[_Gate(self)], engine="layered",
                             shuffle=self._shuffle, **fit_arguments(self.settings))
                with self._lock:
                    if self._live is None or self._closing:
                        return
                    # The gate ended that fit for new settings: the next fit continues.
                    kept = self.optimizer if _same_optimizer(self._live, self.settings) \
                        else None
                    self.changes.append((self.epoch, live_change(self.settings, self._live)))
                    self.settings, self._live = self._live, None
                    self.optimizer = kept or build_optimizer(self.settings)
                    if kept is not None:      # the same update, its state kept: a new rate
                        kept.schedule = build_optimizer(self.settings).schedule
                    self._epoch_base = self.epoch
                    self._publish()
                    self._lock.notify_all()   # change() waits for this
                    # A paused run waits here, as between two epochs: the next fit trains
                    # only when asked.
                    self._idle = True
                    while not (self._closing or self._playing or self._steps or self._live):
                        self._lock.notify_all()
                        self._lock.wait()
                        if self._edits:       # before the next fit, as between two epochs
                            self._apply_edits()
                            self._publish()
                    self._idle = False
                    if self._closing:
                        return
        except DivergenceError as error:
            self._stop("diverged", str(error))
        except Exception as error:       # the page shows it; the server goes on
            self._stop("error", f"training stopped: {type(error).__name__}: {error}")

    def _shuffle(self, n: int) -> np.ndarray:
        """Each epoch's order, drawn as fit draws it by default (the network's shuffle
        stream), and kept: the formula shows the gradient of the batch a sample was really in."""
        order = self.net.shuffle_rng.permutation(n)
        self.last_order = order
        return order

    def _stop(self, status: str, message: str) -> None:
        with self._lock:
            self._playing, self._steps = False, 0
            self.status, self.message = status, message
            self._publish()
            self._lock.notify_all()

    # ------------------------------------------------------------------ questions
    def neuron(self, layer: int, unit: int, sample: int = 0) -> dict:
        """Dense layer ``layer`` (0-based)'s unit ``unit`` on training sample ``sample``:
        its formula with the live numbers, and the backward quantities of its batch."""
        with self._lock:
            params = self.probe.params.copy()
            epoch = self.epoch
        dense = self.probe.dense_layers
        if not 0 <= layer < len(dense):
            raise ValueError(f"layer must be in 0..{len(dense) - 1}; got {layer}")
        if not 0 <= unit < dense[layer].units:
            raise ValueError(f"layer {layer} has {dense[layer].units} units; got unit {unit}")
        n = len(self.F_train)
        if not 0 <= sample < n:
            raise ValueError(f"sample must be in 0..{n - 1}; got {sample}")
        size = self.settings.batch_size or n
        # The batch the sample was trained in during the last epoch (the epoch's shuffled
        # order); before any epoch, the rows its first batch would hold unshuffled.
        with self._lock:
            order = self.last_order
        if order is None:
            rows, where = np.arange((sample // size) * size, min(n, (sample // size + 1) *
                                                                   size)), "before training"
        else:
            position = int(np.flatnonzero(order == sample)[0])
            rows = order[(position // size) * size:(position // size + 1) * size]
            where = f"in epoch {epoch}"
        net = self.net.clone()       # never the weights being trained
        np.copyto(net.params, params)
        report = explain(net, self.F_train[rows], self.plane.y_train[rows], samples=size)
        values = {step.equation.split(" = ")[0]: step.value for step in report.steps}
        k, r = layer + 1, int(np.flatnonzero(rows == sample)[0])
        names = (list(self.settings.features) if layer == 0 else
                 [f"h{layer}_{i + 1}" for i in range(dense[layer - 1].units)])
        a_prev = values[f"A{k - 1}"][r] if k > 1 else self.F_train[sample]
        W, b = dense[layer].W[:, unit], float(dense[layer].b[unit])
        z, a = float(values[f"Z{k}"][r, unit]), float(values[f"A{k}"][r, unit])
        terms = " + ".join(f"{w:.4g}*{name}({x:.4g})" for w, name, x in zip(W, names, a_prev))
        act = dense[layer].activation.name
        result = {"layer": layer, "unit": unit, "sample": sample, "epoch": epoch,
                  "activation": act, "inputs": names, "a_prev": a_prev.tolist(),
                  "w": W.tolist(), "b": b, "z": z, "a": a,
                  "formula": f"z = {terms} + b({b:.4g}) = {z:.4g}",
                  "activation_formula": f"a = {act}(z) = {a:.4g}",
                  "batch": rows.tolist()}
        if f"dZ{k}" in values:
            dW = values[f"dW{k}"][:, unit]
            result |= {"dZ": float(values[f"dZ{k}"][r, unit]), "dW": dW.tolist(),
                       "db": float(values[f"db{k}"][unit]),
                       "update": self._update(W, b, dW, float(values[f"db{k}"][unit]),
                                              len(rows)),
                       "backward": f"dZ = {float(values[f'dZ{k}'][r, unit]):.4g} for this "
                                   f"sample; dW = [{', '.join(f'{g:.3g}' for g in dW)}], "
                                   f"db = {float(values[f'db{k}'][unit]):.4g} over its "
                                   f"batch {where}: samples {_rows_text(rows)}"}
        return result

    def _update(self, W, b, dW, db, n_batch) -> dict:
        """One step of plain gradient descent on this neuron from its batch's gradient:
        ``W - lr (dW + penalty)``, the penalty's gradient as ``fit`` adds it (``l2 W / n``,
        ``l1 sign(W) / n`` over the batch's ``n`` rows; none on the bias). Momentum and Adam
        rescale that step with their running averages (``optimizer`` names which ran)."""
        with self._lock:
            settings, rate = self.settings, float(self.optimizer.learning_rate)
        penalty = np.zeros_like(W)
        if settings.regularization == "l2":
            penalty = settings.reg_rate * W / n_batch
        elif settings.regularization == "l1":
            penalty = settings.reg_rate * np.sign(W) / n_batch
        gradient = np.asarray(dW) + penalty
        return {"learning_rate": rate, "optimizer": settings.optimizer,
                "penalty": penalty.tolist(), "gradient": gradient.tolist(),
                "W_next": (W - rate * gradient).tolist(), "b_next": b - rate * db}

    def snapshot(self) -> Network:
        """A copy of the network with the weights of the last frame (for export)."""
        with self._lock:
            net = self.net.clone()
            np.copyto(net.params, self.probe.params)
            return net


class _Gate(Callback):
    """The callback between two epochs: record, apply edits, publish, and wait while paused."""

    reads_weights = True      # it publishes the weights, and edits them

    def __init__(self, session: Session):
        self.session = session

    def on_epoch_end(self, epoch, logs, net, history):
        s = self.session
        with s._lock:
            s.epoch, s.fit_loss = s._epoch_base + epoch + 1, logs["loss"]
            if s._steps:
                s._steps -= 1
            due = not s._playing and not s._steps or \
                s.epoch % s.settings.epochs_per_frame == 0
            s._apply_edits()
            if due:
                s._publish()
                s._lock.notify_all()
            s._idle = True
            while not s._closing and not s._playing and not s._steps and s._live is None:
                s._lock.notify_all()
                s._lock.wait()
                if s._edits:
                    s._apply_edits()
                    s._publish()
            s._idle = False
            if s._closing or s._live is not None:
                return True               # closing, or continuing with new settings
            pause = due and s._playing
        if pause:
            # Pace the pictures: a frame at most every FRAME_INTERVAL seconds.
            wait = s._last_frame_time + FRAME_INTERVAL - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            s._last_frame_time = time.monotonic()
        return None

