"""Loaders read what the files hold; built-ins are deterministic."""

import numpy as np
import pytest
from PIL import Image

from glassnet import datasets

from .conftest import DATA, needs_data


@pytest.mark.parametrize("name", list(datasets.BUILTINS))
def test_builtins_are_deterministic_2d_splits(name):
    a, b = datasets.load(name), datasets.load(name)
    assert a.X_train.shape[1] == 2 and len(a.X_test) > 0
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert len(np.unique(a.y_train)) == (3 if name == "blobs" else 2)


def test_csv_with_header_and_string_labels(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("height,weight,species\n1.0,2.0,cat\n3.5,4.0,dog\n0.5,1.5,cat\n")
    X, y, names = datasets.load_csv(path, label="species")
    np.testing.assert_array_equal(X, [[1.0, 2.0], [3.5, 4.0], [0.5, 1.5]])
    assert list(y) == ["cat", "dog", "cat"] and names == ["height", "weight"]


def test_csv_without_header_and_numeric_label_column(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("1,0.5,2.5\n0,1.5,3.5\n")
    X, y, names = datasets.load_csv(path, label=0)
    np.testing.assert_array_equal(X, [[0.5, 2.5], [1.5, 3.5]])
    assert y.dtype.kind == "i" and list(y) == [1, 0] and names == ["x0", "x1"]


def test_csv_errors_name_the_problem(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,label\n1,x,0\n")
    with pytest.raises(ValueError, match="feature columns must be numbers"):
        datasets.load_csv(path)
    with pytest.raises(ValueError, match="no column named 'nope'"):
        datasets.load_csv(path, label="nope")
    path.write_text("a,b\n1,2\n3\n")
    with pytest.raises(ValueError, match="line 3 has a different number of columns"):
        datasets.load_csv(path)


def test_npz_loader(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.ones((4, 2, 2)), y=np.arange(4))
    X, y = datasets.load_npz(tmp_path / "d.npz")
    assert X.shape == (4, 4) and list(y) == [0, 1, 2, 3]
    np.savez(tmp_path / "bad.npz", a=np.ones(3))
    with pytest.raises(ValueError, match="'X' and 'y'"):
        datasets.load_npz(tmp_path / "bad.npz")


def test_image_folder_and_single_image(tmp_path):
    for cls, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
        (tmp_path / cls).mkdir()
        for i in range(5):
            Image.new("RGB", (20 + i, 10), colour).save(tmp_path / cls / f"{i}.png")
    ds = datasets.load(tmp_path)
    assert ds.classes == ["blue", "red"] and ds.image_shape == (64, 64, 3)
    assert ds.X_train.shape[1] == 64 * 64 * 3 and len(ds.X_train) + len(ds.X_test) == 10
    row = datasets.load_image(tmp_path / "red" / "0.png", (8, 8))
    assert row.shape == (1, 192)
    np.testing.assert_allclose(row.reshape(8, 8, 3)[..., 0], 1.0)
    np.testing.assert_allclose(row.reshape(8, 8, 3)[..., 2], 0.0)
    (tmp_path / "junk.png").write_text("not an image")
    with pytest.raises(ValueError, match="could not be read as an image"):
        datasets.load_image(tmp_path / "junk.png", (8, 8))


@needs_data("catvnoncat", "train_catvnoncat.h5")
def test_catvnoncat_matches_the_published_description():
    ds = datasets.load(DATA / "catvnoncat")
    assert ds.X_train.shape == (209, 12288) and ds.X_test.shape == (50, 12288)
    assert ds.y_train.sum() == 72 and ds.y_test.sum() == 33
    assert ds.classes == ["non-cat", "cat"] and ds.image_shape == (64, 64, 3)
    # Mean pixel 103.0071 / 255 per shared/data/README.md
    assert ds.X_train.mean() * 255 == pytest.approx(103.0071, abs=1e-3)


@needs_data("mnist", "t10k-images-idx3-ubyte.gz")
def test_mnist_idx_reader_shapes_labels_and_pixels():
    ds = datasets.load_mnist(DATA / "mnist", limit=1000)
    assert ds.X_train.shape == (1000, 784) and ds.X_test.shape == (1000, 784)
    assert ds.X_train.min() == 0.0 and ds.X_train.max() == 1.0
    labels = datasets.load_idx(DATA / "mnist" / "t10k-labels-idx1-ubyte.gz")
    # Test-set histogram from shared/data/README.md
    assert list(np.bincount(labels)) == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    images = datasets.load_idx(DATA / "mnist" / "t10k-images-idx3-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.mean() == pytest.approx(33.7912, abs=1e-3)


def test_idx_reader_refuses_damaged_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02")
    with pytest.raises(ValueError, match="truncated"):
        datasets.load_idx(tmp_path / "bad")
    (tmp_path / "worse").write_bytes(b"PK\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets.load_idx(tmp_path / "worse")


def test_unknown_data_names_the_choices():
    with pytest.raises(FileNotFoundError, match="moons, circles, spirals, xor, blobs"):
        datasets.load("mooons")
