"""The model-file format, below the network: atomic writes, the safetensors reader that
trusts nothing, and training checkpoints.

A glassnet file is a plain safetensors file: tensors, and string entries in the header's
``__metadata__`` (``glassnet.format_version``, ``glassnet.config`` with the architecture as
JSON, then free-form ``glassnet.metadata`` or a checkpoint's ``glassnet.checkpoint``). Reading
parses data only: it never unpickles or runs code, opens regular files only (a FIFO or a device
is refused, not waited on), and turns every failure into a ``ModelFileError`` that names the
file and what is wrong.

Every write goes to a temporary file in the same folder, is flushed to disk, then renamed over
the target: a crash at any moment leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np

from ._files import atomic_write_bytes
from .callbacks import History
from .errors import ModelFileError

__all__ = ["FORMAT_VERSION", "atomic_write_bytes", "read_model_file", "check_version",
           "json_field", "serialize", "save_checkpoint", "load_checkpoint", "CHECKPOINT_NAME"]

FORMAT_VERSION = 1
#: the largest header glassnet reads (a checkpoint's header holds the whole history)
MAX_HEADER = 100 * 1024 * 1024
CHECKPOINT_NAME = "checkpoint.safetensors"


def serialize(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    from safetensors.numpy import save as st_save

    return st_save(tensors, metadata=metadata)


def _open_regular_file(path: Path) -> tuple[int, int]:
    """``(fd, size)`` of ``path`` if it is a regular file; a FIFO, socket or device is refused
    before anything is read (opening without blocking, then asking what was opened)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"no model file at {str(path)!r}; check the path") from None
    except IsADirectoryError:
        raise ModelFileError(f"{str(path)!r} is a folder, not a model file; pass the "
                             "model.safetensors file inside it") from None
    except OSError as exc:            # a symbolic-link loop, a name too long, no permission
        raise ModelFileError(f"cannot open {str(path)!r}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ModelFileError(f"{str(path)!r} is a folder, not a model file; pass the "
                                 "model.safetensors file inside it")
        if not stat.S_ISREG(info.st_mode):
            raise ModelFileError(f"{str(path)!r} is not a regular file (a pipe, socket or "
                                 "device); a model file is a plain file on disk")
    except BaseException:
        os.close(fd)
        raise
    return fd, info.st_size


def _tensor_extent(header: dict, name: str) -> int:
    """The bytes of tensor data the header describes (the largest end offset)."""
    extent = 0
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and
                all(isinstance(o, int) and not isinstance(o, bool) and o >= 0
                    for o in offsets)):
            raise ModelFileError(f"{name} is damaged: tensor {str(key)[:40]!r} has no valid "
                                 "data offsets")
        extent = max(extent, offsets[1])
    return extent


def read_model_file(path: str | os.PathLike) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """Parse a glassnet safetensors file into ``(metadata, tensors)``.

    Memory is bounded by what the header describes, checked against the file's size before
    the tensors are read: a file of a valid model followed by gigabytes of anything, or one
    whose header claims more than the file holds, is refused without reading it all.
    """
    path = Path(path)
    fd, size = _open_regular_file(path)
    name = repr(str(path))
    with os.fdopen(fd, "rb") as fh:
        head = fh.read(9)
        if len(head) < 9:
            raise ModelFileError(f"{name} is too short to be a glassnet model file "
                                 f"({size} bytes): truncated or not a model")
        header_len = int.from_bytes(head[:8], "little")
        # A safetensors header is JSON, so its first byte is "{". Only a file that is not one
        # is named for what its first bytes suggest: the length may begin with 0x80 or "PK".
        if head[8:9] != b"{":
            if head[:1] == b"\x80" or head[:2] == b"PK":
                raise ModelFileError(f"{name} looks like a pickle or zip archive, not a "
                                     "glassnet model file; glassnet never loads pickles (they "
                                     "can run code)")
            raise ModelFileError(f"{name} is not a glassnet model file (no safetensors "
                                 "header)")
        if header_len > min(size - 8, MAX_HEADER):
            raise ModelFileError(f"{name} is not a glassnet model file, or it is truncated "
                                 f"(its header claims {header_len} bytes, the file has "
                                 f"{size})")
        raw_header = head[8:] + fh.read(header_len - 1)
        header = _parse_header(raw_header, name)
        extent = _tensor_extent(header, name)
        if 8 + header_len + extent != size:
            what = "truncated" if 8 + header_len + extent > size else \
                f"followed by {size - 8 - header_len - extent} bytes that are not part of it"
            raise ModelFileError(f"{name} is damaged: its tensors take {extent} bytes after "
                                 f"the header, and the file is {what}")
        data = head[:8] + raw_header + fh.read(extent)
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or "glassnet.format_version" not in metadata:
        raise ModelFileError(f"{name} is a safetensors file but not a glassnet model "
                             "(no glassnet.format_version in its metadata)")
    if not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError(f"{name} is damaged: its metadata entries must be strings")
    try:
        from safetensors.numpy import load as st_load

        tensors = st_load(data)
    except Exception as exc:  # safetensors reports damage with its own error type
        raise ModelFileError(f"{name} is damaged or truncated: {exc}") from None
    return metadata, tensors


def _parse_header(raw: bytes, name: str) -> dict:
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ModelFileError(f"{name} is not a glassnet model file (its header is not "
                             "valid JSON)") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{name} is not a glassnet model file (bad header)")
    return header


def check_version(metadata: dict, path) -> None:
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


def json_field(metadata: dict, key: str, path, kind: type = dict):
    """The JSON entry ``key`` of the header's metadata, which must decode to ``kind``."""
    try:
        value = json.loads(metadata.get(key, "{}" if kind is dict else "null"))
    except (json.JSONDecodeError, RecursionError):
        raise ModelFileError(f"{str(path)!r} has a damaged {key} entry (not JSON)") from None
    if not isinstance(value, kind):
        raise ModelFileError(f"{str(path)!r} has a damaged {key} entry: expected a JSON "
                             f"{'object' if kind is dict else kind.__name__}, got "
                             f"{type(value).__name__}")
    return value


# ------------------------------------------------------------------------ checkpoints
def _rng_state(rng):
    return None if rng is None else rng.bit_generator.state


def save_checkpoint(folder, net, optimizer, epoch: int, history: History) -> Path:
    """Everything needed to resume training exactly: weights, optimizer state, the random
    generators' states, the history and the epoch."""
    tensors = {"params": net.params.copy()}
    for key, value in optimizer.state.items():
        tensors[f"optimizer.{key}"] = value
    header = {
        "glassnet.format_version": str(FORMAT_VERSION),
        "glassnet.config": json.dumps(net.get_config()),
        "glassnet.checkpoint": json.dumps({
            "epoch": epoch, "history": history.to_dict(), "optimizer": optimizer.name,
            "iterations": optimizer.iterations,
            "shuffle_rng": _rng_state(net.shuffle_rng),
            "dropout_rng": _rng_state(net.dropout_rng)}),
    }
    return atomic_write_bytes(Path(folder) / CHECKPOINT_NAME, serialize(tensors, header))


def check_checkpoint_folder(folder) -> Path:
    """Refuse, before any training, a checkpoint folder that cannot hold a checkpoint."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"checkpoint={str(folder)!r} is a file, not a folder; pass a folder "
                         "(it is created if missing)")
    return folder


def _checked_rng_state(state, rng, what, damaged):
    """``state`` if ``rng``'s kind of generator accepts it (tried on a scratch generator)."""
    try:
        type(rng.bit_generator)().state = state
    except (TypeError, ValueError, KeyError, OverflowError):
        raise damaged(f"its {what} state is unreadable") from None
    return state


def load_checkpoint(folder, net, optimizer) -> dict | None:
    """Restore a checkpoint written by ``save_checkpoint`` into ``net`` and ``optimizer``;
    None when the folder holds none yet. Everything is checked before anything is changed."""
    path = Path(folder) / CHECKPOINT_NAME
    if not path.exists():
        return None

    def damaged(why):
        return ModelFileError(f"the checkpoint {str(path)!r} is damaged ({why}); delete it "
                              "to start afresh")

    metadata, tensors = read_model_file(path)
    check_version(metadata, path)
    if json_field(metadata, "glassnet.config", path) != net.get_config():
        raise ModelFileError(f"the checkpoint in {str(folder)!r} is for a different network; "
                             "use another checkpoint folder or the same architecture")
    state = json_field(metadata, "glassnet.checkpoint", path)
    if state.get("optimizer") != optimizer.name:
        raise ModelFileError(f"the checkpoint in {str(folder)!r} was trained with "
                             f"{state.get('optimizer')!r}, not {optimizer.name!r}")
    params = tensors.get("params")
    if params is None or params.shape != net.params.shape or params.dtype != net.dtype:
        raise damaged("its weights are missing or do not fit the network")
    if not np.isfinite(params).all():
        raise damaged("its weights contain NaN or infinity")
    slots = {k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith("optimizer.")}
    if any(v.shape != params.shape or v.dtype != params.dtype for v in slots.values()):
        raise damaged("its optimizer state does not fit the network")
    for key in ("epoch", "iterations"):
        value = state.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise damaged(f"its {key} is {value!r}, not a count")
    if not isinstance(state.get("history"), dict):
        raise damaged("its history is missing")
    try:
        history = History.from_dict(state["history"])
    except (TypeError, ValueError, AttributeError):
        raise damaged("its history is unreadable") from None
    shuffle = _checked_rng_state(state.get("shuffle_rng"), net.shuffle_rng, "shuffle", damaged)
    dropout = state.get("dropout_rng")
    if dropout is not None:
        _checked_rng_state(dropout, net.dropout_rng, "dropout", damaged)

    net.params = params
    optimizer.state = {k: v.copy() for k, v in slots.items()}
    optimizer.iterations = state["iterations"]
    net.shuffle_rng.bit_generator.state = shuffle
    if dropout is not None:
        net.dropout_rng.bit_generator.state = dropout
    return {"epoch": state["epoch"], "history": history}
