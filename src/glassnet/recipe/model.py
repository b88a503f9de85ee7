"""A trained model as the front doors use it: raw rows in, predictions out.

``Model`` is the preprocessing (``columns.Preprocessor``), the network and the target
(``targets.Target``) together, kept in one model file: the network's weights, and the rest as
plain JSON metadata, checked against the network when the file is read (``Model.from_network``),
so ``evaluate``, ``predict``, ``explain``, ``export`` and ``info`` never trip on a file whose
classes, columns or image shape disagree with its network.
"""

from __future__ import annotations

import numpy as np

from ..network import Network
from .columns import Preprocessor
from .targets import Target

__all__ = ["Model", "check_image_shape", "MAX_IMAGE_PIXELS"]

#: the most pixels (height x width x channels) an image model may take
MAX_IMAGE_PIXELS = 4096 * 4096 * 4


def check_image_shape(shape, n_inputs: int | None = None) -> tuple[int, int, int] | None:
    """A stored image shape ``[height, width, channels]``, checked (None passes)."""
    if shape is None:
        return None
    if not isinstance(shape, (list, tuple)) or len(shape) != 3 or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape) or \
            shape[2] not in (1, 3):
        raise ValueError(f"the image shape must be [height, width, channels] with 1 or 3 "
                         f"channels; got {shape!r}")
    if shape[0] * shape[1] * shape[2] > MAX_IMAGE_PIXELS or \
            (n_inputs is not None and shape[0] * shape[1] * shape[2] != n_inputs):
        raise ValueError(f"the image shape {list(shape)} does not match the network's "
                         f"{n_inputs} inputs")
    return tuple(shape)


class Model:
    """``preprocessor -> network -> target``.

    Parameters
    ----------
    preprocessor : fitted ``Preprocessor``, raw columns to the network's inputs.
    network : a built ``Network`` whose input width is ``preprocessor.n_inputs``.
    target : fitted ``Target``, the network's outputs to predictions.
    image_shape : ``(height, width, channels)`` of an image model, else None.
    """

    def __init__(self, preprocessor: Preprocessor, network: Network, target: Target,
                 image_shape=None):
        self.preprocessor, self.network, self.target = preprocessor, network, target
        self.image_shape = image_shape

    # ------------------------------------------------------------------ predicting
    def inputs(self, X) -> np.ndarray:
        """The network's inputs ``(n_samples, n_inputs)`` of raw rows ``X (n_samples,
        n_columns)``."""
        return self.preprocessor.transform(X)

    def outputs(self, X) -> np.ndarray:
        """The network's outputs ``(n_samples, units)`` on raw rows."""
        return self.network.predict_proba(self.inputs(X))

    def predict(self, X) -> np.ndarray:
        """Class names or values, ``(n_samples,)``."""
        return self.target.decode(self.outputs(X))

    def predict_proba(self, X) -> np.ndarray:
        """``(n_samples, n_classes)`` class probabilities (classification)."""
        if self.target.regression:
            raise ValueError("a regression model predicts values, not probabilities")
        return self.target.probabilities(self.outputs(X))

    def evaluate(self, X, y) -> dict:
        """Metrics on raw rows and labels: ``loss`` (the network's, on its encoded targets),
        and ``accuracy`` and the majority baseline, or ``r2``, ``mae`` and ``mse``."""
        return self.evaluate_inputs(self.inputs(X), self.target.encode(y))

    def evaluate_inputs(self, inputs: np.ndarray, encoded: np.ndarray) -> dict:
        """``evaluate`` on rows already preprocessed, ``inputs (n_samples, n_inputs)``, and
        labels already encoded (``Target.encode``)."""
        result = {"loss": float(self.network.evaluate(inputs, encoded)["loss"])}
        outputs = self.network.predict_proba(inputs)
        if self.target.regression:
            truth, pred = (np.asarray(encoded) * self.target.scale + self.target.offset,
                           self.target.decode(outputs))
            residual = truth - pred
            total = ((truth - truth.mean()) ** 2).sum()
            result.update(r2=float(1 - (residual ** 2).sum() / total) if total > 0 else 0.0,
                          mae=float(np.abs(residual).mean()),
                          mse=float((residual ** 2).mean()))
            return result
        index = (outputs[:, 0] > 0.5).astype(int) if outputs.shape[1] == 1 \
            else outputs.argmax(axis=1)
        result["accuracy"] = float((index == encoded).mean())
        result["majority"] = float(np.bincount(encoded).max() / len(encoded))
        return result

    # ------------------------------------------------------------------ stored as data
    def metadata(self) -> dict:
        """The model file's metadata for this model (JSON)."""
        target = self.target.to_dict()
        return {"task": self.target.task, "classes": target.get("classes"),
                "target": target, "preprocessing": self.preprocessor.to_dict(),
                "feature_names": self.preprocessor.names,
                "image_shape": list(self.image_shape) if self.image_shape else None}

    @classmethod
    def from_network(cls, net: Network) -> Model:
        """The model a loaded network's metadata describes, every part checked against the
        network. A network saved without metadata (``gn.save(net)``) is read as numeric
        columns ``x0, x1, ...`` and classes ``"0", "1", ...`` (or a regression)."""
        meta = getattr(net, "metadata", None) or {}
        if not isinstance(meta, dict):
            raise ValueError("the model's metadata must be an object")
        stored = meta.get("preprocessing")
        if stored is None:
            preprocessor = Preprocessor("none").fit(np.zeros((1, net.input_dim)))
        else:
            preprocessor = Preprocessor.from_dict(stored, n_inputs=net.input_dim)
        names = meta.get("feature_names")
        if names is not None:
            if not isinstance(names, list) or len(names) != len(preprocessor.columns) or \
                    not all(isinstance(n, str) for n in names):
                raise ValueError(f"the model's feature_names must be a list of "
                                 f"{len(preprocessor.columns)} strings")
            for column, name in zip(preprocessor.columns, names):
                column["name"] = name
        target = Target.from_dict(_stored_target(meta, net), n_outputs=net.output_dim)
        shape = check_image_shape(meta.get("image_shape"), net.input_dim)
        return cls(preprocessor, net, target, shape)

    @classmethod
    def load(cls, path) -> Model:
        """A model file (``glassnet train``'s ``model.safetensors``), checked."""
        from ..io import load

        return cls.from_network(load(path))

    def save(self, path, extra: dict | None = None):
        """Write the network and this model's metadata (plus ``extra``) atomically."""
        from ..io import save

        return save(self.network, path, {**(extra or {}), **self.metadata()})


def _stored_target(meta: dict, net: Network) -> dict:
    """The target a file stores, or the one its older metadata (``task``, ``classes``) or its
    loss implies."""
    if "target" in meta:
        return meta["target"]
    task = meta.get("task")
    if task is None:
        task = "classification" if net.loss.is_classification else "regression"
    if task == "regression":
        return {"task": "regression"}
    classes = meta.get("classes")
    if classes is None:
        classes = [str(i) for i in range(max(net.output_dim, 2))]
    return {"task": "classification", "classes": classes}
