"""What a network predicts: the task, the output layer and loss, the labels and their encoding,
and the scaling of a regression target. The one place these rules live: the command, the
estimators, ``tune``, the playground and its generated ``train.py`` all ask here.

- **classification**: two classes get one sigmoid output and binary cross-entropy (the
  tutorials' network); more get a softmax output and categorical cross-entropy; multi-label
  (a 0/1 indicator per label) one sigmoid per label. Labels that are all numbers are compared
  as numbers (``1`` and ``1.0`` are one class, named ``"1"``); others as text.
- **regression**: identity outputs and mean squared error (``exp`` outputs with the Poisson
  loss); the command standardises the target (mean 0, standard deviation 1) and un-scales
  predictions; the estimators do not, as scikit-learn's MLPRegressor does not.
"""

from __future__ import annotations

import math

import numpy as np

from .columns import missing_mask, text

__all__ = ["Target", "output_layer", "detect_task", "check_labels", "TASKS"]

TASKS = ("classification", "regression")


def output_layer(task: str, n_classes: int = 0, n_outputs: int = 1,
                 multilabel: bool = False, loss: str = "squared_error",
                 head: str | None = None) -> tuple[int, str]:
    """``(units, activation)`` of the output layer; the loss follows the activation
    (``losses.default_for``): sigmoid -> binary cross-entropy, softmax -> categorical, identity
    -> MSE, exp -> Poisson.

    ``n_classes``: classification's classes (one class trains a sigmoid that learns to say it);
    ``n_outputs``: regression's targets, or multi-label's labels. ``head``: ``"softmax"`` asks
    for a softmax even over two classes (the playground lets a learner compare the two);
    ``"sigmoid"`` over more than two classes is an error.
    """
    if task == "regression":
        return n_outputs, "exp" if loss == "poisson" else "identity"
    if task != "classification":
        raise ValueError(f"task must be one of {TASKS}; got {task!r}")
    if multilabel:
        return n_outputs, "sigmoid"
    if head == "softmax":
        return max(n_classes, 2), "softmax"
    if head == "sigmoid" and n_classes > 2:
        raise ValueError(f"this data has {n_classes} classes: a sigmoid head separates two; "
                         "choose the softmax head")
    return (1, "sigmoid") if n_classes <= 2 else (n_classes, "softmax")


def detect_task(labels) -> str:
    """``"classification"`` for text, booleans and integers with few distinct values (at most
    20, and at most half the samples); else ``"regression"``. Missing cells are ignored."""
    labels = np.asarray(labels)
    present = labels[~missing_mask(labels)] if labels.dtype.kind not in "iub" else labels
    if present.dtype.kind == "b":
        return "classification"
    try:
        values = present.astype(np.float64)
    except ValueError:
        return "classification"
    if not len(values) or not np.isfinite(values).all():
        return "classification"
    distinct = np.unique(values)
    integral = np.all(np.mod(values, 1) == 0)
    if integral and len(distinct) <= max(2, min(20, len(values) // 2)):
        return "classification"
    return "regression"


def _class_name(value: float) -> str:
    """A numeric class as text: ``1.0`` -> ``"1"``, ``0.5`` -> ``"0.5"``."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 2**53 else repr(value)


class Target:
    """The labels' side of a model: fitted on the training labels, stored as plain data.

    Parameters
    ----------
    task : ``"auto"`` (follow the labels, ``detect_task``), ``"classification"`` or
        ``"regression"``.
    scale_target : bool, standardise a regression target for training (``decode`` un-scales).
    """

    def __init__(self, task: str = "auto", scale_target: bool = True):
        if task not in ("auto", *TASKS):
            raise ValueError(f"task must be auto, classification or regression; got {task!r}")
        self.task, self.scale_target = task, scale_target
        self.classes: list[str] | None = None
        self.numeric = False          # classes compared as numbers
        self.offset, self.scale = 0.0, 1.0

    def fit(self, labels, classes=None) -> Target:
        """Learn the task, the classes or the target's scaling from ``labels (n_samples,)``
        (text or numbers; none missing: ``check_labels`` first). ``classes``: the class names
        in their own order, when the data names them (image folders, the cat files); else the
        distinct labels, sorted."""
        labels = np.asarray(labels)
        if labels.ndim != 1 or not len(labels):
            raise ValueError(f"labels must be one non-empty column; got shape {labels.shape}")
        if self.task == "auto":
            self.task = detect_task(labels)
        if self.task == "regression":
            values = _numbers(labels)
            if values is None:
                raise ValueError("a regression needs a numeric label in every row; this label "
                                 "has text (use --task classification)")
            if self.scale_target:
                spread = values.std()
                self.offset, self.scale = float(values.mean()), float(spread) if spread > 0 \
                    else 1.0
            return self
        values = _numbers(labels) if labels.dtype.kind != "b" and classes is None else None
        self.numeric = values is not None
        if classes is not None:
            self.classes = [str(c) for c in classes]
            unknown = sorted(set(text(labels)) - set(self.classes))
            if unknown:
                raise ValueError(f"labels {unknown[:5]} are not among the classes "
                                 f"{self.classes[:20]}")
        elif self.numeric:
            self.classes = [_class_name(v) for v in np.unique(values)]
        else:
            self.classes = sorted(set(text(labels)))
        if len(self.classes) < 2:
            raise ValueError(f"the labels hold a single class ({self.classes[0]!r}); a "
                             "classifier needs two")
        return self

    # ------------------------------------------------------------------ the network's side
    @property
    def regression(self) -> bool:
        return self.task == "regression"

    def output_layer(self) -> tuple[int, str]:
        """``(units, activation)``: see ``output_layer``."""
        return output_layer(self.task, len(self.classes or []))

    def names(self, labels) -> np.ndarray:
        """``labels`` as class names: numbers compared as numbers."""
        labels = np.asarray(labels)
        if self.numeric:
            values = _numbers(labels)
            if values is None:
                bad = [v for v in labels.tolist() if _numbers(np.array([v])) is None][:3]
                raise ValueError(f"labels {bad} are not numbers; the model's classes are "
                                 f"{self.classes[:10]}")
            return np.array([_class_name(v) for v in values])
        return text(labels)

    def encode(self, labels) -> np.ndarray:
        """The network's targets: class indices ``(n,)`` or the scaled values ``(n,)``."""
        if self.regression:
            values = _numbers(np.asarray(labels))
            if values is None:
                raise ValueError("a regression target must be numbers")
            return (values - self.offset) / self.scale
        names = self.names(labels)
        classes = np.array(self.classes, dtype=object)
        order = np.argsort(classes)
        index = np.searchsorted(classes[order], names)
        index = np.minimum(index, len(classes) - 1)
        unseen = classes[order][index] != names
        if unseen.any():
            raise ValueError(f"labels the model never saw: {sorted(set(names[unseen]))[:5]}; "
                             f"the model knows {self.classes[:20]}")
        return order[index]

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """Predictions from the network's outputs ``(n, units)``: class names or values."""
        if self.regression:
            return outputs[:, 0] * self.scale + self.offset
        index = (outputs[:, 0] > 0.5).astype(int) if outputs.shape[1] == 1 \
            else outputs.argmax(axis=1)
        return np.array(self.classes)[index]

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """``(n, n_classes)``: two columns for a sigmoid head, as ``predict_proba`` gives."""
        return np.hstack([1 - outputs, outputs]) if outputs.shape[1] == 1 else outputs

    # ------------------------------------------------------------------ stored as data
    def to_dict(self) -> dict:
        if self.regression:
            return {"task": "regression", "offset": self.offset, "scale": self.scale}
        return {"task": "classification", "classes": list(self.classes),
                "numeric": self.numeric}

    @classmethod
    def from_dict(cls, data, n_outputs: int | None = None) -> Target:
        """From ``to_dict`` output, checked against the network's ``n_outputs``."""
        if not isinstance(data, dict) or data.get("task") not in TASKS:
            raise ValueError("the stored target must be an object with a task of "
                             "classification or regression")
        self = cls(data["task"])
        if self.regression:
            self.offset, self.scale = (_stored_number(data.get(k, d), k)
                                       for k, d in (("offset", 0.0), ("scale", 1.0)))
            if self.scale <= 0:
                raise ValueError("the stored target scale must be > 0")
            expected = 1
        else:
            classes = data.get("classes")
            if not isinstance(classes, list) or len(classes) < 2 or \
                    not all(isinstance(c, str) for c in classes) or len(set(classes)) < \
                    len(classes):
                raise ValueError("the stored classes must be a list of two or more distinct "
                                 "names")
            self.classes, self.numeric = classes, bool(data.get("numeric", False))
            expected = output_layer("classification", len(classes))[0]
        if n_outputs is not None and n_outputs != expected:
            raise ValueError(f"the model names {len(self.classes or [0])} "
                             f"{'classes' if self.classes else 'target'}, which need "
                             f"{expected} outputs, but its network has {n_outputs}")
        return self

    def __repr__(self):
        what = f"classes={self.classes}" if self.classes else \
            f"offset={self.offset:.4g}, scale={self.scale:.4g}"
        return f"Target({self.task!r}, {what})"


def _numbers(labels: np.ndarray) -> np.ndarray | None:
    """``labels`` as finite float64, or None if one is not a number."""
    if labels.dtype.kind in "iuf":
        values = labels.astype(np.float64)
    else:
        try:
            values = np.asarray(labels, dtype=object).astype(np.float64)
        except (ValueError, TypeError):
            return None
    return values if np.isfinite(values).all() else None


def _stored_number(value, name) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value):
        raise ValueError(f"the stored target {name} must be a finite number; got {value!r}")
    return float(value)


def check_labels(labels, line_of=None, drop: bool = False) -> np.ndarray:
    """The rows whose label is present, as a boolean mask ``(n,)``; a missing label is an
    error naming its line (``line_of(i)``: the file line of row ``i``) unless ``drop``."""
    labels = np.asarray(labels)
    missing = missing_mask(labels) if labels.dtype.kind not in "iub" else \
        np.zeros(len(labels), bool)
    if missing.any() and not drop:
        i = int(np.flatnonzero(missing)[0])
        where = f"line {line_of(i)}" if line_of else f"row {i}"
        raise ValueError(f"{where}: the label is missing ({str(labels[i])!r}); "
                         f"{int(missing.sum())} rows have no label. Fill them, or pass "
                         "--drop-missing-labels to leave those rows out")
    return ~missing

