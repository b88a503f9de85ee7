"""The Python script that trains, with glassnet alone, the network a playground run shows."""

from __future__ import annotations

from .session import DECAY_EPOCHS
from .settings import Settings

__all__ = ["training_script"]


def _optimizer(s: Settings) -> str:
    return (f"recipe.build_optimizer({s.optimizer!r}, {s.learning_rate!r}, schedule="
            f"{s.schedule!r},\n                                   epochs={DECAY_EPOCHS}, "
            f"step_size={DECAY_EPOCHS})")


def training_script(settings: Settings, epochs: int) -> str:
    """A script that rebuilds the data, trains ``epochs`` epochs and saves the model; its
    weights equal the playground's after as many epochs (when no weight was edited by hand)."""
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
    rate = s.reg_rate if s.regularization != "none" else 0.0
    penalty = f", {s.regularization}={rate!r}" if rate else ""
    batch = s.batch_size or None
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
history = net.fit(X_train, plane.y_train, optimizer, epochs={epochs},
                  batch_size={batch!r}{penalty})
print("train", net.evaluate(X_train, plane.y_train))
print("test ", net.evaluate(X_test, plane.y_test))
gn.save(net, "playground.safetensors", metadata={{"features": features}})
'''
