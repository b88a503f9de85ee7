"""The table reader's decisions and the stored scaling, checked against what they stand for."""

import numpy as np
import pytest
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from glassnet.recipe import Preprocessor
from glassnet.tabular import detect_task, read_csv


@pytest.mark.parametrize("kind,reference", [("standard", StandardScaler),
                                            ("minmax", MinMaxScaler)])
def test_numeric_scaling_is_scikit_learns(kind, reference):
    rng = np.random.default_rng(0)
    X = rng.normal(loc=3, scale=[1, 10, 100], size=(50, 3))
    X[:, 1] = 7.0                                        # a constant column is left as is
    ours = Preprocessor(kind).fit(X)
    np.testing.assert_allclose(ours.transform(X), reference().fit_transform(X), atol=1e-12)
    again = Preprocessor.from_dict(ours.to_dict())
    np.testing.assert_array_equal(again.transform(X), ours.transform(X))


def test_the_identity_copies_nothing():
    X = np.ones((4, 2))
    assert Preprocessor("none").fit(X).transform(X) is X


@pytest.mark.parametrize("data", [
    [], {"format": 2, "scale": "standard", "kinds": "numeric", "median": [0, 0],
         "offset": [0, 1], "spread": [1]},
    {"format": 2, "scale": "standard", "kinds": "numeric", "median": [0], "offset": [0],
     "spread": [0]},
    {"format": 2, "scale": "cubic", "kinds": "numeric", "median": [0], "offset": [0],
     "spread": [1]},
    {"format": 2, "scale": "standard", "kinds": ["categorical"], "median": [], "offset": [],
     "spread": [], "categories": [["b", "a"]]},
    {"format": 2, "scale": "standard", "kinds": "numeric", "median": [0], "offset": [0],
     "spread": [1], "indicator": [3]},
    {"kind": "standard", "offset": [0, 1], "scale": [1]}])
def test_damaged_stored_preprocessing_is_refused(data):
    with pytest.raises(ValueError):
        Preprocessor.from_dict(data)


def test_the_first_stored_format_is_still_read():
    old = {"kind": "standard", "offset": [1.0, 2.0], "scale": [2.0, 4.0]}
    pre = Preprocessor.from_dict(old)
    np.testing.assert_allclose(pre.transform(np.array([[3.0, 6.0]])), [[1.0, 1.0]])


@pytest.mark.parametrize("labels,task", [
    (["a", "b", "a"], "classification"), (["1", "0", "1", "0"], "classification"),
    ([str(v) for v in np.linspace(0, 1, 40)], "regression"),
    ([str(v) for v in range(100)], "regression"),       # many distinct integers: a count
    (["3", "5", "NA", "4.5", "2.25"], "regression"), (["True", "False"], "classification")])
def test_the_task_follows_the_label(labels, task):
    assert detect_task(np.array(labels)) == task


def test_a_header_of_numbers_is_data_and_text_is_a_header(tmp_path):
    (tmp_path / "a.csv").write_text("1,2,x\n3,4,y\n5,6,x\n")
    (tmp_path / "b.csv").write_text("f1,f2,label\n3,4,y\n5,6,x\n")
    assert len(read_csv(tmp_path / "a.csv").X) == 3
    # A hole in the first row is no name: "NA" or an empty cell over numbers is data.
    for hole in ("NA", ""):
        (tmp_path / "c.csv").write_text(f"1,{hole},x\n3,4,y\n5,6,x\n")
        assert len(read_csv(tmp_path / "c.csv").X) == 3
    table = read_csv(tmp_path / "b.csv")
    assert len(table.X) == 2 and table.feature_names == ["f1", "f2"]


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_decimal_commas_are_numbers_in_a_file_not_delimited_by_commas(tmp_path, delimiter,
                                                                      header):
    """As a spreadsheet in a German or French locale saves a table: semicolons (or tabs)
    between cells, a comma before the decimals, dots between thousands. Without a header a
    row has as many commas as delimiters, and the delimiter is still the semicolon."""
    rows = [["39,1", "1.234,5", "-0,25", "NA", "Adelie"],
            ["40", "2.000", "3,5", "7,125", "Gentoo"],
            ["", "987,0", "+1,0", "2", "Adelie"]]
    lines = ([delimiter.join(["bill", "mass", "delta", "gap", "species"])] if header else []) \
        + [delimiter.join(r) for r in rows]
    (tmp_path / "eu.csv").write_text("\n".join(lines) + "\n")
    table = read_csv(tmp_path / "eu.csv")
    assert table.delimiter == delimiter and table.header == header
    assert list(table.labels) == ["Adelie", "Gentoo", "Adelie"]
    names = ["bill", "mass", "delta", "gap"] if header else ["x0", "x1", "x2", "x3"]
    pre = Preprocessor("none").fit(table.X, table.feature_names)
    assert [c["kind"] for c in pre.columns] == ["numeric"] * 4
    expected = np.array([[39.1, 1234.5, -0.25, 4.5625], [40, 2000, 3.5, 7.125],
                         [39.55, 987, 1, 2]])       # missing cells: the column's median
    inputs = [pre.input_names.index(name) for name in names]
    np.testing.assert_allclose(pre.transform(table.X)[:, inputs], expected)


def test_commas_are_text_where_they_are_not_decimal_commas(tmp_path):
    # A comma-delimited file's quoted "1,5" is text (it may be a thousands separator); in a
    # semicolon file a column with one non-number keeps its commas; a comma-delimited file
    # whose text holds a semicolon in every row stays comma-delimited.
    (tmp_path / "en.csv").write_text('a,b\n"1,5",x\n"2,5",y\n"3,5",x\n')
    (tmp_path / "mixed.csv").write_text("a;b\n1,5;x\n2,5 kg;y\n3;x\n")
    (tmp_path / "tags.csv").write_text("tags,n\n\"a;b\",1\n\"c;d\",2\n\"e;f\",3\n")
    assert list(read_csv(tmp_path / "en.csv", label="b").X[:, 0]) == ["1,5", "2,5", "3,5"]
    assert list(read_csv(tmp_path / "mixed.csv", label="b").X[:, 0]) == ["1,5", "2,5 kg", "3"]
    tags = read_csv(tmp_path / "tags.csv", label="n")
    assert tags.delimiter == "," and list(tags.X[:, 0]) == ["a;b", "c;d", "e;f"]


def test_a_saved_row_index_and_empty_columns_are_left_out_and_said(tmp_path):
    # pandas' DataFrame.to_csv writes the index first, under an empty name; a spreadsheet
    # ends rows with delimiters. Neither is a feature: the index would let a model learn the
    # order of the rows (files are often sorted by the label).
    (tmp_path / "pandas.csv").write_text(",a,b,label\n0,1.5,x,p\n1,2.5,y,q\n3,0.5,x,p\n")
    table = read_csv(tmp_path / "pandas.csv")
    assert table.feature_names == ["a", "b"] and list(table.labels) == ["p", "q", "p"]
    assert table.left_out == ["the first column, without a name: a row index (0, 1, 2, ...), "
                              "as pandas writes one"]
    (tmp_path / "sheet.csv").write_text("a,b,label,,\n1.5,x,p,,\n2.5,y,q,,\n")
    table = read_csv(tmp_path / "sheet.csv")          # --label -1: the last real column
    assert table.feature_names == ["a", "b"] and list(table.labels) == ["p", "q"]
    assert table.left_out == ["2 empty columns without a name"]
    # Without a header an empty last column may be labels missing: an error, never skipped.
    (tmp_path / "headless.csv").write_text("1.5,p,\n2.5,q,\n")
    table = read_csv(tmp_path / "headless.csv")
    assert table.X.shape == (2, 2) and table.left_out == [] and list(table.labels) == ["", ""]


def test_columns_with_a_name_or_with_values_are_kept(tmp_path):
    # A named column stays even when empty; an unnamed first column that is not a row index
    # (repeats, text, a gap) stays too: it is data.
    (tmp_path / "named.csv").write_text("notes,a,label\n,1,p\n,2,q\n")
    assert read_csv(tmp_path / "named.csv").feature_names == ["notes", "a"]
    for first in (["0", "0", "1"], ["0", "a", "2"], ["0", "", "2"]):
        rows = "\n".join(f"{c},{i},p" for i, c in enumerate(first))
        (tmp_path / "data.csv").write_text(",a,label\n" + rows + "\n")
        table = read_csv(tmp_path / "data.csv")
        assert table.feature_names == ["", "a"] and table.left_out == []


def test_a_first_row_of_years_is_a_header_when_the_label_or_the_model_names_it(tmp_path):
    # Columns named by years look like numbers over numbers: the cells alone say "data".
    # A --label that is one of those cells and no index in range, or a model's feature names
    # all found there, say "header".
    (tmp_path / "years.csv").write_text("country,1990,2000,2010\nA,1.5,2.5,3.5\nB,2.0,3.0,1.0\n")
    assert read_csv(tmp_path / "years.csv").header is False          # nothing says otherwise
    table = read_csv(tmp_path / "years.csv", label="2010")
    assert table.header and table.feature_names == ["country", "1990", "2000"]
    assert list(table.labels) == ["3.5", "1.0"]
    again = read_csv(tmp_path / "years.csv", label=None, feature_names=["2000", "country"])
    assert again.header and again.X.tolist() == [["2.5", "A"], ["3.0", "B"]]
    # An index in range stays an index: --label 2 is the third column.
    (tmp_path / "small.csv").write_text("0,1,2\n5,6,7\n8,9,10\n")
    assert list(read_csv(tmp_path / "small.csv", label="2").labels) == ["2", "7", "10"]


def test_a_table_of_only_the_label_is_refused_before_training(tmp_path):
    (tmp_path / "co2.csv").write_text("co2\n316.1\n317.3\n318.2\n")
    with pytest.raises(ValueError, match="no column besides the label 'co2'.*at least one "
                                         "feature"):
        read_csv(tmp_path / "co2.csv", label="co2")
