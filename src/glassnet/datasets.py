"""Data: the tutorials' toy problems, and loaders for data a user points at.

Nothing here downloads anything: every loader takes a path. Images become rows of pixel
values scaled to [0, 1] (the tutorials' ``/ 255.``), flattened in (height, width, channel)
order, so a ``(64, 64, 3)`` image is a row of 12288 features.
"""

from __future__ import annotations

import csv
import gzip
import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .recipe.targets import detect_task

__all__ = ["Dataset", "moons", "circles", "spirals", "xor", "blobs", "BUILTINS", "load",
           "load_csv", "load_npz", "load_catvnoncat", "load_idx", "load_mnist",
           "load_image_folder", "load_image"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
#: the most bytes an IDX file may hold once decompressed (MNIST's largest: 47 MB)
MAX_IDX_BYTES = 1 << 30
#: the most pixels an image file may declare (Pillow's own bomb limit is 89 million)
MAX_IMAGE_PIXELS = 50_000_000


@dataclass
class Dataset:
    """A train/test split and what is known about it."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: list = field(default_factory=list)
    #: (height, width, channels) for image data, else None
    image_shape: tuple[int, int, int] | None = None
    #: "classification" or "regression"
    task: str = "classification"
    #: a table's feature and label column names, and where the data came from
    feature_names: list | None = None
    label_name: str | None = None
    source: str = ""
    #: rows left out for a missing label (``drop_missing_labels``)
    dropped: int = 0
    #: a table's columns left out (an empty one, a saved row index), each said in words
    left_out: list = field(default_factory=list)

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    def named(self, y) -> np.ndarray:
        """Labels as a model compares them: the class indices some loaders give (image
        folders, the cat and MNIST files) become their class names; others stay as they are."""
        y = np.asarray(y)
        # Indices lie in 0..len(classes)-1; labels that are the values themselves (classes =
        # their distinct values) reach that range only when they are 0..k-1, the same thing.
        if self.task == "classification" and self.classes and y.dtype.kind in "iu" and \
                len(y) and y.min() >= 0 and y.max() < len(self.classes):
            return np.asarray(self.classes, dtype=object)[y]
        return y


# ----------------------------------------------------------------------------- toy problems
def moons(n_samples: int = 300, noise: float = 0.2, random_state: int | None = 0):
    """Two interleaving half circles (the first tutorial's data); ``X (n, 2)``, ``y (n,)``."""
    from sklearn.datasets import make_moons

    return make_moons(n_samples, noise=noise, random_state=random_state)


def circles(n_samples: int = 1000, noise: float = 0.05, random_state: int | None = 4):
    """A circle inside a circle (the second tutorial's data, seed 4)."""
    from sklearn.datasets import make_circles

    return make_circles(n_samples, noise=noise, random_state=random_state)


def spirals(n_samples: int = 400, noise: float = 0.2, turns: float = 1.5,
            random_state: int | None = 0):
    """Two interleaved spirals, a harder 2-D problem."""
    rng = np.random.default_rng(random_state)
    n0 = n_samples // 2
    t = np.sqrt(rng.random(n_samples)) * turns * 2 * np.pi
    sign = np.where(np.arange(n_samples) < n0, 1.0, -1.0)
    X = np.column_stack([sign * t * np.cos(t), sign * t * np.sin(t)]) / (turns * np.pi)
    X += rng.normal(scale=noise * 0.1 * turns, size=X.shape)
    y = (np.arange(n_samples) >= n0).astype(np.int64)
    return X, y


def xor(n_samples: int = 400, noise: float = 0.1, random_state: int | None = 0):
    """Four clusters at the corners of a square, labelled by XOR of the coordinates' signs."""
    rng = np.random.default_rng(random_state)
    corners = rng.integers(0, 2, size=(n_samples, 2))
    X = corners * 2.0 - 1.0 + rng.normal(scale=noise * 3, size=(n_samples, 2))
    y = (corners[:, 0] ^ corners[:, 1]).astype(np.int64)
    return X, y


def blobs(n_samples: int = 400, centers: int = 3, random_state: int | None = 0):
    """Gaussian blobs, one per class (multi-class)."""
    from sklearn.datasets import make_blobs

    return make_blobs(n_samples, centers=centers, n_features=2, random_state=random_state)


BUILTINS = {"moons": moons, "circles": circles, "spirals": spirals, "xor": xor, "blobs": blobs}


def _split(name, X, y, test_size=0.2, random_state=0, stratify_by=None, **kwargs) -> Dataset:
    """A seeded train/test split, stratified on the classes (``stratify_by``: the labels as
    the model will compare them) when every class has two samples."""
    from sklearn.model_selection import train_test_split

    by = y if stratify_by is None else stratify_by
    counts = np.unique(by, return_counts=True)[1] if by.ndim == 1 and \
        kwargs.get("task", "classification") == "classification" else None
    stratify = by if counts is not None and counts.min() >= 2 else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=random_state, stratify=stratify)
    return Dataset(name, X_train, y_train, X_test, y_test, **kwargs)


# ----------------------------------------------------------------------------- files
def load_csv(path, label: str | int = -1) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A CSV file with a header or not; ``label`` is the label column (name or index).

    Returns ``X (n, n_features)`` float64, ``y (n,)`` (numbers where they parse, else strings)
    and the feature names.
    """
    path = Path(path)
    with path.open(newline="") as fh:
        rows = [row for row in csv.reader(fh) if row]
    if not rows:
        raise ValueError(f"{str(path)!r} is empty")

    def numeric(cell):
        try:
            float(cell)
            return True
        except ValueError:
            return False

    header = None if all(numeric(c) for c in rows[0]) else [c.strip() for c in rows[0]]
    body = rows[1:] if header else rows
    width = len(rows[0])
    if any(len(r) != width for r in body):
        bad = next(i for i, r in enumerate(body) if len(r) != width)
        raise ValueError(f"{str(path)!r}: line {bad + 1 + bool(header)} has a different number of "
                         f"columns than the first row ({width})")
    if isinstance(label, str) and not label.lstrip("-").isdigit():
        if header is None or label not in header:
            raise ValueError(f"no column named {label!r} in {str(path)!r}; columns are "
                             f"{header or list(range(width))}")
        col = header.index(label)
    else:
        col = int(label) % width
    labels = [r[col].strip() for r in body]
    features = [[c for j, c in enumerate(r) if j != col] for r in body]
    try:
        X = np.array(features, dtype=np.float64)
    except ValueError:
        raise ValueError(f"{str(path)!r}: the feature columns must be numbers (the label "
                         f"column is {header[col] if header else col}; pick another with "
                         "--label)") from None
    y = np.array(labels)
    try:
        y = y.astype(np.float64)
        if np.all(y == np.round(y)):
            y = y.astype(np.int64)
    except ValueError:
        pass
    names = [h for j, h in enumerate(header) if j != col] if header else \
        [f"x{j}" for j in range(X.shape[1])]
    return X, y, names


def _load_table(path: Path, label, seed, test_size, task, drop_missing_labels) -> Dataset:
    """A CSV's raw cells, its labels checked, split."""
    from . import tabular
    from .recipe.targets import Target, check_labels

    table = tabular.read_csv(path, label)
    tabular.check_cells(table)
    keep = check_labels(table.labels, table.line_of, drop=drop_missing_labels)
    X, labels = table.X[keep], table.labels[keep]
    if not len(labels):
        raise ValueError(f"{str(path)!r}: no row has a label")
    kind = detect_task(labels) if task == "auto" else task
    stratify_by, classes = None, []
    if kind == "classification":
        target = Target(kind).fit(labels)
        stratify_by, classes = target.encode(labels), target.classes
    else:
        rows = np.flatnonzero(keep)
        for i, cell in enumerate(labels):
            try:
                ok = math.isfinite(float(cell))
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"{str(path)!r} line {table.line_of(rows[i])}, label "
                                 f"{table.label_name}: {cell!r} is not a number; a regression "
                                 "needs a numeric label in every row (or --task "
                                 "classification)")
    return _split(path.stem, X, labels, test_size=test_size, random_state=seed,
                  stratify_by=stratify_by, classes=classes, task=kind,
                  feature_names=table.feature_names, label_name=table.label_name,
                  source=str(path), dropped=int((~keep).sum()), left_out=table.left_out)


def load_npz(path) -> tuple[np.ndarray, np.ndarray]:
    """A ``.npz`` with arrays ``X`` and ``y`` (or ``x``/``y``, ``data``/``target``)."""
    with open(path, "rb") as fh:
        if fh.read(4) != b"PK\x03\x04":
            raise ValueError(f"{str(path)!r} is not a readable .npz file (not a zip archive; "
                             "save with numpy.savez)")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as exc:          # zipfile, OS and format errors of untrusted bytes
        raise ValueError(f"{str(path)!r} is not a readable .npz file: {exc}") from None
    with archive as data:
        keys = set(data.files)
        for xk, yk in (("X", "y"), ("x", "y"), ("data", "target"), ("X", "Y")):
            if xk in keys and yk in keys:
                try:
                    X, y = data[xk], data[yk]
                except Exception as exc:   # a damaged member: any of NumPy's parse errors
                    raise ValueError(f"{str(path)!r} is damaged: {exc}") from None
                if X.ndim < 1 or len(X) < 2 or y.ndim != 1 or len(y) != len(X) or \
                        X.size == 0 or X.dtype.kind not in "biuf":
                    raise ValueError(f"{str(path)!r}: {xk} must be numbers with at least 2 "
                                     f"rows and {yk} one label per row; got {xk} "
                                     f"{X.shape} {X.dtype} and {yk} {y.shape}")
                return X.reshape(len(X), -1), y
    raise ValueError(f"{str(path)!r} must hold arrays named 'X' and 'y'; it holds "
                     f"{sorted(keys)}")


def load_catvnoncat(folder) -> Dataset:
    """The cat / non-cat HDF5 files of the third tutorial: ``train_catvnoncat.h5`` and
    ``test_catvnoncat.h5`` in ``folder``; 64x64x3 images scaled to [0, 1]."""
    import h5py

    folder = Path(folder)
    out = {}
    for part in ("train", "test"):
        path = folder / f"{part}_catvnoncat.h5"
        if not path.exists():
            raise FileNotFoundError(f"{str(path)!r} not found: the cat folder must hold "
                                    "train_catvnoncat.h5 and test_catvnoncat.h5")
        try:
            with h5py.File(path, "r") as f:
                missing = [k for k in (f"{part}_set_x", f"{part}_set_y", "list_classes")
                           if k not in f]
                if missing:
                    raise ValueError(f"{str(path)!r} lacks the datasets {missing}; the cat "
                                     f"files hold {part}_set_x, {part}_set_y and list_classes")
                x, y = f[f"{part}_set_x"], f[f"{part}_set_y"]
                if x.ndim != 4 or x.shape[3] not in (1, 3) or x.size > 1 << 28 or \
                        len(x) != y.size or not len(x):
                    raise ValueError(f"{str(path)!r}: {part}_set_x must be (n, height, width, "
                                     f"3) images with one label each; got {x.shape} and "
                                     f"{y.shape}")
                x = np.asarray(x)
                out[part] = (x.reshape(len(x), -1) / 255.0, np.asarray(y).ravel())
                classes = [c.decode() if isinstance(c, bytes) else str(c)
                           for c in np.asarray(f["list_classes"])]
        except OSError as exc:
            raise ValueError(f"{str(path)!r} is not a readable HDF5 file: {exc}") from None
    return Dataset("catvnoncat", out["train"][0], out["train"][1].astype(np.int64),
                   out["test"][0], out["test"][1].astype(np.int64), classes=classes,
                   image_shape=tuple(int(d) for d in x.shape[1:]))


def load_idx(path) -> np.ndarray:
    """An IDX file (MNIST's format), gzip-compressed or not, as an array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read(MAX_IDX_BYTES + 1)
    except (OSError, EOFError) as exc:        # gzip.BadGzipFile is an OSError
        raise ValueError(f"{str(path)!r} could not be read: {exc}") from None
    if len(data) > MAX_IDX_BYTES:
        raise ValueError(f"{str(path)!r} holds more than {MAX_IDX_BYTES} bytes; glassnet "
                         "reads IDX files up to that size")
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{str(path)!r} is not an IDX file (bad magic number)")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    kind, ndim = data[2], data[3]
    if kind not in dtypes:
        raise ValueError(f"{str(path)!r}: unknown IDX element type {kind:#x}")
    if ndim < 1 or len(data) < 4 + 4 * ndim:
        raise ValueError(f"{str(path)!r} is truncated: its header names {ndim} dimensions "
                         f"but the file has {len(data)} bytes")
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = np.frombuffer(data, dtype=dtypes[kind], offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{str(path)!r} is truncated: header says {shape}, found {body.size} "
                         "values")
    return body.reshape(shape)


def load_mnist(folder, limit: int | None = None) -> Dataset:
    """MNIST from the four standard IDX files in ``folder`` (``.gz`` or not); pixels in [0, 1].

    ``limit`` keeps the first ``limit`` training and test samples (for quick runs).
    """
    folder = Path(folder)

    def find(stem):
        for name in (f"{stem}.gz", stem, stem.replace("-idx", ".idx")):
            if (folder / name).exists():
                return folder / name
        raise FileNotFoundError(f"{stem}(.gz) not found in {str(folder)!r}")

    parts = {}
    for part, stem in (("train", "train"), ("test", "t10k")):
        images = load_idx(find(f"{stem}-images-idx3-ubyte"))[:limit]
        labels = load_idx(find(f"{stem}-labels-idx1-ubyte"))[:limit]
        parts[part] = (images.reshape(len(images), -1).astype(np.float32) / 255.0,
                       labels.astype(np.int64))
    return Dataset("mnist", *parts["train"], *parts["test"], classes=[str(d) for d in range(10)],
                   image_shape=(28, 28, 1))


def load_image(path, size: tuple[int, int], channels: int = 3) -> np.ndarray:
    """One image file resized to ``size`` (height, width), as a row ``(1, h*w*channels)``
    scaled to [0, 1], like the tutorials' "predict your own image"."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            # Declared size first: a small file may decode to gigapixels (a "bomb").
            if img.width * img.height > MAX_IMAGE_PIXELS:
                raise ValueError(f"{str(path)!r} declares {img.width}x{img.height} pixels, "
                                 f"over glassnet's limit of {MAX_IMAGE_PIXELS}; resize it")
            # Phones store a photo sideways with an orientation tag: turn it upright first.
            img = ImageOps.exif_transpose(img)
            img = img.convert("RGB" if channels == 3 else "L")
            img = img.resize((size[1], size[0]), Image.BILINEAR)
            arr = np.asarray(img, dtype=np.float64) / 255.0
    except FileNotFoundError:
        raise FileNotFoundError(f"no image at {str(path)!r}") from None
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"{str(path)!r} could not be read as an image: {exc}") from None
    return arr.reshape(1, -1)


def load_image_folder(folder, size: tuple[int, int] = (64, 64), seed: int = 0,
                      test_size: float = 0.2) -> Dataset:
    """A folder with one sub-folder of images per class; images resized to ``size``."""
    folder = Path(folder)
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if len(classes) < 2:
        raise ValueError(f"{str(folder)!r} needs one sub-folder of images per class (at least "
                         f"2); found {classes}")
    files = {name: sorted(f for f in (folder / name).iterdir()
                          if f.suffix.lower() in IMAGE_SUFFIXES) for name in classes}
    empty = [name for name, found in files.items() if not found]
    if empty:
        raise ValueError(f"class folders {empty} under {str(folder)!r} hold no images "
                         f"({', '.join(sorted(IMAGE_SUFFIXES))}); every class needs some")
    if size[0] * size[1] * 3 > MAX_IMAGE_PIXELS:
        raise ValueError(f"--image-size {size[0]} makes images of {size[0] * size[1] * 3} "
                         f"values, over the limit of {MAX_IMAGE_PIXELS}")
    X, y = [], []
    for index, name in enumerate(classes):
        for file in files[name]:
            X.append(load_image(file, size)[0])
            y.append(index)
    return _split(folder.name, np.array(X), np.array(y), test_size=test_size,
                  random_state=seed, classes=classes, image_shape=(size[0], size[1], 3),
                  source=str(folder))


def load(spec: str | os.PathLike, label: str | int = -1, seed: int = 0, test_size: float = 0.2,
         image_size: tuple[int, int] = (64, 64), task: str = "auto",
         drop_missing_labels: bool = False) -> Dataset:
    """A built-in name (moons, circles, spirals, xor, blobs) or a path: a CSV file, a ``.npz``,
    the cat/non-cat HDF5 folder, an MNIST IDX folder, or a folder of class sub-folders.

    ``seed`` draws the train/test split (``test_size`` of the samples, stratified for
    classification); ``task`` ``"auto"`` follows a table's label (``tabular.detect_task``).
    The cat and MNIST files come with their own split.

    A CSV's features stay raw cells (text; ``X_train`` is an object array): the model's
    preprocessing turns them into numbers. A missing label is an error naming its line, or,
    with ``drop_missing_labels``, the row is left out (``Dataset.dropped`` counts them).
    """

    text = str(spec)
    if text in BUILTINS:
        X, y = BUILTINS[text](random_state=seed) if text != "circles" else circles()
        return _split(text, X, y, test_size=test_size, random_state=seed,
                      classes=[str(c) for c in np.unique(y)], source=text)
    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"data {text!r} is neither a built-in data set "
                                f"({', '.join(BUILTINS)}) nor an existing path")
    if path.is_dir():
        names = {p.name for p in path.iterdir()}
        if "train_catvnoncat.h5" in names or \
                any(n.startswith("train-images-idx3-ubyte") for n in names):
            ds = load_catvnoncat(path) if "train_catvnoncat.h5" in names else load_mnist(path)
            ds.source = str(path)
            return ds
        return load_image_folder(path, image_size, seed=seed, test_size=test_size)
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return _load_table(path, label, seed, test_size, task, drop_missing_labels)
    if path.suffix.lower() == ".npz":
        X, y = load_npz(path)
        kind = detect_task(np.asarray(y)) if task == "auto" else task
        return _split(path.stem, X, y.astype(np.float64) if kind == "regression" else y,
                      test_size=test_size, random_state=seed, task=kind,
                      classes=[] if kind == "regression" else [str(c) for c in np.unique(y)],
                      source=str(path))
    raise ValueError(f"don't know how to read {text!r}: use a .csv or .npz file, the cat/non-cat "
                     "HDF5 folder, an MNIST IDX folder, or a folder of class sub-folders")
