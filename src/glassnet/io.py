"""Saving and loading networks: safetensors weights, the architecture as JSON in the header.

A model file holds one tensor per parameter (``layers.0.W``, ``layers.0.b``, ...) and, in the
header, the architecture and free-form metadata (``glassnet.checkpoints`` has the format and
the reader). Loading never runs code from the file; it refuses truncated, foreign, inconsistent
or newer-format files with a ``ModelFileError`` (a ``ValueError``). Saving refuses weights that
are NaN or infinite, which loading would refuse: a file glassnet writes always loads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .checkpoints import (
    FORMAT_VERSION,
    atomic_write_bytes,
    check_version,
    json_field,
    read_model_file,
    serialize,
)
from .errors import ModelFileError
from .layers import from_config
from .network import Network

__all__ = ["save", "load", "load_metadata", "network_from_config", "ModelFileError",
           "FORMAT_VERSION", "atomic_write_bytes"]


def _tensors(net: Network) -> dict[str, np.ndarray]:
    tensors = {}
    for i, (layer, slices) in enumerate(zip(net.layers, net.param_slices)):
        for name in slices:
            tensors[f"layers.{i}.{name}"] = np.ascontiguousarray(getattr(layer, name))
    return tensors


def save(net: Network, path: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Save ``net`` to ``path`` (conventionally ``*.safetensors``); returns the path.

    ``metadata``: any JSON-serialisable dict (training settings, class names, history), kept
    in the file's header and returned by ``load_metadata``.
    """
    if not net.built:
        raise ValueError("cannot save a network that is not built: fit it or call "
                         "net.build(n_features) first")
    if not np.isfinite(net.params).all():
        raise ValueError(f"cannot save to {str(path)!r}: the network's weights contain NaN or "
                         "infinity (a diverged run?); nothing was written. Retrain, or load "
                         "the last good model")
    header = {
        "glassnet.format_version": str(FORMAT_VERSION),
        "glassnet.config": json.dumps(net.get_config()),
        "glassnet.metadata": json.dumps(metadata or {}),
    }
    return atomic_write_bytes(path, serialize(_tensors(net), header))


def network_from_config(config: dict, build: bool = True) -> Network:
    """Rebuild a ``Network`` from ``get_config()`` data; ``build=False`` leaves it without
    buffers (nothing allocated) even when the config names an input size."""
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ModelFileError("the architecture in the file is malformed (no layer list)")
    try:
        layers = [from_config(c) for c in config["layers"]]
        net = Network(layers, loss=config.get("loss"), dtype=config.get("dtype", "float64"),
                      seed=0)
        if build and config.get("input_dim") is not None:
            net.build(config["input_dim"])
        return net
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise ModelFileError(f"the architecture in the file is invalid: {exc}") from None


def _expected_shapes(net: Network, input_dim: int) -> dict[str, tuple[int, ...]]:
    """The tensor shapes the architecture needs, computed without allocating anything."""
    shapes, n_in = {}, input_dim
    for i, layer in enumerate(net.layers):
        for name, shape in layer.param_shapes(n_in):
            shapes[f"layers.{i}.{name}"] = shape
        n_in = layer.output_dim(n_in)
    return shapes


def load(path: str | os.PathLike) -> Network:
    """Load a network saved by ``save``. Never runs code from the file, and allocates nothing
    before the tensors in the file are known to fit the architecture it describes."""
    metadata, tensors = read_model_file(path)
    check_version(metadata, path)
    config = json_field(metadata, "glassnet.config", path)
    net = network_from_config(config, build=False)
    input_dim = config.get("input_dim")
    if isinstance(input_dim, bool) or not isinstance(input_dim, int) or input_dim < 1:
        raise ModelFileError(f"{str(path)!r} holds no valid input size for its network "
                             f"(input_dim {input_dim!r})")
    expected = _expected_shapes(net, input_dim)
    if set(tensors) != set(expected):
        missing, extra = set(expected) - set(tensors), set(tensors) - set(expected)
        raise ModelFileError(f"{str(path)!r} does not match its own architecture: missing "
                             f"tensors {sorted(missing)}, unexpected {sorted(extra)}")
    for name, shape in expected.items():
        value = tensors[name]
        if value.shape != shape:
            raise ModelFileError(f"{str(path)!r}: tensor {name} has shape {value.shape} but the "
                                 f"architecture needs {shape}")
        if value.dtype != net.dtype:
            raise ModelFileError(f"{str(path)!r}: tensor {name} is {value.dtype} but the "
                                 f"network is {net.dtype}")
        if not np.all(np.isfinite(value)):
            raise ModelFileError(f"{str(path)!r}: tensor {name} contains NaN or infinity")
    net.build(input_dim)
    for i, (layer, slices) in enumerate(zip(net.layers, net.param_slices)):
        for name in slices:
            getattr(layer, name)[...] = tensors[f"layers.{i}.{name}"]
    net.metadata = json_field(metadata, "glassnet.metadata", path)
    return net


def load_metadata(path: str | os.PathLike) -> dict:
    """The free-form metadata saved with a model."""
    metadata, _ = read_model_file(path)
    check_version(metadata, path)
    return json_field(metadata, "glassnet.metadata", path)
