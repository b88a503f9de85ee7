"""Raw columns to network inputs, learnt from the training rows and stored as plain data.

What scikit-learn users build by hand with a ``ColumnTransformer`` of ``SimpleImputer``,
``OneHotEncoder`` and ``StandardScaler``, decided per column from the training table and kept
in the model file (JSON, never pickle), so ``evaluate``, ``predict``, ``explain``, the ONNX
export and the playground apply exactly what training applied:

- a **numeric** column (every present cell a number) is standardised (``scale="standard"``:
  mean 0, standard deviation 1, a constant column left unscaled, as ``StandardScaler``), or
  min-max scaled to [0, 1], or centred on its mean (``"center"``, images' pixels), or left as
  it is (``"none"``). When the training column had
  missing cells (empty, ``NA``, ``NaN``, ``null``, ...) they are imputed with the training
  median, and a 0/1 *missing-indicator* input follows the value (``SimpleImputer(
  strategy="median", add_indicator=True)``); a column with no missing training cells imputes a
  missing cell at predict time all the same, with no indicator;
- a **categorical** column (text or booleans) is one-hot encoded over the categories seen in
  training (the ``max_categories`` most frequent; sorted) plus one *unknown* input, set for a
  category never seen in training, a rarer one, or a missing cell.

``Preprocessor.transform`` takes the raw cells ``(n_samples, n_columns)``: an array of strings
(a CSV's cells) or of numbers, and gives ``(n_samples, n_inputs)`` floats. ``input_names`` and
``sources`` say which raw column each input came from (``explain`` shows them).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Preprocessor", "SCALES", "MISSING", "missing_mask", "parse_numbers", "text",
           "stray_cell"]

#: how numeric columns are scaled
SCALES = ("standard", "minmax", "center", "none")
#: cells that mean "no value" (compared stripped and lower-cased)
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-", "missing", "<na>"})
#: the stored format's version
FORMAT = 2


def missing_mask(cells: np.ndarray) -> np.ndarray:
    """True where a cell (``(n,)`` strings or numbers) means "no value"."""
    cells = np.asarray(cells)
    if cells.dtype.kind in "fc":
        return np.isnan(cells)
    if cells.dtype.kind in "iub":
        return np.zeros(cells.shape, bool)
    return np.fromiter((str(c).strip().lower() in MISSING for c in cells.ravel()), bool,
                       cells.size).reshape(cells.shape)


def stray_cell(cells) -> int | None:
    """The row of the first cell that spoils a numeric column: an infinity, or text in a
    column whose present cells are at least 90 % numbers (a typo, not a category); else
    None. Such a column would silently become categorical, so readers refuse it, naming the
    cell's line."""
    cells = np.asarray(cells)
    if cells.dtype.kind in "iub":
        return None
    if cells.dtype.kind == "f":
        bad = np.flatnonzero(np.isinf(cells))
        return int(bad[0]) if len(bad) else None
    try:                  # the common case, every cell a number: one pass in C (10x faster)
        numbers = cells.astype(np.float64)
    except (TypeError, ValueError):
        pass
    else:
        bad = np.flatnonzero(np.isinf(numbers))
        return int(bad[0]) if len(bad) else None
    present = np.flatnonzero(~missing_mask(cells))
    allowed = 0.1 * len(present)              # more text than this: a column of categories
    numbers = np.full(len(cells), np.nan)
    text_rows = []
    for i in present:
        try:
            numbers[i] = float(cells[i])
        except (TypeError, ValueError):
            text_rows.append(i)
            if len(text_rows) > allowed:
                return None
    infinite = np.flatnonzero(np.isinf(numbers))
    if len(infinite):
        return int(infinite[0])
    return int(text_rows[0]) if text_rows else None


def text(cells) -> np.ndarray:
    """``cells (n,)`` as stripped Python strings in an object array (not NumPy's fixed-width
    strings, which would make every cell as long as the longest)."""
    return np.array([str(c).strip() for c in np.asarray(cells, dtype=object).ravel()],
                    dtype=object)


def parse_numbers(cells: np.ndarray) -> np.ndarray | None:
    """``cells (n,)`` as float64 with NaN where missing, or None when a present cell is not a
    number (the column is categorical). Infinities are refused: no scaling can use them."""
    cells = np.asarray(cells)
    if cells.dtype.kind in "iubf":
        values = cells.astype(np.float64)
    else:
        cells = np.asarray(cells, dtype=object)
        try:                                  # the common case: all numbers (float() strips)
            values = cells.astype(np.float64)
        except (ValueError, TypeError):
            missing = missing_mask(cells)
            values = np.full(len(cells), np.nan)
            try:
                values[~missing] = cells[~missing].astype(np.float64)
            except (ValueError, TypeError):
                return None
    if np.isinf(values).any():
        raise ValueError(f"an infinite value ({cells[np.isinf(values)][0]!r}); every numeric "
                         "cell must be a finite number or missing")
    return values


class Preprocessor:
    """Per-column imputation, scaling and one-hot encoding, fitted on the training rows.

    Parameters
    ----------
    scale : ``"standard"``, ``"minmax"`` or ``"none"``: how numeric columns are scaled.
    max_categories : int, the most categories a text column keeps (the most frequent); the
        rest share the unknown input.
    """

    def __init__(self, scale: str = "standard", max_categories: int = 50):
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(SCALES)}; got {scale!r}")
        if isinstance(max_categories, bool) or not isinstance(max_categories, int) \
                or max_categories < 1:
            raise ValueError(f"max_categories must be a positive integer; got {max_categories!r}")
        self.scale, self.max_categories = scale, max_categories
        self.columns: list[dict] | None = None

    # ------------------------------------------------------------------ fitting
    def fit(self, X, names: list[str] | None = None) -> Preprocessor:
        """Learn each column's kind and numbers from ``X (n_samples, n_columns)``, the training
        rows (strings or numbers); ``names`` are the raw column names."""
        X = np.asarray(X)
        if X.ndim != 2 or not len(X):
            raise ValueError(f"preprocessing needs a 2-D table with rows; got shape {X.shape}")
        names = [f"x{j}" for j in range(X.shape[1])] if names is None else list(names)
        if len(names) != X.shape[1]:
            raise ValueError(f"{len(names)} column names for {X.shape[1]} columns")
        if X.dtype.kind in "iubf":          # a numeric block (images, arrays): one vector pass
            self.columns = self._fit_numeric_block(X if X.dtype.kind == "f" else
                                                   X.astype(np.float64), names)
            return self
        self.columns = []
        for j, name in enumerate(names):
            try:
                values = parse_numbers(X[:, j])
            except ValueError as exc:
                raise ValueError(f"column {name!r}: {exc}") from None
            if values is None:
                self.columns.append(self._fit_categorical(X[:, j], name))
            else:
                self.columns += self._fit_numeric_block(values[:, None], [name])
        return self

    def _fit_numeric_block(self, X: np.ndarray, names: list[str]) -> list[dict]:
        missing = np.isnan(X)
        any_missing = missing.any(axis=0)
        # Every column keeps its median: a cell may be missing at predict time in a column that
        # had none in training (it is imputed then, without an indicator).
        median = np.zeros(X.shape[1])
        present = ~missing.all(axis=0)
        if any_missing.any():
            median[present] = np.nanmedian(X[:, present], axis=0)
            X = np.where(missing, median, X)
        else:
            median = np.median(X, axis=0).astype(np.float64)
        if self.scale == "standard":     # float64 sums, whatever X's dtype (float32 pixels)
            offset, spread = X.mean(axis=0, dtype=np.float64), X.std(axis=0, dtype=np.float64)
        elif self.scale == "minmax":
            low, high = X.min(axis=0).astype(np.float64), X.max(axis=0).astype(np.float64)
            offset, spread = low, high - low
        elif self.scale == "center":      # images: each pixel's mean removed, its range kept
            offset, spread = X.mean(axis=0, dtype=np.float64), np.ones(X.shape[1])
        else:
            offset, spread = np.zeros(X.shape[1]), np.ones(X.shape[1])
        # A constant column stays as it is (scikit-learn's rule), rather than dividing by 0.
        scale = np.where(spread > 0, spread, 1.0)
        return [{"name": str(n), "kind": "numeric", "median": float(m), "offset": float(o),
                 "scale": float(s), "indicator": bool(i)}
                for n, m, o, s, i in zip(names, median, offset, scale, any_missing)]

    def _fit_categorical(self, cells: np.ndarray, name: str) -> dict:
        present = text(cells[~missing_mask(cells)])
        values, counts = np.unique(present, return_counts=True)
        if len(values) > self.max_categories:   # the most frequent, ties by name
            keep = np.lexsort((values, -counts))[:self.max_categories]
            values = values[keep]
        return {"name": str(name), "kind": "categorical",
                "categories": sorted(str(v) for v in values)}

    # ------------------------------------------------------------------ applying
    @property
    def fitted(self) -> bool:
        return self.columns is not None

    @property
    def names(self) -> list[str]:
        """The raw columns, in the order ``transform`` takes them."""
        return [c["name"] for c in self._checked()]

    @property
    def input_names(self) -> list[str]:
        """One name per network input: ``col``, ``col (missing)``, ``col=cat``, ``col=?``."""
        out = []
        for c in self._checked():
            if c["kind"] == "numeric":
                out += [c["name"]] + ([f"{c['name']} (missing)"] if c["indicator"] else [])
            else:
                out += [f"{c['name']}={v}" for v in c["categories"]] + [f"{c['name']}=?"]
        return out

    @property
    def sources(self) -> list[int]:
        """For each network input, the index of the raw column it came from."""
        return [j for j, c in enumerate(self._checked()) for _ in range(_width(c))]

    @property
    def n_inputs(self) -> int:
        return sum(_width(c) for c in self._checked())

    @property
    def all_numeric(self) -> bool:
        """Every raw column is numbers (no text column): one array ``X`` can carry them, as
        the ONNX export's one input does."""
        return all(c["kind"] == "numeric" for c in self._checked())

    @property
    def is_identity(self) -> bool:
        """Numbers in, the same numbers out: no scaling, no indicators, no categories."""
        return self.all_numeric and all(not c["indicator"] and c["offset"] == 0
                                        and c["scale"] == 1 for c in self._checked())

    def _checked(self) -> list[dict]:
        if self.columns is None:
            raise RuntimeError("the preprocessor is not fitted")
        return self.columns

    def transform(self, X) -> np.ndarray:
        """``X (n_samples, n_columns)`` raw cells, the columns in ``names`` order, to
        ``(n_samples, n_inputs)`` float64 (float32 stays float32 when nothing changes)."""
        columns = self._checked()
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != len(columns):
            raise ValueError(f"the model takes {len(columns)} columns ({self.names[:8]}"
                             f"{' ...' if len(columns) > 8 else ''}); got shape {X.shape}")
        if X.dtype.kind in "iubf" and self.all_numeric:
            return self._transform_numeric_block(X)
        out = np.empty((len(X), self.n_inputs))
        k = 0
        for j, c in enumerate(columns):
            width = _width(c)
            try:
                out[:, k:k + width] = self._transform_column(X[:, j], c)
            except ValueError as exc:
                raise ValueError(f"column {c['name']!r}: {exc}") from None
            k += width
        return out

    def _transform_numeric_block(self, X: np.ndarray) -> np.ndarray:
        columns = self.columns
        if self.is_identity and not (X.dtype.kind == "f" and np.isnan(X).any()):
            return X                                     # images: no copy of the data
        X = X.astype(np.float64, copy=False)
        missing = np.isnan(X)
        if np.isinf(X).any():
            raise ValueError("X holds an infinite value; every cell must be finite or missing")
        offset = np.array([c["offset"] for c in columns])
        scale = np.array([c["scale"] for c in columns])
        if missing.any():
            X = np.where(missing, np.array([c["median"] for c in columns]), X)
        values = (X - offset) / scale
        indicators = [j for j, c in enumerate(columns) if c["indicator"]]
        if not indicators:
            return values
        out = np.empty((len(X), self.n_inputs))
        positions = np.cumsum([0] + [_width(c) for c in columns])[:-1]
        out[:, positions] = values
        out[:, positions[indicators] + 1] = missing[:, indicators]
        return out

    @staticmethod
    def _transform_column(cells: np.ndarray, c: dict) -> np.ndarray:
        if c["kind"] == "numeric":
            values = parse_numbers(cells)
            if values is None:
                bad = next(v for v in cells if not missing_mask(np.array([v]))[0]
                           and parse_numbers(np.array([v])) is None)
                raise ValueError(f"{str(bad)!r} is not a number, and the model learnt this "
                                 "column as numeric")
            missing = np.isnan(values)
            values = (np.where(missing, c["median"], values) - c["offset"]) / c["scale"]
            return np.column_stack([values, missing]) if c["indicator"] else values[:, None]
        categories = np.array(c["categories"], dtype=object)
        cells = text(cells)
        index = np.searchsorted(categories, cells) if len(categories) else \
            np.zeros(len(cells), int)
        known = (index < len(categories)) & ~missing_mask(cells)
        known[known] = categories[index[known]] == cells[known]
        onehot = np.zeros((len(cells), len(categories) + 1))
        onehot[np.flatnonzero(known), index[known]] = 1.0
        onehot[~known, -1] = 1.0                          # never seen, rare, or missing
        return onehot

    # ------------------------------------------------------------------ stored as data
    def to_dict(self) -> dict:
        """Plain JSON, compact for wide inputs (an image's 12288 columns): parallel lists, and
        no names when they are the default ``x0, x1, ...``."""
        columns = self._checked()
        names = [c["name"] for c in columns]
        numeric = [c for c in columns if c["kind"] == "numeric"]
        return {"format": FORMAT, "scale": self.scale, "max_categories": self.max_categories,
                "names": None if names == [f"x{j}" for j in range(len(names))] else names,
                "kinds": "numeric" if len(numeric) == len(columns) else
                [c["kind"] for c in columns],
                "median": [c["median"] for c in numeric],
                "offset": [c["offset"] for c in numeric],
                "spread": [c["scale"] for c in numeric],
                "indicator": [j for j, c in enumerate(numeric) if c["indicator"]],
                "categories": [c["categories"] for c in columns if c["kind"] == "categorical"]}

    @classmethod
    def from_dict(cls, data, n_inputs: int | None = None) -> Preprocessor:
        """From ``to_dict`` output (a model file's metadata), checked; ``n_inputs``: the
        network's input width it must produce. The first format (one ``Scaler``'s ``kind``,
        ``offset`` and ``scale`` lists, written before glassnet 0.2) is read too."""
        if not isinstance(data, dict):
            raise ValueError(f"preprocessing must be an object, got {type(data).__name__}")
        if "format" not in data:
            data = _from_first_format(data)
        scale = data.get("scale")
        if scale not in SCALES:
            raise ValueError(f"preprocessing scale must be one of {SCALES}; got {scale!r}")
        max_categories = data.get("max_categories", 50)
        self = cls(scale, max_categories if isinstance(max_categories, int) else 50)
        self.columns = _stored_columns(data)
        if n_inputs is not None and self.n_inputs != n_inputs:
            raise ValueError(f"preprocessing makes {self.n_inputs} inputs but the network takes "
                             f"{n_inputs}")
        return self

    def summary(self) -> str:
        """One line: how many columns of each kind, and what becomes of them."""
        columns = self._checked()
        numeric = [c for c in columns if c["kind"] == "numeric"]
        text = [c for c in columns if c["kind"] == "categorical"]
        parts = [f"{len(numeric)} numeric ({self.scale} scaled"
                 + (f", {sum(c['indicator'] for c in numeric)} with missing values imputed"
                    if any(c["indicator"] for c in numeric) else "") + ")"] if numeric else []
        if text:
            parts.append(f"{len(text)} categorical (one-hot, "
                         f"{sum(len(c['categories']) for c in text)} categories + unknown)")
        return f"{len(columns)} columns -> {self.n_inputs} inputs: " + "; ".join(parts)

    def __repr__(self):
        return f"Preprocessor(scale={self.scale!r}, columns={len(self.columns or [])})"


def _width(c: dict) -> int:
    if c["kind"] == "numeric":
        return 2 if c["indicator"] else 1
    return len(c["categories"]) + 1


def _numbers(data, key, n, low=None) -> list[float]:
    values = data.get(key)
    if not isinstance(values, list) or len(values) != n or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
            and (low is None or v > low) for v in values):
        raise ValueError(f"preprocessing {key!r} must be a list of {n} finite numbers"
                         + (f" > {low}" if low is not None else ""))
    return [float(v) for v in values]


def _stored_columns(data: dict) -> list[dict]:
    """The column dicts of ``to_dict``'s parallel lists, every field checked."""
    kinds = data.get("kinds")
    if kinds == "numeric":
        n = len(data.get("offset") or [])
        kinds = ["numeric"] * n
    if not isinstance(kinds, list) or not all(k in ("numeric", "categorical") for k in kinds):
        raise ValueError("preprocessing 'kinds' must be 'numeric' or a list of numeric and "
                         "categorical")
    names = data.get("names")
    if names is None:
        names = [f"x{j}" for j in range(len(kinds))]
    if not isinstance(names, list) or len(names) != len(kinds) or \
            not all(isinstance(v, str) for v in names):
        raise ValueError(f"preprocessing 'names' must be a list of {len(kinds)} strings")
    n_numeric = kinds.count("numeric")
    median = _numbers(data, "median", n_numeric)
    offset = _numbers(data, "offset", n_numeric)
    spread = _numbers(data, "spread", n_numeric, low=0)
    indicator = data.get("indicator", [])
    if not isinstance(indicator, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n_numeric
            for i in indicator):
        raise ValueError(f"preprocessing 'indicator' must list numeric columns (0 to "
                         f"{n_numeric - 1})")
    categories = data.get("categories", [])
    if not isinstance(categories, list) or len(categories) != len(kinds) - n_numeric or \
            not all(isinstance(c, list) and all(isinstance(v, str) for v in c)
                    and c == sorted(set(c)) for c in categories):
        raise ValueError("preprocessing 'categories' must hold, per categorical column, a "
                         "sorted list of distinct strings")
    columns, numeric, text = [], iter(range(n_numeric)), iter(categories)
    flagged = set(indicator)
    for name, kind in zip(names, kinds):
        if kind == "numeric":
            i = next(numeric)
            columns.append({"name": name, "kind": "numeric", "median": median[i],
                            "offset": offset[i], "scale": spread[i], "indicator": i in flagged})
        else:
            columns.append({"name": name, "kind": "categorical", "categories": next(text)})
    return columns


def _from_first_format(data: dict) -> dict:
    """``{"kind", "offset", "scale"}`` (one Scaler over numeric columns) in today's format."""
    offset, scale = data.get("offset"), data.get("scale")
    if not isinstance(offset, list) or not isinstance(scale, list):
        raise ValueError("preprocessing needs numeric 'offset' and 'scale' lists")
    return {"format": FORMAT, "scale": data.get("kind", "none"), "kinds": ["numeric"] *
            len(offset), "median": [0.0] * len(offset), "offset": offset, "spread": scale}
