"""Reading a user's own table (CSV) right, or saying exactly why not.

- the delimiter is sniffed (comma, semicolon, tab, pipe), never assumed;
- decimal commas are read as numbers in a file not delimited by commas (``3,75`` and
  ``1.234,5``, as a spreadsheet in a German or French locale saves them), in a column where
  every present cell is such a number;
- a header is detected from its cells (a first row that is not numbers where the rest are),
  and a row is never dropped silently: a first row of the same kinds as the others is data;
- duplicate column names are an error that names them;
- columns nobody meant as features are left out and said: empty columns without a name (the
  trailing delimiters of a spreadsheet's rows) and the row index pandas writes
  (``_unnamed_columns``);
- the label column is a name or an index in range (negative counts from the end); an
  index past the last column is an error, not a wrap-around;
- the cells stay as the file has them (text): what each column is (numbers, categories, missing
  cells) is the preprocessing's decision (``glassnet.recipe.columns``), learnt from the
  training rows and stored with the model;
- a field of any length is read (up to ``MAX_FIELD`` characters), and a longer one is an error
  naming its line, not a ``csv.Error``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .recipe.columns import MISSING, missing_mask, stray_cell, text
from .recipe.targets import detect_task

__all__ = ["Table", "read_csv", "check_cells", "detect_task", "MISSING", "MAX_FIELD"]

#: the largest header glassnet reads as a sample of the file for sniffing
_SNIFF_BYTES = 64 * 1024
#: the longest field glassnet reads (characters)
MAX_FIELD = 16 * 1024 * 1024


@dataclass
class Table:
    """Raw feature cells ``X (n_samples, n_features)`` (strings), the raw label column, and
    names."""

    X: np.ndarray
    labels: np.ndarray | None
    feature_names: list[str]
    label_name: str | None
    label_index: int | None
    header: bool
    delimiter: str
    path: str = ""
    first_line: int = 1       # the file line of the first data row
    #: columns read but left out, each said in words (``_unnamed_columns``)
    left_out: list[str] = field(default_factory=list)

    def line_of(self, row: int) -> int:
        """The file line of data row ``row``."""
        return row + self.first_line


def _is_number(cell: str) -> bool:
    try:
        value = float(cell)
    except ValueError:
        return False
    return not math.isnan(value) or cell.strip().lower() == "nan"


#: a number with a decimal comma, and optionally dots between thousands: 3,75 or 1.234,5
_DECIMAL_COMMA = re.compile(r"[+-]?(\d+|\d{1,3}(\.\d{3})+)(,\d+)?")


def _decimal_comma_number(cell: str) -> bool:
    return _DECIMAL_COMMA.fullmatch(cell.strip()) is not None


def _decimal_commas(column: np.ndarray) -> np.ndarray | None:
    """``column (n,)`` of cells with decimal commas made into Python's numbers (``"1.234,5"``
    -> ``"1234.5"``), or None when it is not such a column: some present cell is another
    thing, or no cell has a comma (``"1.234"`` alone stays one point two three four)."""
    if not any("," in cell for cell in column):
        return None
    present = ~missing_mask(column)
    if not all(map(_decimal_comma_number, column[present])):
        return None
    out = column.copy()
    out[present] = [c.replace(".", "").replace(",", ".") for c in column[present]]
    return out


def _sniff(sample: str, whole: bool) -> str:
    """The delimiter of a file whose first characters are ``sample`` (``whole``: all of it)."""
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    if delimiter == ",":
        # Rows of decimal commas between semicolons (or tabs) have as many commas as
        # delimiters: the sniffer may take either. Where the other split gives rows of one
        # width whose every comma is a decimal comma, it is the file's.
        for other in ";\t|":
            if _decimal_comma_rows(sample, whole, other):
                return other
    return delimiter


def _decimal_comma_rows(sample: str, whole: bool, delimiter: str) -> bool:
    rows = [row for row in csv.reader(io.StringIO(sample), delimiter=delimiter) if row]
    rows = rows if whole else rows[:-1]            # the sample may end inside a row
    if not rows or len(rows[0]) < 2 or any(len(row) != len(rows[0]) for row in rows):
        return False
    commas = [cell for row in rows for cell in row if "," in cell]
    return bool(commas) and all(map(_decimal_comma_number, commas))


def _read_rows(path: Path):
    limit = csv.field_size_limit()
    csv.field_size_limit(MAX_FIELD)
    reader = None
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            sample = fh.read(_SNIFF_BYTES)
            fh.seek(0)
            delimiter = _sniff(sample, whole=len(sample) < _SNIFF_BYTES)
            reader = csv.reader(fh, delimiter=delimiter)
            # A blank line is no row; a line of empty cells (",,,") is a row of missing values.
            rows = [row for row in reader if len(row) > 1 or (row and row[0].strip())]
    except UnicodeDecodeError:
        raise ValueError(f"{str(path)!r} is not a UTF-8 text file; save it as CSV (UTF-8)") \
            from None
    except csv.Error as exc:
        line = reader.line_num if reader is not None else "?"
        raise ValueError(f"{str(path)!r} line {line}: {exc} (a field may be at most "
                         f"{MAX_FIELD} characters)") from None
    finally:
        csv.field_size_limit(limit)
    if not rows:
        raise ValueError(f"{str(path)!r} has no rows")
    return rows, delimiter


def _has_header(rows, decimal_comma: bool = False) -> bool:
    """A first row is a header when some column holds a number in most data rows but not in
    the first row (nor a missing cell); else it is data (the kinds of its cells match the
    rows below). With ``decimal_comma``, ``3,75`` is a number too."""
    def number(cell):
        return _is_number(cell) or (decimal_comma and "," in cell and
                                    _decimal_comma_number(cell))

    if len(rows) < 2:
        return not all(number(c) for c in rows[0])
    first, rest = rows[0], rows[1:50]
    for j, cell in enumerate(first):
        column = [r[j] for r in rest if j < len(r)]
        numeric_below = sum(number(c) for c in column) > len(column) / 2
        # A missing cell ("NA", empty) over numbers is a hole in the first row, not a name.
        if numeric_below and not number(cell) and cell.strip().lower() not in MISSING:
            return True
    # All-text columns: a header whose names repeat no value of their column below.
    if all(not number(c) for c in first) and len(rest) > 0:
        return all(first[j] not in {r[j] for r in rest if j < len(r)}
                   for j in range(len(first)))
    return False


def _unnamed_columns(rows, header: bool) -> tuple[list[int], list[str]]:
    """Columns nobody meant as features: ``(indices, what each is, in words)``.

    - a column of empty cells under an empty name: the delimiters a spreadsheet leaves at
      the ends of rows (``a,b,,``). Without a header nothing is left out: there, an empty
      last column may as well be labels missing, which must be an error;
    - a first column with an empty name and distinct whole numbers (0, 1, 2, ...): the index
      pandas writes by default (``DataFrame.to_csv`` without ``index=False``). Kept, it lets a
      model learn the order of the file's rows, which is often sorted by the label.
    """
    if not header:
        return [], []
    names, body = rows[0], rows[1:]
    drop, said = [], []
    for j, name in enumerate(names):
        if name.strip():
            continue
        cells = [row[j].strip() for row in body]
        if not any(cells):
            drop.append(j)
        elif j == 0 and all(c.isdigit() for c in cells) and \
                len(set(cells)) == len(cells):
            drop.append(j)
            said.append("the first column, without a name: a row index (0, 1, 2, ...), as "
                        "pandas writes one")
    if len(drop) > len(said):
        n = len(drop) - len(said)
        said.append(f"{n} empty column{'s' if n > 1 else ''} without a name")
    return drop, said


def _names_a_cell(label, first: list[str]) -> bool:
    """Whether ``--label`` can only be the name of a cell of the first row: it is one, and
    not an index in range (``--label 2013`` in a table of 58 columns)."""
    if label is None:
        return False
    text = str(label).strip()
    try:
        index = int(text)
    except ValueError:
        index = None
    return text in [c.strip() for c in first] and \
        (index is None or not -len(first) <= index < len(first))


def _label_column(label, header_names, width, path) -> int | None:
    if label is None:
        return None
    text = str(label).strip()
    if header_names is not None and text in header_names:
        return header_names.index(text)
    try:
        index = int(text)
    except ValueError:
        names = header_names if header_names is not None else "no header: use an index"
        raise ValueError(f"no column named {text!r} in {str(path)!r}; its columns are "
                         f"{names}") from None
    if not -width <= index < width:
        raise ValueError(f"--label {index} is out of range: {str(path)!r} has {width} columns "
                         f"(indices 0 to {width - 1}, or -1 to -{width} from the end)")
    return index % width


def read_csv(path, label="-1", feature_names: list[str] | None = None) -> Table:
    """Read ``path``; ``label`` names the label column (``None``: no label, features only).

    ``feature_names``: the columns a model was trained on; a file with a header is read by
    those names (in their order, whatever the file's), one without must have them in order.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no file at {str(path)!r}")
    rows, delimiter = _read_rows(path)
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"{str(path)!r}: line {i + 1} has {len(row)} fields but line 1 has "
                             f"{width} (delimiter {delimiter!r}); every row needs the same "
                             "columns")
    # A first row that holds the label's name, or every feature name a model was trained on,
    # is a header whatever its cells look like (years as names: "1960", ..., "2013").
    header = _has_header(rows, decimal_comma=delimiter != ",") or \
        _names_a_cell(label, rows[0]) or \
        (bool(feature_names) and set(feature_names) <= {c.strip() for c in rows[0]})
    drop, left_out = _unnamed_columns(rows, header)
    if drop:
        if len(drop) == width:
            raise ValueError(f"{str(path)!r} has no column with a value")
        dropped = set(drop)
        keep = [j for j in range(width) if j not in dropped]
        rows = [[row[j] for j in keep] for row in rows]
        width = len(keep)
    names = [c.strip() for c in rows[0]] if header else None
    if names is not None and len(set(names)) < len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"{str(path)!r} has duplicate column names {repeated}; every column "
                         "needs its own name (rename them in the header)")
    body = rows[1:] if header else rows
    if not body:
        raise ValueError(f"{str(path)!r} has a header but no data rows")
    line_of = 2 if header else 1              # the file line of body row 0
    col = _label_column(label, names, width, path)
    if feature_names is not None and names is not None:
        missing = [n for n in feature_names if n not in names]
        if missing:
            raise ValueError(f"{str(path)!r} lacks the model's feature columns {missing}; its "
                             f"columns are {names}")
        columns = [names.index(n) for n in feature_names]
    else:
        columns = [j for j in range(width) if j != col]
        if feature_names is not None and len(columns) != len(feature_names):
            if col is None and width == len(feature_names) + 1:
                raise ValueError(f"{str(path)!r} has {width} columns; the model takes "
                                 f"{len(feature_names)} features ({feature_names}): drop the "
                                 "label column, or give the file a header")
            raise ValueError(f"{str(path)!r} has {len(columns)} feature columns; the model "
                             f"takes {len(feature_names)} ({feature_names})")
    if not columns:
        raise ValueError(f"{str(path)!r} has no column besides the label "
                         f"{names[col] if names else col!r}: a model needs at least one feature "
                         "column to predict it from")
    cells = np.array(body, dtype=object)
    if delimiter != ",":                       # a comma inside a cell can be a decimal comma
        for j in range(width):
            numbers = _decimal_commas(cells[:, j])
            if numbers is not None:
                cells[:, j] = numbers
    X = cells[:, columns]
    labels = None if col is None else text(cells[:, col])
    feature_out = [names[j] for j in columns] if names else [f"x{j}" for j in columns]
    return Table(X, labels, feature_out, names[col] if names and col is not None else
                 (None if col is None else str(col)), col, header, delimiter, str(path),
                 line_of, left_out)


def check_cells(table: Table) -> None:
    """Refuse a cell that would spoil a numeric column (``columns.stray_cell``: an infinity,
    or a typo in a column of numbers), naming its line and column and the fix."""
    for j, name in enumerate(table.feature_names):
        row = stray_cell(table.X[:, j])
        if row is not None:
            cell = str(table.X[row, j]).strip()
            raise ValueError(f"{table.path!r} line {table.line_of(row)}, {name}: {cell!r} is "
                             "not a finite number, in a column of numbers. Fix that cell, or "
                             "leave it empty (or NA) for a missing value that the model "
                             "imputes")
