"""Exporting trained networks to other runtimes: ONNX (``export_onnx``)."""

from __future__ import annotations

import os
from pathlib import Path

from .onnx import DEFAULT_OPSET, needs_skl2onnx, to_onnx

__all__ = ["export_onnx", "to_onnx"]


def export_onnx(model, path: str | os.PathLike, *, dtype=None, opset: int = DEFAULT_OPSET,
                feature_names=None, input_dtype=None, X=None) -> Path:
    """Write ``model`` to ``path`` as ONNX and return the path.

    ``model``: a built ``Network``, a fitted ``NeuralNetClassifier`` / ``NeuralNetRegressor``,
    a model ``glassnet train`` wrote (``recipe.Model``), a scikit-learn ``Pipeline`` of
    ``StandardScaler`` / ``MinMaxScaler`` steps and one of them, or any fitted pipeline whose
    other steps skl2onnx converts (a ``ColumnTransformer``, imputers, encoders): that one is
    handed to skl2onnx with glassnet's converter registered, and ``X`` (a few rows, a
    DataFrame for named columns) gives it the input types. ``dtype``: ``"float32"`` or
    ``"float64"`` for the arithmetic (default: the network's); ``input_dtype``: the input's
    type when it differs (``"int64"`` or ``"bool"``: cast first). The file passes
    ``onnx.checker.check_model(full_check=True)``.
    """
    from ..checkpoints import atomic_write_bytes

    if needs_skl2onnx(model):
        from .skl2onnx import convert_pipeline

        proto = convert_pipeline(model, X, opset)
    else:
        proto = to_onnx(model, dtype=dtype, opset=opset, feature_names=feature_names,
                        input_dtype=input_dtype)
    return atomic_write_bytes(path, proto.SerializeToString())
