"""The glassnet command, driven in a subprocess as a user would."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import glassnet as gn

from .conftest import DATA, needs_data


def glassnet(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "glassnet", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


def accuracy(text, which):
    return float(re.search(rf"^{which}accuracy: ([0-9.]+)", text, re.M).group(1))


def test_train_with_no_arguments_trains_moons_and_writes_everything(tmp_path):
    result = glassnet("train", "--out", tmp_path / "run", "--quiet")
    assert result.returncode == 0, result.stderr
    assert accuracy(result.stdout, "test ") >= 0.9
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"model.safetensors", "history.json", "loss.png", "decision_boundary.png"} <= files
    net = gn.load(tmp_path / "run" / "model.safetensors")
    assert net.input_dim == 2 and net.metadata["classes"] == ["0", "1"]
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    # The defaults on 240 training rows: no validation split (10 % would be 24 rows of noise),
    # so every row trains until the training loss stops improving (scikit-learn's rule) or the
    # cap of 300 epochs; the test split is measured at the end.
    assert len(history["loss"]) <= 300 and history["val_epochs"] == [len(history["loss"]) - 1]
    for png in ("loss.png", "decision_boundary.png"):
        with Image.open(tmp_path / "run" / png) as img:
            assert img.size[0] > 400 and img.size[1] > 300


def test_train_options_and_evaluate_and_info(tmp_path):
    out = tmp_path / "blobs"
    result = glassnet("train", "--data", "blobs", "--layers", "8", "--activation", "tanh",
                      "--optimizer", "sgd", "--learning-rate", "0.1", "--epochs", "50",
                      "--batch-size", "32", "--seed", "3", "--l1", "0.0005", "--out", out,
                      "--quiet")
    assert result.returncode == 0, result.stderr
    assert "l1 = 0.0005" in (out / "config.toml").read_text()
    net = gn.load(out / "model.safetensors")
    assert [layer.units for layer in net.dense_layers] == [8, 3]
    assert net.dense_layers[0].activation.name == "tanh"
    # The model file knows its data, split and seed: nothing is repeated.
    ev = glassnet("evaluate", out / "model.safetensors")
    assert ev.returncode == 0, ev.stderr
    assert "confusion matrix" in ev.stdout and "precision" in ev.stdout
    assert accuracy(ev.stdout, "") == pytest.approx(accuracy(result.stdout, "test "), abs=1e-4)
    info = glassnet("info", out / "model.safetensors")
    assert info.returncode == 0 and "Dense(8" in info.stdout and "total" in info.stdout


def test_predict_tabular_csv_in_csv_out(tmp_path):
    out = tmp_path / "m"
    assert glassnet("train", "--epochs", "100", "--out", out, "--quiet").returncode == 0
    (tmp_path / "points.csv").write_text("x1,x2\n-1.0,0.5\n2.0,-0.2\n")
    result = glassnet("predict", out / "model.safetensors", tmp_path / "points.csv",
                      "--output", tmp_path / "pred.csv")
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "pred.csv").read_text().splitlines()
    assert lines[0] == "prediction,p_0,p_1" and len(lines) == 3
    assert lines[1].startswith("0,") and lines[2].startswith("1,")


def test_predict_your_own_image(tmp_path):
    rng = np.random.default_rng(0)
    for cls, base in (("dark", 40), ("light", 215)):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(base + rng.normal(0, 20, (16, 16, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "imgs" / cls / f"{i}.png")
    out = tmp_path / "m"
    # Unscaled, these all-positive pixels kill every ReLU unit (the run would exit 3 as no
    # better than the majority class); standardised, the network learns them.
    train = glassnet("train", "--data", tmp_path / "imgs", "--layers", "4", "--epochs", "100",
                     "--image-size", "16", "--scale", "standard", "--out", out, "--quiet")
    assert train.returncode == 0, train.stderr
    Image.new("RGB", (300, 200), (230, 230, 230)).save(tmp_path / "mine.jpg")
    result = glassnet("predict", out / "model.safetensors", tmp_path / "mine.jpg")
    assert result.returncode == 0, result.stderr
    assert re.search(r"mine.jpg: light \(probability [01]\.\d+\)", result.stdout)


@pytest.mark.parametrize("args,message", [
    (("train", "--data", "missing.csv"), "neither a built-in"),
    (("train", "--layers", "3,x"), "--layers must be positive integers separated by commas"),
    (("train", "--layers", "10,,5"), "--layers must be positive integers separated by commas"),
    (("train", "--optimizer", "adagrad"), "--optimizer must be one of adam, sgd"),
    (("train", "--learning-rate", "-1"), "--learning-rate must be a number > 0"),
    (("train", "--l1", "-1"), "--l1 must be a number >= 0"),
    (("train", "--batch-size", "big"), "--batch-size must be an integer >= 0"),
    (("train", "--early-stopping", "5", "--validation-split", "0"), "validation_split"),
    (("playground", "--port", "0", "--no-browser"), "--port must be in 1..65535"),
    (("info", "absent.safetensors"), "no model file"),
    (("reproduce", "mnist"), "unknown experiment"),
    (("reproduce", "cats"), "cats needs --data"),
    (("train", "--out", "afile/sub", "--epochs", "1"), "afile"),
    (("train", "--activation", "mish", "--epochs", "1"), "unknown activation"),
    (("train", "--dtype", "float16", "--epochs", "1"), "dtype must be"),
])
def test_errors_print_one_line_and_exit_non_zero(tmp_path, args, message):
    (tmp_path / "afile").write_text("a file where a folder is expected")
    result = glassnet(*args, cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_bad_model_file_is_one_line_error(tmp_path):
    (tmp_path / "x.safetensors").write_bytes(b"\x80\x04garbage")
    result = glassnet("info", tmp_path / "x.safetensors")
    assert result.returncode == 1 and "pickle" in result.stderr
    assert "Traceback" not in result.stderr


def test_gradcheck_command_passes_and_prints_the_table():
    result = glassnet("gradcheck", "--layers", "4,3", "--head", "softmax")
    assert result.returncode == 0, result.stderr
    assert "layers[0].W" in result.stdout and "PASSED" in result.stdout


def test_reproduce_moons_json():
    result = glassnet("reproduce", "moons", "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["metric"]: r for r in json.loads(result.stdout)}
    assert rows["test accuracy"]["tutorial"] == 0.833
    assert rows["test accuracy"]["glassnet"] >= 0.80


def test_reproduce_circles_prints_the_table():
    result = glassnet("reproduce", "circles")
    assert result.returncode == 0, result.stderr
    assert "cost at iteration 0" in result.stdout and "1.716" in result.stdout
    rows = json.loads(glassnet("reproduce", "circles", "--json").stdout)
    train = next(r for r in rows if r["metric"] == "train accuracy")["glassnet"]
    assert train >= 0.97


@needs_data("catvnoncat", "train_catvnoncat.h5")
def test_reproduce_cats_json():
    result = glassnet("reproduce", "cats", "--data", DATA / "catvnoncat", "--json")
    assert result.returncode == 0, result.stderr
    got = {(r["experiment"], r["metric"]): r["glassnet"] for r in json.loads(result.stdout)}
    assert got[("cats 2-layer", "test accuracy")] >= 0.68
    assert got[("cats 4-layer", "test accuracy")] >= 0.76


@needs_data("catvnoncat", "train_catvnoncat.h5")
def test_the_defaults_learn_the_cat_photos(tmp_path):
    """The issue's acceptance: the tutorial's 20-7-5 network and no other option. (Adam at
    0.01 on full batches, the old defaults, learnt nothing here: test accuracy 0.34.)"""
    result = glassnet("train", "--data", DATA / "catvnoncat", "--layers", "20,7,5",
                      "--out", tmp_path, "--quiet")
    assert result.returncode == 0, result.stderr
    assert accuracy(result.stdout, "test ") >= 0.70
    meta = gn.load(tmp_path / "model.safetensors").metadata
    assert meta["image_shape"] == [64, 64, 3] and meta["classes"] == ["non-cat", "cat"]
    assert "peak memory" in result.stdout and "test error" in result.stdout
    assert (tmp_path / "misclassified.png").exists()


@needs_data("catvnoncat", "train_catvnoncat.h5")
def test_a_run_no_better_than_the_majority_class_warns_and_exits_3(tmp_path):
    """Two epochs at a negligible rate: the network at its initial weights (seed 0), which
    beats no baseline on the cat photos."""
    args = ("train", "--data", DATA / "catvnoncat", "--epochs", "2", "--learning-rate", "1e-9",
            "--quiet")
    result = glassnet(*args, "--out", tmp_path / "a")
    assert result.returncode == 3
    assert "no better than predicting the most common class" in result.stderr
    assert (tmp_path / "a" / "model.safetensors").exists()           # nothing is lost
    assert glassnet(*args, "--out", tmp_path / "b", "--allow-poor").returncode == 0


def test_playground_on_a_taken_port_is_one_line_error():
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = glassnet("playground", "--port", str(port), "--no-browser")
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "--port" in result.stderr
    assert "Traceback" not in result.stderr
