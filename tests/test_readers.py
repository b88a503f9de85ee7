"""Every reader trusts nothing: IDX, HDF5, .npz, image folders, CSV fields of any length and
model files each get a one-line error naming the file and the problem, before any work, with
bounded memory. Driven through the command, as a user meets them."""

import gzip
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import glassnet as gn


def glassnet(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "glassnet", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def refused(result, *words):
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    for word in words:
        assert word in result.stderr, result.stderr


def test_a_truncated_idx_header_is_named(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03\x00\x00")
    refused(glassnet("train", "--data", folder), "is truncated", "3 dimensions")


def test_a_corrupt_gzip_idx_is_named(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00" * 40)[:-9])
    refused(glassnet("train", "--data", folder), "could not be read")


def test_a_cat_file_without_its_datasets_is_named(tmp_path):
    h5py = pytest.importorskip("h5py")
    for part in ("train", "test"):
        with h5py.File(tmp_path / f"{part}_catvnoncat.h5", "w") as f:
            f["something_else"] = np.zeros(3)
    refused(glassnet("train", "--data", tmp_path), "lacks the datasets", "train_set_x")


def test_a_decompression_bomb_in_an_image_folder_is_refused(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        Image.new("RGB", (8, 8)).save(tmp_path / name / "ok.png")
    Image.new("L", (9000, 9000)).save(tmp_path / "b" / "bomb.png")     # 81 M pixels, ~80 kB
    assert (tmp_path / "b" / "bomb.png").stat().st_size < 1 << 20
    refused(glassnet("train", "--data", tmp_path, "--image-size", "8"), "bomb.png",
            "9000x9000 pixels")


def test_an_image_folder_with_an_empty_class_is_an_error_not_exit_3(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "a" / "x.png")
    (tmp_path / "b" / "notes.txt").write_text("no images here")
    refused(glassnet("train", "--data", tmp_path), "class folders ['b']", "hold no images")


def test_an_npz_with_no_samples_is_named(tmp_path):
    np.savez(tmp_path / "empty.npz", X=np.zeros((0, 3)), y=np.zeros(0))
    refused(glassnet("train", "--data", tmp_path / "empty.npz"), "at least 2 rows")
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not really a zip")
    refused(glassnet("train", "--data", tmp_path / "bad.npz"), "not a readable .npz")
    # Found by fuzz/fuzz_readers.py: a damaged .npy header crashed NumPy's tokenizer.
    (tmp_path / "npy.npz").write_bytes(b"\x93NUMPY\x01\x00\x05\x00)-;\x00\x00\x00,\xf6")
    refused(glassnet("train", "--data", tmp_path / "npy.npz"), "not a zip archive")


def test_a_csv_with_a_long_field_is_read(tmp_path):
    rows = ["note,x,y"] + [f"{'a' * 200_000 if i == 3 else 'short'},{i},{i % 2}"
                           for i in range(40)]
    (tmp_path / "long.csv").write_text("\n".join(rows) + "\n")
    result = glassnet("train", "--data", tmp_path / "long.csv", "--epochs", "2", "--out",
                      tmp_path / "r", "--quiet", "--allow-poor")
    assert result.returncode == 0, result.stderr


def test_a_model_path_that_loops_is_one_line(tmp_path):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    refused(glassnet("info", tmp_path / "a"), "cannot open")


def test_a_model_followed_by_a_huge_tail_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "m.safetensors"
    gn.save(gn.Network([gn.Dense(1, "sigmoid")], input_dim=2, seed=0), path)
    size = path.stat().st_size
    with open(path, "r+b") as fh:              # a sparse 2 GB tail: no disk used
        fh.truncate(size + (2 << 30))
    with pytest.raises(gn.ModelFileError, match="followed by 2147483648 bytes"):
        gn.load(path)
    refused(glassnet("info", path), "followed by")


def test_a_header_that_claims_more_than_the_file_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    gn.save(gn.Network([gn.Dense(1, "sigmoid")], input_dim=2, seed=0), path)
    data = path.read_bytes()
    path.write_bytes(data[:-4])
    with pytest.raises(gn.ModelFileError, match="truncated"):
        gn.load(path)
