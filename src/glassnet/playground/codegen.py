"""The Python script that trains, with glassnet alone, the network a playground run shows."""

from __future__ import annotations

import dataclasses

from .session import DECAY_EPOCHS
from .settings import Settings

__all__ = ["training_script"]


def _optimizer(s: Settings) -> str:
    return (f"recipe.build_optimizer({s.optimizer!r}, {s.learning_rate!r}, schedule="
            f"{s.schedule!r},\n                                   epochs={DECAY_EPOCHS}, "
            f"step_size={DECAY_EPOCHS})")


def _penalty(s: Settings) -> str:
    rate = s.reg_rate if s.regularization != "none" else 0.0
    return f", {s.regularization}={rate!r}" if rate else ""


def _fit(start: int, end: int, s: Settings, edits) -> str:
    """The fit of epochs ``start`` to ``end``; the hand edits inside it come from a callback
    after their epoch, on the layered engine (which trains from the network's own weights),
    as the playground applied them."""
    batch = s.batch_size or None
    inside = any(start < epoch <= end for epoch, *_ in edits)
    extra = f", callbacks=[HandEdits({start})], engine=\"layered\"" if inside else ""
    return (f"net.fit(X_train, plane.y_train, optimizer, epochs={end - start}, "
            f"batch_size={batch!r}{_penalty(s)}{extra})")


def _hand_edits(edits) -> str:
    """The weights set by hand, and the callback that sets them again after their epoch."""
    if not edits:
        return ""
    by_epoch: dict[int, list] = {}
    for epoch, layer, name, index, value in edits:
        by_epoch.setdefault(epoch, []).append((layer, name, tuple(index), value))
    table = ",\n    ".join(f"{epoch}: {entries!r}" for epoch, entries in by_epoch.items())
    return f'''
# The weights set by hand on the page: after that many epochs, (layer, "W" or "b", index,
# value), the layer counted from 0.
HAND_EDITS = {{
    {table},
}}


def set_by_hand(net, epoch):
    for layer, name, index, value in HAND_EDITS.get(epoch, ()):
        getattr(net.dense_layers[layer], name)[index] = value


class HandEdits(gn.callbacks.Callback):
    """Sets the weights the page's user set, after the epoch they were set in."""

    reads_weights = True

    def __init__(self, done):
        self.done = done                    # the epochs trained before this fit

    def on_epoch_end(self, epoch, logs, net, history):
        set_by_hand(net, self.done + epoch + 1)
'''


def _training(settings: Settings, epochs: int, changes, edits=()) -> str:
    """The fits that replay the run: one per span between the live changes the page made
    (a new rate keeps the optimizer and its state, a new optimizer starts afresh), as the
    playground continued after each; weights set by hand before any epoch first."""
    lines, start, s = [], 0, settings
    if any(epoch == 0 for epoch, *_ in edits):
        lines.append("set_by_hand(net, 0)")
    for epoch, changed in changes:
        if epoch > start:
            lines.append(_fit(start, epoch, s, edits))
        new = dataclasses.replace(s, **changed)
        lines.append(f"# epoch {epoch}: " + ", ".join(f"{k} -> {v!r}"
                                                       for k, v in changed.items()))
        if new.optimizer == s.optimizer:
            lines.append(f"optimizer.schedule = {_optimizer(new)}.schedule")
        else:
            lines.append(f"optimizer = {_optimizer(new)}")
        start, s = epoch, new
    if epochs > start or not lines:
        lines.append(_fit(start, epochs, s, edits))
    return "\n".join(lines)


def training_script(settings: Settings, epochs: int, changes=(), edits=()) -> str:
    """A script that rebuilds the data, trains ``epochs`` epochs and saves the model; its
    weights equal the playground's after as many epochs. ``settings``: the run's first
    settings; ``changes``: the live changes made since, ``(epoch, {field: value})``
    (``Session.changes``); ``edits``: the weights set by hand, ``(epoch, layer, name, index,
    value)`` (``Session.edits``)."""
    s = settings
    if s.dataset == "custom":
        rows = ",\n    ".join(repr(list(row)) for row in s.custom)
        data = (f"rows = np.array([\n    {rows},\n])\n"
                "X, y, task, domain = data.from_rows(rows)\n"
                f"plane = data.split(X, y, {s.train_percent}, {s.data_seed}, task, domain)")
    else:
        data = (f"X, y = data.generate({s.dataset!r}, {s.n_samples}, noise={s.noise}, "
                f"seed={s.data_seed})\n"
                f"plane = data.split(X, y, {s.train_percent}, {s.data_seed}, "
                f"{s.task!r})")
    activations = [s.activation_of(i) for i in range(len(s.hidden))]
    return f'''"""Train the glassnet playground's network with glassnet alone.

Data set {s.dataset!r}, features {list(s.features)}, hidden layers {list(s.hidden)},
{s.optimizer} at learning rate {s.learning_rate} ({s.schedule}), {epochs} epochs.
"""
import numpy as np

import glassnet as gn
from glassnet import recipe
from glassnet.playground import data

{data}
features = {list(s.features)!r}
X_train = data.features(plane.X_train, features)
X_test = data.features(plane.X_test, features)

# The output layer and loss follow the task, as in every glassnet front door.
output = recipe.output_layer(plane.task, plane.n_classes, head={s.head!r})
net = recipe.build_network({list(s.hidden)!r}, {activations!r}, output,
                           input_dim=len(features), dropout={s.dropout!r}, seed={s.seed})
optimizer = {_optimizer(s)}
{_hand_edits(edits)}
{_training(s, epochs, changes, edits)}
print("train", net.evaluate(X_train, plane.y_train))
print("test ", net.evaluate(X_test, plane.y_test))
gn.save(net, "playground.safetensors", metadata={{"features": features}})
'''
