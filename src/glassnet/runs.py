"""Run folders: what ``glassnet train`` writes, who owns a folder while it runs, and the table
of runs ``glassnet runs`` prints.

- A folder is checked before any data is read and made only when training starts, so a run
  that fails before it leaves no folder behind.
- A lock file (``.lock``, the owner's process id) refuses a second ``train`` into a folder
  while the first runs; a lock whose process is gone is taken over, with a note.
- ``metrics.json`` holds the run's test and train metrics, baselines, time, options and the
  data's fingerprint, so runs can be compared (``table``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

__all__ = ["RUN_FILES", "plan_folder", "RunLock", "fingerprint", "read_metrics", "table",
           "RunFolderError"]

#: the files a run writes into its folder (--overwrite removes exactly these)
RUN_FILES = ("model.safetensors", "history.json", "config.toml", "metrics.json", "loss.png",
             "decision_boundary.png", "misclassified.png", "predicted_vs_true.png",
             "checkpoint.safetensors")
LOCK = ".lock"


class RunFolderError(ValueError):
    """A run folder that cannot be used, with the fix."""


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "run"


def plan_folder(out: Path | None, name: str, overwrite: bool, resume: bool) -> Path:
    """The folder a run will write into, checked now and made later (``RunLock``).

    ``out`` None: a new ``runs/NAME``, ``runs/NAME-2``, ...; an existing folder holding a run
    needs ``overwrite`` (only glassnet's own files are removed) or ``resume``.
    """
    if resume:
        if out is None or not (out / "checkpoint.safetensors").exists():
            raise RunFolderError("--resume continues the run in --out FOLDER from its "
                                 f"checkpoint; {out if out else 'no --out'} holds none")
        return out
    if out is None:
        base = Path("runs") / _safe(name)
        out, k = base, 2
        while out.exists():
            out, k = base.with_name(f"{base.name}-{k}"), k + 1
    elif out.exists() and not out.is_dir():
        raise RunFolderError(f"--out {out} is a file, not a folder")
    elif out.exists() and any(p.name in RUN_FILES for p in out.iterdir()) and not overwrite:
        ours = sorted(p.name for p in out.iterdir() if p.name in RUN_FILES)
        raise RunFolderError(f"--out {out} already holds a run ({', '.join(ours)}); pass "
                             "--overwrite to replace it, --resume to continue it, or another "
                             "--out")
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise RunFolderError(f"cannot make the run folder {out}: {parent} is "
                             f"{'not a folder' if not parent.is_dir() else 'not writable'}")
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """The folder made, locked for this process, and (``clear``) glassnet's old files removed.

    ``with RunLock(folder, clear=True) as lock: ...``; ``lock.note`` says when a stale lock was
    taken over. A second process is refused with the owner's process id.
    """

    def __init__(self, folder: Path, clear: bool = False):
        self.folder, self.clear, self.note, self.made = Path(folder), clear, None, False

    def __enter__(self) -> RunLock:
        self.made = not self.folder.exists()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunFolderError(f"cannot make the run folder {self.folder}: "
                                 f"{exc.strerror}") from None
        path = self.folder / LOCK
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    owner = int(path.read_text().strip() or 0)
                except (OSError, ValueError):
                    owner = 0
                if owner and owner != os.getpid() and _alive(owner):
                    raise RunFolderError(f"{self.folder} is in use by another glassnet train "
                                         f"(process {owner}); wait for it, or choose another "
                                         "--out") from None
                self.note = f"took over the lock of process {owner or '?'}, which is gone"
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            break
        if self.clear:
            for p in self.folder.iterdir():
                if p.name in RUN_FILES:         # only glassnet's own files: nothing else
                    p.unlink()
        return self

    def __exit__(self, *exc):
        with contextlib.suppress(FileNotFoundError):
            (self.folder / LOCK).unlink()
        return False

    def discard(self):
        """Undo a folder this lock made, when the run failed before training."""
        self.__exit__()
        if self.made:
            with contextlib.suppress(OSError):
                self.folder.rmdir()


def fingerprint(spec: str) -> str | None:
    """A SHA-256 of the data a run read: a file's bytes, or a folder's file names, sizes and
    bytes (the files directly in it and one level down); None for built-in data."""
    path = Path(spec)
    if not path.exists():
        return None
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(
        p for p in list(path.iterdir()) + [q for d in path.iterdir() if d.is_dir()
                                             for q in d.iterdir()] if p.is_file())
    for file in files:
        digest.update(str(file.relative_to(path) if file != path else "").encode())
        with open(file, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def read_metrics(folder: Path) -> dict | None:
    """A run's ``metrics.json``, or None when it has none (or it is not a JSON object)."""
    try:
        data = json.loads((Path(folder) / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


#: the columns of ``glassnet runs``: (heading, key in metrics.json or its options)
COLUMNS = (("run", None), ("data", "data_name"), ("task", "task"), ("layers", "layers"),
           ("optimizer", "optimizer"), ("lr", "learning_rate"), ("epochs", "epochs_run"),
           ("test acc", "test_accuracy"), ("test R^2", "test_r2"), ("seconds", "seconds"))


def table(root: Path, sort: str | None = None) -> list[dict]:
    """One row per run folder below ``root`` (itself, or its sub-folders), sorted by ``sort``
    (a metric, best first) or by name."""
    root = Path(root)
    folders = [root] if (root / "metrics.json").exists() else \
        sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    rows = []
    for folder in folders:
        metrics = read_metrics(folder)
        if metrics is None:
            continue
        options = metrics.get("options") or {}
        row = {"run": folder.name}
        for heading, key in COLUMNS[1:]:
            row[heading] = metrics.get(key, options.get(key))
        rows.append(row)
    if sort:
        keys = {h: h for h, _ in COLUMNS} | {k: h for h, k in COLUMNS if k}
        if sort not in keys:
            raise ValueError(f"--sort must be one of {[k for _, k in COLUMNS if k]}; got "
                             f"{sort!r}")
        heading = keys[sort]
        lower_first = heading in ("seconds", "run", "data", "task")
        present = [r for r in rows if isinstance(r[heading], (int, float, str))]
        present.sort(key=lambda r: r[heading], reverse=not lower_first)
        rows = present + [r for r in rows if r not in present]
    return rows
