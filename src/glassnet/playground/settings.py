"""What the page controls: one ``Settings`` value, checked field by field.

The page keeps the settings in its URL (``#dataset=spiral&hidden=8,8&...``) and sends them as
a JSON object; ``Settings.from_dict`` takes either form (strings from a URL are converted) and
names the field and the values it accepts when one is wrong, before any work.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from .data import CLASSIFICATION, DATASETS, FEATURES, REGRESSION, from_rows

__all__ = ["Settings", "ACTIVATIONS", "OPTIMIZERS", "SCHEDULES", "REGULARIZATIONS",
           "MAX_LAYERS", "MAX_UNITS"]

ACTIVATIONS = ("relu", "tanh", "sigmoid", "identity", "leaky_relu", "elu", "gelu", "silu")
OPTIMIZERS = ("sgd", "momentum", "adam")
SCHEDULES = ("constant", "cosine", "step")
REGULARIZATIONS = ("none", "l1", "l2")
HEADS = ("sigmoid", "softmax")
MAX_LAYERS = 6
MAX_UNITS = 16
MAX_SAMPLES = 2000


@dataclass(frozen=True)
class Settings:
    """Everything that defines a playground run; equal settings train equal networks."""

    dataset: str = "circle"              # a name in data.DATASETS, or "custom" (uploaded)
    noise: int = 0                       # percent, 0..50
    train_percent: int = 50              # train:test ratio, 10..90
    n_samples: int = 500
    data_seed: int = 0                   # "regenerate" draws the next one
    batch_size: int = 10                 # 0: the whole training set
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (4, 2)     # units per hidden layer
    activation: str = "tanh"             # for every hidden layer without its own
    layer_activations: tuple[str, ...] = ()   # per hidden layer; "" keeps `activation`
    head: str = "sigmoid"                # classification: sigmoid (2 classes) or softmax
    learning_rate: float = 0.03
    optimizer: str = "sgd"
    schedule: str = "constant"
    regularization: str = "none"
    reg_rate: float = 0.0
    dropout: float = 0.0                 # after each hidden layer
    seed: int = 0                        # the weights' draw (and the shuffles, dropout)
    epochs_per_frame: int = 1            # the speed: epochs between two pictures
    resolution: int = 80                 # the boundary's grid is resolution x resolution
    custom: tuple = field(default=(), compare=True, repr=False)   # rows of an uploaded CSV

    # ------------------------------------------------------------------ derived
    @property
    def task(self) -> str:
        if self.dataset == "custom":
            return from_rows(np.asarray(self.custom, dtype=float))[2]
        return "regression" if self.dataset in REGRESSION else "classification"

    def activation_of(self, i: int) -> str:
        own = self.layer_activations[i] if i < len(self.layer_activations) else ""
        return own or self.activation

    def to_dict(self, with_custom: bool = False) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}
        if not with_custom:
            out.pop("custom")
        return out

    # ------------------------------------------------------------------ parsing
    @classmethod
    def from_dict(cls, values: dict, base: Settings | None = None) -> Settings:
        """``base`` (default: the defaults) with ``values`` replaced, every field checked."""
        if not isinstance(values, dict):
            raise ValueError("settings must be a JSON object of field: value")
        base = cls() if base is None else base
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown setting {unknown[0]!r}; valid settings are: "
                             f"{', '.join(known)}")
        changes = {name: _convert(name, value, known[name].default)
                   for name, value in values.items()}
        settings = dataclasses.replace(base, **changes)
        settings._check()
        return settings

    def _check(self) -> None:
        def need(ok, message):
            if not ok:
                raise ValueError(message)

        names = ", ".join([*DATASETS, "custom"])
        need(self.dataset in DATASETS or self.dataset == "custom",
             f"dataset must be one of {names}; got {self.dataset!r}")
        need(self.dataset != "custom" or len(self.custom) >= 4,
             "dataset 'custom' needs an uploaded CSV of x1, x2, label with 4 rows or more")
        need(0 <= self.noise <= 50, f"noise must be a percentage in 0..50; got {self.noise}")
        need(10 <= self.train_percent <= 90,
             f"train_percent must be in 10..90; got {self.train_percent}")
        need(10 <= self.n_samples <= MAX_SAMPLES,
             f"n_samples must be in 10..{MAX_SAMPLES}; got {self.n_samples}")
        need(self.batch_size >= 0, f"batch_size must be >= 0 (0: full batch); got "
             f"{self.batch_size}")
        need(len(self.features) >= 1 and len(set(self.features)) == len(self.features)
             and all(f in FEATURES for f in self.features),
             f"features must be one or more distinct names among {', '.join(FEATURES)}; "
             f"got {list(self.features)}")
        need(len(self.hidden) <= MAX_LAYERS and all(1 <= u <= MAX_UNITS for u in self.hidden),
             f"hidden must list at most {MAX_LAYERS} layers of 1..{MAX_UNITS} units; got "
             f"{list(self.hidden)}")
        need(self.activation in ACTIVATIONS,
             f"activation must be one of {', '.join(ACTIVATIONS)}; got {self.activation!r}")
        for name in self.layer_activations:
            need(name in ACTIVATIONS or name == "",
                 f"layer_activations must name {', '.join(ACTIVATIONS)} (or '' for the "
                 f"default); got {name!r}")
        need(len(self.layer_activations) <= len(self.hidden),
             "layer_activations has more entries than there are hidden layers")
        need(self.head in HEADS, f"head must be one of {', '.join(HEADS)}; got {self.head!r}")
        need(math.isfinite(self.learning_rate) and 0 < self.learning_rate <= 10,
             f"learning_rate must be in (0, 10]; got {self.learning_rate}")
        need(self.optimizer in OPTIMIZERS,
             f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {self.optimizer!r}")
        need(self.schedule in SCHEDULES,
             f"schedule must be one of {', '.join(SCHEDULES)}; got {self.schedule!r}")
        need(self.regularization in REGULARIZATIONS,
             f"regularization must be one of {', '.join(REGULARIZATIONS)}; got "
             f"{self.regularization!r}")
        need(math.isfinite(self.reg_rate) and 0 <= self.reg_rate <= 10,
             f"reg_rate must be in [0, 10]; got {self.reg_rate}")
        need(0 <= self.dropout < 1, f"dropout must be in [0, 1); got {self.dropout}")
        need(1 <= self.epochs_per_frame <= 1000,
             f"epochs_per_frame must be in 1..1000; got {self.epochs_per_frame}")
        need(10 <= self.resolution <= 200,
             f"resolution must be in 10..200; got {self.resolution}")
        need(self.seed >= 0 and self.data_seed >= 0, "seed and data_seed must be >= 0")
        if self.dataset in CLASSIFICATION or self.dataset == "custom":
            need(self.head == "softmax" or self.dataset != "blobs",
                 "the blobs data set has 3 classes: use head 'softmax'")


def _convert(name, value, default):
    """``value`` as the type of the field's ``default``; a URL gives strings."""
    try:
        if name == "custom":
            rows = [[float(v) for v in row] for row in value]
            if any(len(row) != 3 for row in rows):
                raise ValueError
            if not all(math.isfinite(v) for row in rows for v in row):
                raise ValueError
            if len(rows) > MAX_SAMPLES:
                raise OverflowError
            return tuple(tuple(row) for row in rows)
        if isinstance(default, tuple):
            items = value.split(",") if isinstance(value, str) else list(value)
            items = [s.strip() if isinstance(s, str) else s for s in items]
            items = [s for s in items if s != ""] if name != "layer_activations" else items
            if name == "hidden":
                return tuple(_integer(v) for v in items)
            if name == "layer_activations":
                # Trailing "" entries keep the shared activation: ("tanh", "") is ("tanh",),
                # and an empty list in a URL ("layer_activations=") is no entry at all.
                while items and items[-1] == "":
                    items.pop()
            return tuple(str(v) for v in items)
        if isinstance(default, bool):
            raise TypeError
        if isinstance(default, int):
            return _integer(value)
        if isinstance(default, float):
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if not isinstance(value, str):
            raise TypeError
        return value
    except OverflowError:
        raise ValueError(f"{name}: at most {MAX_SAMPLES} rows") from None
    except (TypeError, ValueError):
        kind = {"custom": "rows of three numbers (x1, x2, label)",
                "hidden": "a list of integers such as 8,8",
                "features": "a list of feature names such as x1,x2"}.get(
            name, type(default).__name__)
        raise ValueError(f"{name} must be {kind}; got {value!r}") from None


def _integer(value) -> int:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError
        return int(value)
    return int(value)

