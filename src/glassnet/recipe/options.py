"""``TrainOptions``: every option of a training run, declared once and checked once.

Like scikit-learn's ``_parameter_constraints``: each field has one rule in ``CONSTRAINTS``, and
``TrainOptions.from_mapping`` checks all of them before any data is read, naming the option, the
value and what it accepts. The command, its ``--config`` TOML files and ``tune``'s trials build
their options here; the defaults below are the command's.

Why these defaults (the ecosystem's, and what learns on the built-in sets, the cat photos and
real tables; ``bench/tables.py`` measures them against scikit-learn): one hidden layer of 100
units, Adam at 1e-3 and mini-batches of ``min(200, n)`` (scikit-learn's MLP; Keras' Adam), a
cap of 300 epochs, and a stop that depends on the data's size:

- ``validation_split="auto"`` holds out 10 % only when that is at least 100 rows; then training
  stops when the validation loss has not improved for the patience, and keeps the best
  weights. A smaller split measures noise: on the cat photos (21 validation images) the epoch
  it chose scored 0.34 to 0.68 on the test split over four seeds.
- ``early_stopping="auto"``: with a validation split, a patience of 20 epochs or 500
  optimizer steps, whichever is longer (counted in epochs alone, a table of a few hundred rows,
  one or two steps an epoch, stopped on its validation noise before it had learnt); without
  one, scikit-learn's rule on the training loss (no improvement by 1e-4 for 10 epochs).
- Not 1000 epochs: small tables overfit (diabetes R^2 0.18 at 1000 epochs, 0.30 at 200-300),
  and the extra epochs cost time scikit-learn's pipeline does not spend. Not two layers of 16:
  on tables one wide layer scored higher (anes96 0.905 against 0.899, star98 R^2 0.61 against
  0.55). A deep problem such as spirals wants more (0.79 test accuracy over seeds 0-4 with
  the default layer; ``--layers 100,100`` for more).
- ``init="auto"``: tables start from scikit-learn's and Keras' Glorot uniform weights, images
  from the tutorial's ``randn / sqrt(fan_in)`` (LeCun normal). He's normal (the ReLU layer's own
  default) is twice LeCun's variance: over the same seeds it scored lower on both (star98 R^2
  0.49 against Glorot's 0.53 over 30 seeds, penguins' body mass 0.842 against 0.859; the cat
  photos 0.68 against LeCun's 0.74 over 5 seeds, two of them under 0.70; spirals 0.63
  against Glorot's 0.79; moons, circles, xor and blobs the same within 0.003).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import numbers
from dataclasses import dataclass

from .columns import SCALES
from .targets import TASKS

__all__ = ["TrainOptions", "CONSTRAINTS", "SCHEDULES", "INITS", "parse_layers"]

SCHEDULES = ("none", "cosine", "step", "exponential")
#: the fewest validation rows "auto" holds out: fewer measure noise, not the model
MIN_VALIDATION = 100
_OPTIMIZERS = ("adam", "sgd", "gd", "rmsprop", "adamw")
INITS = ("glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal")
#: what ``init="auto"`` means for a table and for images (see above)
AUTO_INIT = {"table": "glorot_uniform", "images": "lecun_normal"}


def parse_layers(text) -> tuple[int, ...]:
    """``"10,5"`` (or a list of ints) as ``(10, 5)``; ``""`` is no hidden layer. An empty part
    (``"10,,5"``), a non-integer or a size below 1 is an error."""
    if isinstance(text, (list, tuple)):
        parts = list(text)
    else:
        text = str(text).strip()
        parts = [p.strip() for p in text.split(",")] if text else []
    sizes = []
    for part in parts:
        try:
            size = int(part) if not isinstance(part, float) else None
        except (TypeError, ValueError):
            size = None
        if size is None or isinstance(part, bool) or size < 1:
            raise ValueError(f"layers must be positive integers separated by commas, like "
                             f"10,5; got {text!r}")
        sizes.append(size)
    return tuple(sizes)


class _Range:
    """A number in a range: ``kind`` int or float; ``low``/``high`` bounds (inclusive unless
    named in ``open``)."""

    def __init__(self, kind, low=None, high=None, open=(), note=""):  # noqa: A002
        self.kind, self.low, self.high, self.open, self.note = kind, low, high, open, note

    def check(self, name, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
                (self.kind is int and not float(value).is_integer()) or \
                not math.isfinite(value):
            raise ValueError(f"{name} must be {self.describe()}; got {value!r}")
        value = self.kind(value)
        below = self.low is not None and (value <= self.low if "low" in self.open
                                          else value < self.low)
        above = self.high is not None and (value >= self.high if "high" in self.open
                                           else value > self.high)
        if below or above:
            raise ValueError(f"{name} must be {self.describe()}; got {value!r}")
        return value

    def describe(self):
        lo = "(" if "low" in self.open else "["
        hi = ")" if "high" in self.open else "]"
        what = "an integer" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            text = f"{what} in {lo}{self.low}, {self.high}{hi}"
        elif self.low is not None:
            text = f"{what} {'>' if 'low' in self.open else '>='} {self.low}"
        else:
            text = what
        return text + (f" ({self.note})" if self.note else "")


class _OneOf:
    def __init__(self, *choices):
        self.choices = choices

    def check(self, name, value):
        if not isinstance(value, str) or value.lower() not in self.choices:
            raise ValueError(f"{name} must be one of {', '.join(self.choices)}; got {value!r}")
        return value.lower()


class _Text:
    def check(self, name, value):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty string; got {value!r}")
        return value


class _Bool:
    def check(self, name, value):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false; got {value!r}")
        return value


class _Layers:
    def check(self, name, value):
        return parse_layers(value)


class _AutoOr:
    """``"auto"``, or a number the inner rule checks (a command-line string parsed first)."""

    def __init__(self, rule: _Range):
        self.rule = rule

    def check(self, name, value):
        if isinstance(value, str):
            if value.strip().lower() == "auto":
                return "auto"
            with contextlib.suppress(ValueError):
                value = float(value)
        return self.rule.check(name, value)


class _Activation:
    def check(self, name, value):
        from .. import activations

        activations.get(value)           # raises naming the valid ones
        return value


#: one rule per option
CONSTRAINTS = {
    "data": _Text(), "label": _Text(), "task": _OneOf("auto", *TASKS),
    "layers": _Layers(), "activation": _Activation(), "init": _OneOf("auto", *INITS),
    "optimizer": _OneOf(*_OPTIMIZERS),
    "learning_rate": _Range(float, 0, open=("low",)),
    "momentum": _Range(float, 0, 1, open=("high",)),
    "schedule": _OneOf(*SCHEDULES),
    "epochs": _Range(int, 1),
    "batch_size": _AutoOr(_Range(int, 0, note="0: the full batch; or auto: min(200, n)")),
    "dropout": _Range(float, 0, 1, open=("high",)),
    "l2": _Range(float, 0), "l1": _Range(float, 0),
    "test_size": _Range(float, 0, 1, open=("low", "high")),
    "validation_split": _AutoOr(_Range(float, 0, 1, open=("high",),
                                       note="0: no validation split; or auto")),
    "validation_freq": _Range(int, 0, note="0: only at the end"),
    "early_stopping": _AutoOr(_Range(int, 0, note="patience in epochs; 0: off; or auto")),
    "scale": _OneOf("auto", *SCALES), "max_categories": _Range(int, 1),
    "image_size": _Range(int, 1), "seed": _Range(int, 0), "dtype": _OneOf("float32", "float64"),
    "checkpoint_every": _Range(int, 0, note="0: at the end and on Ctrl-C"),
    "drop_missing_labels": _Bool(),
}


@dataclass(frozen=True)
class TrainOptions:
    """A training run's options, every one checked (``from_mapping``)."""

    data: str = "moons"
    label: str = "-1"
    task: str = "auto"
    layers: tuple[int, ...] = (100,)
    activation: str = "relu"
    init: str = "auto"
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0
    schedule: str = "none"
    epochs: int = 300
    batch_size: int | str = "auto"
    dropout: float = 0.0
    l2: float = 0.0
    l1: float = 0.0
    test_size: float = 0.2
    validation_split: float | str = "auto"
    validation_freq: int = 0
    early_stopping: int | str = "auto"
    scale: str = "auto"
    max_categories: int = 50
    image_size: int = 64
    seed: int = 0
    dtype: str = "float64"
    checkpoint_every: int = 0
    drop_missing_labels: bool = False

    def __post_init__(self):
        for f in dataclasses.fields(self):
            checked = CONSTRAINTS[f.name].check(f.name, getattr(self, f.name))
            object.__setattr__(self, f.name, checked)
        if self.momentum and self.optimizer not in ("sgd", "gd"):
            raise ValueError(f"momentum applies to the sgd optimizer; got optimizer "
                             f"{self.optimizer!r} with momentum {self.momentum}")
        if self.early_stopping not in (0, "auto") and self.validation_split == 0:
            raise ValueError("early_stopping watches the validation loss: give a "
                             "validation_split (e.g. 0.1), or set early_stopping to 0")

    @classmethod
    def from_mapping(cls, values: dict, base: TrainOptions | None = None) -> TrainOptions:
        """``base`` (default: the defaults) with ``values`` replaced; unknown names refused."""
        if not isinstance(values, dict):
            raise ValueError("options must be a table of name = value")
        unknown = sorted(set(values) - set(CONSTRAINTS))
        if unknown:
            raise ValueError(f"unknown options {unknown}; valid options are "
                             f"{sorted(CONSTRAINTS)}")
        return dataclasses.replace(base or cls(), **values)

    def to_dict(self) -> dict:
        """Plain data (TOML and JSON): ``layers`` as ``"16,16"``."""
        out = dataclasses.asdict(self)
        out["layers"] = ",".join(map(str, self.layers))
        return out

    def split_for(self, n_samples: int) -> float:
        """The validation split for ``n_samples`` training rows: ``"auto"`` holds out 10 %
        when that is at least ``MIN_VALIDATION`` rows (or early stopping was asked for), else
        none."""
        if self.validation_split != "auto":
            return self.validation_split
        if self.early_stopping not in (0, "auto") or int(0.1 * n_samples) >= MIN_VALIDATION:
            return 0.1
        return 0.0

    def patience_for(self, n_samples: int) -> int:
        """Early stopping's patience in epochs on the validation loss for ``n_samples``
        training rows (before the validation split; 0: none)."""
        split = self.split_for(n_samples)
        if not split or self.early_stopping == 0:
            return 0
        if self.early_stopping != "auto":
            return self.early_stopping
        n_fit = n_samples - int(n_samples * split)
        steps = -(-n_fit // (self.batch_for(n_fit) or n_fit))
        return max(20, -(-500 // steps))

    def init_for(self, images: bool) -> str:
        """The initial weights' scheme: ``"auto"`` picks by the data (``AUTO_INIT``)."""
        if self.init != "auto":
            return self.init
        return AUTO_INIT["images" if images else "table"]

    def batch_for(self, n_samples: int) -> int | None:
        """``fit``'s batch size for ``n_samples`` training rows (None: the full batch)."""
        if self.batch_size == "auto":
            return min(200, n_samples)
        return self.batch_size or None
