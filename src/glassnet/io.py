"""Saving and loading networks: safetensors weights, architecture as JSON in the header.

A model file is a plain safetensors file: one tensor per parameter (``layers.0.W``,
``layers.0.b``, ...) and, in the header's ``__metadata__``, ``glassnet.format_version`` and
``glassnet.config`` (the architecture as JSON) plus free-form ``glassnet.metadata``. Loading
parses data only; it never unpickles or runs code, and it refuses truncated, foreign,
inconsistent or newer-format files with a ``ModelFileError`` (a ``ValueError``).

Every write goes to a temporary file in the same folder, is flushed to disk, then renamed over
the target: a crash at any moment leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["save", "load", "ModelFileError", "FORMAT_VERSION", "atomic_write_bytes"]

FORMAT_VERSION = 1
_MAX_HEADER = 100 * 1024 * 1024


class ModelFileError(ValueError):
    """A file that is not a glassnet model, or is damaged, or comes from a newer glassnet."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: temporary file, fsync, rename, fsync the folder."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would, or
        # the mode of the file it replaces.
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:  # pragma: no cover - platforms without directory fsync
        pass
    return path


def _tensors(net) -> dict[str, np.ndarray]:
    tensors = {}
    for i, (layer, slices) in enumerate(zip(net.layers, net.param_slices)):
        for name in slices:
            tensors[f"layers.{i}.{name}"] = np.ascontiguousarray(getattr(layer, name))
    return tensors


def _serialize(tensors: dict, metadata: dict[str, str]) -> bytes:
    from safetensors.numpy import save as st_save

    return st_save(tensors, metadata=metadata)


def save(net, path: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Save ``net`` to ``path`` (conventionally ``*.safetensors``); returns the path.

    ``metadata``: any JSON-serialisable dict (training settings, class names, history), kept
    in the file's header and returned by ``load_metadata``.
    """
    if not net.built:
        raise ValueError("cannot save a network that is not built: fit it or call "
                         "net.build(n_features) first")
    header = {
        "glassnet.format_version": str(FORMAT_VERSION),
        "glassnet.config": json.dumps(net.get_config()),
        "glassnet.metadata": json.dumps(metadata or {}),
    }
    return atomic_write_bytes(path, _serialize(_tensors(net), header))


def _read(path) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """Parse a safetensors file into (metadata, tensors), turning every failure into a
    ``ModelFileError`` that says what is wrong."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no model file at {str(path)!r}; check the path")
    if path.is_dir():
        raise ModelFileError(f"{str(path)!r} is a folder, not a model file; pass the "
                             "model.safetensors file inside it")
    data = path.read_bytes()
    if len(data) < 8:
        raise ModelFileError(f"{str(path)!r} is too short to be a glassnet model file "
                             f"({len(data)} bytes): truncated or not a model")
    header_len = int.from_bytes(data[:8], "little")
    if data[:1] == b"\x80" or data[:2] == b"PK":
        raise ModelFileError(f"{str(path)!r} looks like a pickle or zip archive, not a glassnet "
                             "model file; glassnet never loads pickles (they can run code)")
    if header_len > min(len(data) - 8, _MAX_HEADER):
        raise ModelFileError(f"{str(path)!r} is not a glassnet model file, or it is truncated "
                             f"(its header claims {header_len} bytes, the file has "
                             f"{len(data)})")
    try:
        header = json.loads(data[8:8 + header_len])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(f"{str(path)!r} is not a glassnet model file (its header is not "
                             "valid JSON)") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{str(path)!r} is not a glassnet model file (bad header)")
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or "glassnet.format_version" not in metadata:
        raise ModelFileError(f"{str(path)!r} is a safetensors file but not a glassnet model "
                             "(no glassnet.format_version in its metadata)"
                             if "__metadata__" in header or header else
                             f"{str(path)!r} is not a glassnet model file")
    try:
        from safetensors.numpy import load as st_load

        tensors = st_load(data)
    except Exception as exc:  # safetensors reports damage with its own error type
        raise ModelFileError(f"{str(path)!r} is damaged or truncated: {exc}") from None
    return metadata, tensors


def _check_version(metadata, path):
    try:
        version = int(metadata["glassnet.format_version"])
    except (TypeError, ValueError):
        raise ModelFileError(f"{str(path)!r} has an unreadable format version "
                             f"{metadata['glassnet.format_version']!r}") from None
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{str(path)!r} was written by a newer glassnet (model format "
                             f"{version}; this glassnet reads up to {FORMAT_VERSION}): "
                             "upgrade glassnet to load it")
    if version < 1:
        raise ModelFileError(f"{str(path)!r} has an invalid format version {version}")


def _json_field(metadata, key, path):
    try:
        return json.loads(metadata.get(key, "{}"))
    except json.JSONDecodeError:
        raise ModelFileError(f"{str(path)!r} has a damaged {key} entry (not JSON)") from None


def network_from_config(config: dict):
    """Rebuild an (unbuilt or built) ``Network`` from ``get_config()`` data."""
    from .layers import from_config
    from .network import Network

    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ModelFileError("the architecture in the file is malformed (no layer list)")
    try:
        layers = [from_config(c) for c in config["layers"]]
        return Network(layers, input_dim=config.get("input_dim"), loss=config.get("loss"),
                       dtype=config.get("dtype", "float64"), seed=0)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"the architecture in the file is invalid: {exc}") from None


def load(path: str | os.PathLike):
    """Load a network saved by ``save``. Never runs code from the file."""
    metadata, tensors = _read(path)
    _check_version(metadata, path)
    net = network_from_config(_json_field(metadata, "glassnet.config", path))
    if not net.built:
        raise ModelFileError(f"{str(path)!r} holds no input size for its network")
    expected = _tensors(net)
    if set(tensors) != set(expected):
        missing, extra = set(expected) - set(tensors), set(tensors) - set(expected)
        raise ModelFileError(f"{str(path)!r} does not match its own architecture: missing "
                             f"tensors {sorted(missing)}, unexpected {sorted(extra)}")
    for name, target in expected.items():
        value = tensors[name]
        if value.shape != target.shape:
            raise ModelFileError(f"{str(path)!r}: tensor {name} has shape {value.shape} but the "
                                 f"architecture needs {target.shape}")
        if value.dtype != net.dtype:
            raise ModelFileError(f"{str(path)!r}: tensor {name} is {value.dtype} but the "
                                 f"network is {net.dtype}")
        if not np.all(np.isfinite(value)):
            raise ModelFileError(f"{str(path)!r}: tensor {name} contains NaN or infinity")
    for i, (layer, slices) in enumerate(zip(net.layers, net.param_slices)):
        for name in slices:
            getattr(layer, name)[...] = tensors[f"layers.{i}.{name}"]
    net.metadata = _json_field(metadata, "glassnet.metadata", path)
    return net


def load_metadata(path: str | os.PathLike) -> dict:
    """The free-form metadata saved with a model."""
    metadata, _ = _read(path)
    _check_version(metadata, path)
    return _json_field(metadata, "glassnet.metadata", path)


# ------------------------------------------------------------------------ checkpoints
_CHECKPOINT = "checkpoint.safetensors"


def _rng_state(rng):
    return None if rng is None else rng.bit_generator.state


def save_checkpoint(folder, net, optimizer, epoch: int, history) -> Path:
    """Everything needed to resume training exactly: weights, optimizer state, the random
    generators' states, the history and the epoch."""
    from .layers import Dropout

    dropout = next((layer.rng for layer in net.layers if isinstance(layer, Dropout)), None)
    tensors = {"params": net.params.copy()}
    for key, value in optimizer.state.items():
        tensors[f"optimizer.{key}"] = value
    header = {
        "glassnet.format_version": str(FORMAT_VERSION),
        "glassnet.config": json.dumps(net.get_config()),
        "glassnet.checkpoint": json.dumps({
            "epoch": epoch, "history": history.to_dict(), "optimizer": optimizer.name,
            "iterations": optimizer.iterations,
            "shuffle_rng": _rng_state(net._shuffle_rng), "dropout_rng": _rng_state(dropout)}),
    }
    return atomic_write_bytes(Path(folder) / _CHECKPOINT, _serialize(tensors, header))


def load_checkpoint(folder, net, optimizer) -> dict | None:
    """Restore a checkpoint written by ``save_checkpoint`` into ``net`` and ``optimizer``;
    None when the folder holds none yet."""
    from .layers import Dropout

    path = Path(folder) / _CHECKPOINT
    if not path.exists():
        return None
    metadata, tensors = _read(path)
    _check_version(metadata, path)
    if _json_field(metadata, "glassnet.config", path) != net.get_config():
        raise ModelFileError(f"the checkpoint in {str(folder)!r} is for a different network; "
                             "use another checkpoint folder or the same architecture")
    state = _json_field(metadata, "glassnet.checkpoint", path)
    if state.get("optimizer") != optimizer.name:
        raise ModelFileError(f"the checkpoint in {str(folder)!r} was trained with "
                             f"{state.get('optimizer')!r}, not {optimizer.name!r}")
    params = tensors.get("params")
    if params is None or params.shape != net.params.shape or params.dtype != net.dtype:
        raise ModelFileError(f"the checkpoint in {str(folder)!r} is damaged: its weights are "
                             "missing or do not fit the network; delete it to start afresh")
    net.params = params
    optimizer.state = {k.split(".", 1)[1]: v.copy() for k, v in tensors.items()
                       if k.startswith("optimizer.")}
    optimizer.iterations = int(state["iterations"])
    net._shuffle_rng.bit_generator.state = state["shuffle_rng"]
    if state.get("dropout_rng") is not None:
        for layer in net.layers:
            if isinstance(layer, Dropout):
                layer.rng.bit_generator.state = state["dropout_rng"]
                break
    return state
