"""Exporting trained networks to other runtimes: ONNX (``export_onnx``)."""

from __future__ import annotations

from .onnx import export_onnx, to_onnx

__all__ = ["export_onnx", "to_onnx"]
