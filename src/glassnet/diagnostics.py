"""Training diagnostics: a callback that watches each layer and warns, once and clearly, when
training goes wrong in one of the ways the field knows by name.

After each epoch ``Diagnostics`` reads the weights and the last step's gradient (``net.grads``,
the same on every engine) and, if given probe samples, the activations on them:

- **dead ReLU units**: more than ``dead_fraction`` of a relu layer's units output 0 for every
  probe sample (without probes: receive exactly no gradient in the last step);
- **vanishing gradients**: a layer's relative gradient ``|dW| / |W|`` is ``vanishing_ratio``
  times smaller than the largest layer's;
- **exploding gradients**: a gradient norm is not finite or has grown ``exploding_growth``
  times since the first epoch;
- **a learning rate that is too large**: a step's update ``learning_rate x |dW|`` exceeds
  ``max_update_ratio`` of ``|W|`` (about 1e-3 is healthy for gradient descent), or the loss
  has risen for ``rising_epochs`` epochs in a row.

Each warning (a ``TrainingWarning``) names the layer, the number and a fix, and is given once
per kind (dead units and vanishing gradients: per layer). ``diagnostics.findings`` keeps them.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_number, check_positive_int, warn_user
from .callbacks import Callback

__all__ = ["Diagnostics", "TrainingWarning"]


class TrainingWarning(UserWarning):
    """A training run that works but is going wrong (dead units, vanishing gradients...)."""


class Diagnostics(Callback):
    def __init__(self, X_probe=None, *, every: int = 1, dead_fraction: float = 0.5,
                 vanishing_ratio: float = 1e-4, exploding_growth: float = 1e3,
                 max_update_ratio: float = 0.1, rising_epochs: int = 5):
        self.X_probe = None if X_probe is None else np.asarray(X_probe)
        self.every = check_positive_int(every, "every")
        self.dead_fraction = check_number(dead_fraction, "dead_fraction", 0.0, True, 1.0, True)
        self.vanishing_ratio = check_number(vanishing_ratio, "vanishing_ratio", 0.0, False)
        self.exploding_growth = check_number(exploding_growth, "exploding_growth", 1.0, False)
        self.max_update_ratio = check_number(max_update_ratio, "max_update_ratio", 0.0, False)
        self.rising_epochs = check_positive_int(rising_epochs, "rising_epochs")
        self.findings: list[str] = []

    def on_train_begin(self, net, history):
        self._said, self._first_norms, self._rising, self._last_loss = set(), None, 0, None
        self.findings = []
        if self.X_probe is not None:
            self._probe = net.check_input(self.X_probe)

    def _warn(self, key, message):
        if key in self._said:
            return
        self._said.add(key)
        self.findings.append(message)
        warn_user(message, TrainingWarning)

    def on_epoch_end(self, epoch, logs, net, history):
        loss = logs.get("loss")
        if loss is not None and self._last_loss is not None:
            self._rising = self._rising + 1 if loss > self._last_loss else 0
            if self._rising >= self.rising_epochs:
                self._warn("rising", f"the training loss has risen for {self._rising} epochs "
                           f"in a row (epoch {epoch}: {loss:.4g}): the learning rate "
                           f"({logs.get('learning_rate', float('nan')):g}) is probably too "
                           "large; try a tenth of it")
        self._last_loss = loss
        if epoch % self.every:
            return False
        rate = logs.get("learning_rate")
        layers = [(i, number, layer) for number, (i, layer) in enumerate(
            ((i, layer) for i, layer in enumerate(net.layers) if hasattr(layer, "W")), start=1)]
        norms, relative = [], []
        for _, number, layer in layers:
            w, g = float(np.linalg.norm(layer.W)), float(np.linalg.norm(layer.dW))
            norms.append(g)
            relative.append(g / w if w > 0 else math.inf)
            name = f"layer {number} ({layer!r})"
            if not math.isfinite(g):
                self._warn("exploding", f"exploding gradients: {name} has a "
                           f"non-finite gradient at epoch {epoch}; lower the learning rate, "
                           "clip the gradient (clip_norm=1.0) or scale the inputs")
            elif rate is not None and w > 0 and rate * g / w > self.max_update_ratio:
                self._warn("rate", f"learning rate too large: at epoch {epoch} a "
                           f"step moves {name}'s weights by {rate * g / w:.2g} of their norm "
                           f"(about 1e-3 is healthy); try learning_rate={rate / 10:g}")
            if layer.activation.name == "relu":
                self._check_dead(net, epoch, number, layer, name)
        if self._first_norms is None:
            self._first_norms = norms
        else:
            for (_, number, layer), first, now in zip(layers, self._first_norms, norms):
                if first > 0 and math.isfinite(now) and now > self.exploding_growth * first:
                    self._warn("exploding", f"exploding gradients: layer {number} "
                               f"({layer!r})'s gradient norm grew {now / first:.3g}x since the "
                               "first epoch; lower the learning rate or clip the gradient "
                               "(clip_norm=1.0)")
        finite = [r for r in relative if math.isfinite(r)]
        if len(finite) > 1 and max(finite) > 0:
            for (_, number, layer), r in zip(layers, relative):
                if math.isfinite(r) and r < self.vanishing_ratio * max(finite):
                    self._warn(("vanishing", number), f"vanishing gradients: layer {number} "
                               f"({layer!r}) gets a relative gradient |dW|/|W| of {r:.2g}, "
                               f"{max(finite) / max(r, 1e-300):.2g}x smaller than the largest "
                               "layer's; use relu-like activations with he_normal "
                               "initialisation, fewer layers, or Adam")
        return False

    def _check_dead(self, net, epoch, number, layer, name):
        if self.X_probe is not None:
            A = self._probe
            for candidate in net.layers:
                if hasattr(candidate, "W"):
                    A = candidate.activation.forward(A @ candidate.W + candidate.b)
                    if candidate is layer:
                        break
            dead = (A <= 0).all(axis=0)
            how = "output 0 for every probe sample"
        else:
            dead = (layer.dW == 0).all(axis=0) & (layer.db == 0)
            how = "received no gradient in the last step"
        fraction = float(dead.mean())
        if fraction > self.dead_fraction:
            self._warn(("dead", number), f"dead ReLU units: {fraction:.0%} of {name}'s units "
                       f"{how} (epoch {epoch}); they no longer learn. Lower the learning rate, "
                       "use leaky_relu or elu, or he_normal initialisation")
