"""The command on a user's own data, end to end in a subprocess: CSVs of every shape a tired
user writes, regression, images from a phone, Ctrl-C, run folders that are never lost."""

import json
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

import glassnet as gn

RNG = np.random.default_rng(0)


def glassnet(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "glassnet", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


def _table(n=120):
    X = RNG.normal(size=(n, 3))
    species = np.where(X[:, 0] + X[:, 1] > 0, "setosa", "virginica")
    return X, species


def _write(path, header, rows, delimiter=","):
    lines = ([delimiter.join(header)] if header else []) + \
        [delimiter.join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_csv_with_a_header_and_string_labels_needs_nothing_repeated(tmp_path):
    X, species = _table()
    # The label is the first column: evaluate and predict find it by its name.
    rows = [[s, *np.round(x, 4)] for s, x in zip(species, X)]
    data = _write(tmp_path / "flowers.csv", ["species", "a", "b", "c"], rows)
    out = tmp_path / "run"
    train = glassnet("train", "--data", data, "--label", "species", "--epochs", "200",
                     "--out", out, "--quiet")
    assert train.returncode == 0, train.stderr
    assert "2 classes" in train.stdout
    meta = gn.load(out / "model.safetensors").metadata
    assert meta["feature_names"] == ["a", "b", "c"] and meta["label"] == "species"
    assert meta["classes"] == ["setosa", "virginica"] and meta["task"] == "classification"
    assert meta["preprocessing"]["scale"] == "standard"
    ev = glassnet("evaluate", out / "model.safetensors")
    assert ev.returncode == 0, ev.stderr
    assert float(re.search(r"accuracy: ([0-9.]+)", ev.stdout).group(1)) > 0.85
    # New rows, the columns in another order and the label column left in: read by name.
    new = _write(tmp_path / "new.csv", ["c", "species", "b", "a"],
                 [[0.0, "?", 1.0, 2.0], [0.0, "?", -1.0, -2.0]])
    pred = glassnet("predict", out / "model.safetensors", new)
    assert pred.returncode == 0, pred.stderr
    lines = pred.stdout.splitlines()
    assert lines[0] == "prediction,p_setosa,p_virginica"
    assert lines[1].startswith("setosa,") and lines[2].startswith("virginica,")


def test_a_csv_without_a_header_keeps_its_first_row(tmp_path):
    X, species = _table(50)
    data = _write(tmp_path / "plain.csv", None,
                  [[*np.round(x, 4), s] for s, x in zip(species, X)])
    result = glassnet("train", "--data", data, "--epochs", "20", "--out", tmp_path / "r",
                      "--quiet", "--allow-poor")
    assert result.returncode == 0, result.stderr
    train, test = map(int, re.search(r"(\d+) train / (\d+) test", result.stdout).groups())
    assert train + test == 50                               # no row taken for a header


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_continuous_label_is_a_regression_end_to_end(tmp_path, seed):
    # Its own generator: the module's is drawn by whichever tests ran before on this worker.
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, 2))
    price = 3 * X[:, 0] - 2 * X[:, 1] + 0.1 * rng.normal(size=200) + 10
    data = _write(tmp_path / "houses.csv", ["size", "age", "price"],
                  [[*np.round(x, 5), round(p, 5)] for x, p in zip(X, price)])
    out = tmp_path / "run"
    result = glassnet("train", "--data", data, "--label", "price", "--epochs", "300",
                      "--out", out, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "regression" in result.stdout
    assert float(re.search(r"test R\^2: ([0-9.-]+)", result.stdout).group(1)) > 0.9
    assert (out / "predicted_vs_true.png").exists()
    assert not (out / "decision_boundary.png").exists()
    assert gn.load(out / "model.safetensors").metadata["task"] == "regression"
    ev = glassnet("evaluate", out / "model.safetensors")
    assert ev.returncode == 0 and "R^2" in ev.stdout and "MAE" in ev.stdout
    new = _write(tmp_path / "new.csv", ["size", "age"], [[1.0, 0.0], [0.0, 1.0]])
    pred = glassnet("predict", out / "model.safetensors", new)
    values = [float(v) for v in pred.stdout.splitlines()[1:]]
    assert pred.stdout.startswith("prediction\n")
    # The function is 3 a - 2 b + 10; a default network of 160 rows gets within 1 of it.
    np.testing.assert_allclose(values, [13.0, 8.0], atol=1.0)


def test_a_semicolon_separated_file_is_read(tmp_path):
    X, species = _table(80)
    data = _write(tmp_path / "semi.csv", ["a", "b", "c", "label"],
                  [[*np.round(x, 4), s] for s, x in zip(species, X)], delimiter=";")
    result = glassnet("train", "--data", data, "--label", "label", "--epochs", "50",
                      "--out", tmp_path / "r", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "3 features" in result.stdout


def test_a_spreadsheets_decimal_commas_train_and_predict_as_numbers(tmp_path):
    """A table saved by a spreadsheet in a German locale (semicolons, decimal commas, a
    regression label with them too) trains the same model as the same table in Python's
    numbers, and predicts European rows as it predicts the same rows written with dots."""
    X, _ = _table(80)
    y = 1000 * X[:, 0] - 20 * X[:, 2]
    rows = [[*np.round(x, 4), round(v, 2)] for x, v in zip(X, y)]
    def european(r):
        return [f"{v}".replace(".", ",") for v in r]
    dots = _write(tmp_path / "dots.csv", ["a", "b", "c", "y"], rows)
    commas = _write(tmp_path / "commas.csv", ["a", "b", "c", "y"], map(european, rows), ";")
    for data, out in ((dots, "r_dots"), (commas, "r_commas")):
        result = glassnet("train", "--data", data, "--label", "y", "--epochs", "20",
                          "--out", tmp_path / out, "--quiet")
        assert result.returncode == 0, result.stderr
        assert "regression" in result.stdout and "3 numeric" in result.stdout
    new = [r[:3] for r in rows[:5]]
    _write(tmp_path / "new_dots.csv", ["c", "b", "a"], [r[::-1] for r in new])
    _write(tmp_path / "new_commas.csv", ["a", "b", "c"], map(european, new), ";")
    predicted = [glassnet("predict", tmp_path / run / "model.safetensors", tmp_path / rows_in)
                 .stdout for run, rows_in in (("r_dots", "new_dots.csv"),
                                               ("r_commas", "new_dots.csv"),
                                               ("r_commas", "new_commas.csv"))]
    assert len(predicted[0].splitlines()) == 6
    assert predicted[0] == predicted[1] == predicted[2]


def test_a_table_saved_by_pandas_with_its_index_trains_without_it(tmp_path):
    """``DataFrame.to_csv`` writes the row index under an empty name; on rows sorted by the
    label it would predict the label from the row number. The command leaves it out, says so,
    and trains the model the same file without the index trains."""
    X, species = _table(60)
    order = np.argsort(species, kind="stable")              # sorted by the label
    rows = [[*np.round(X[i], 4), species[i]] for i in order]
    plain = _write(tmp_path / "plain.csv", ["a", "b", "c", "species"], rows)
    indexed = _write(tmp_path / "indexed.csv", ["", "a", "b", "c", "species"],
                     [[i, *r] for i, r in enumerate(rows)])
    outputs = []
    for data in (plain, indexed):
        result = glassnet("train", "--data", data, "--label", "species", "--epochs", "30",
                          "--out", tmp_path / data.stem, "--quiet")
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert "left out: the first column, without a name: a row index" in outputs[1]
    assert "3 features" in outputs[1] and "left out" not in outputs[0]
    predicted = [glassnet("predict", tmp_path / run / "model.safetensors", indexed).stdout
                 for run in ("plain", "indexed")]
    assert len(predicted[0].splitlines()) == 61 and predicted[0] == predicted[1]


@pytest.mark.parametrize("cell", ["abc", "inf", "-inf", "1e400"])
def test_a_stray_cell_in_a_column_of_numbers_is_reported_by_line_and_column(tmp_path, cell):
    X, species = _table(20)
    rows = [[*np.round(x, 4), s] for s, x in zip(species, X)]
    rows[6][1] = cell
    data = _write(tmp_path / "bad.csv", ["a", "b", "c", "species"], rows)
    result = glassnet("train", "--data", data, "--label", "species", "--out", tmp_path / "r")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"line 8, b: {cell!r} is not a finite number" in result.stderr
    assert "leave it empty (or NA)" in result.stderr
    assert not (tmp_path / "r").exists()               # a run that fails leaves no folder


@pytest.mark.parametrize("cell", ["", "NA", "nan", "null", "?"])
def test_a_missing_cell_is_imputed_with_the_training_median_and_an_indicator(tmp_path, cell):
    X, species = _table(40)
    rows = [[*np.round(x, 4), s] for s, x in zip(species, X)]
    for row in rows[:10]:                 # ten holes: at least one lands in the training rows
        row[1] = cell
    data = _write(tmp_path / "holes.csv", ["a", "b", "c", "species"], rows)
    result = glassnet("train", "--data", data, "--label", "species", "--out", tmp_path / "r",
                      "--quiet", "--allow-poor")
    assert result.returncode == 0, result.stderr
    stored = gn.load(tmp_path / "r" / "model.safetensors").metadata["preprocessing"]
    train = gn.datasets.load(data, label="species", seed=0)
    present = np.array([float(v) for v in train.X_train[:, 1] if v.strip() == v and v != cell])
    assert len(present) < len(train.X_train)
    assert stored["median"][1] == pytest.approx(np.median(present), abs=1e-12)
    assert stored["indicator"] == [1]                     # column b alone had holes
    # Predicting a row with a hole in another column too works: the median fills it.
    new = _write(tmp_path / "new.csv", ["a", "b", "c"], [[0.5, cell, ""], [0.1, 0.2, 0.3]])
    pred = glassnet("predict", tmp_path / "r" / "model.safetensors", new)
    assert pred.returncode == 0, pred.stderr
    assert len(pred.stdout.splitlines()) == 3


def test_a_label_index_out_of_range_is_an_error_not_a_wrap_around(tmp_path):
    X, species = _table(20)
    data = _write(tmp_path / "d.csv", None, [[*np.round(x, 4), s] for s, x in zip(species, X)])
    result = glassnet("train", "--data", data, "--label", "15", "--out", tmp_path / "r")
    assert result.returncode == 1
    assert "--label 15 is out of range" in result.stderr and "4 columns" in result.stderr


def test_the_seed_changes_the_split(tmp_path):
    # The stored scaling is fitted on the training split: it moves when the split does, and
    # equals the mean of the training split the library draws for that seed.
    offsets = []
    for seed in (0, 1):
        out = tmp_path / f"s{seed}"
        assert glassnet("train", "--epochs", "5", "--seed", seed, "--out", out, "--quiet",
                        "--allow-poor").returncode == 0
        meta = gn.load(out / "model.safetensors").metadata
        assert meta["options"]["seed"] == seed
        offsets.append(np.array(meta["preprocessing"]["offset"]))
        train = gn.datasets.load("moons", seed=seed).X_train
        np.testing.assert_allclose(offsets[-1], train.mean(axis=0), rtol=1e-12)
    assert not np.allclose(offsets[0], offsets[1])


def test_a_run_folder_is_never_overwritten_by_accident_and_never_stale(tmp_path):
    out = tmp_path / "run"
    assert glassnet("train", "--epochs", "5", "--out", out, "--quiet",
                    "--allow-poor").returncode == 0
    assert (out / "decision_boundary.png").exists()
    (out / "my_notes.txt").write_text("mine")
    again = glassnet("train", "--epochs", "5", "--out", out, "--quiet")
    assert again.returncode == 1 and "already holds a run" in again.stderr
    # --overwrite replaces the run: 4-feature data leaves no stale 2-D boundary plot behind,
    # and files that are not glassnet's stay.
    X, species = _table(60)
    data = _write(tmp_path / "d.csv", ["a", "b", "c", "s"],
                  [[*np.round(x, 4), s] for s, x in zip(species, X)])
    over = glassnet("train", "--data", data, "--epochs", "5", "--out", out, "--overwrite",
                    "--quiet", "--allow-poor")
    assert over.returncode == 0, over.stderr
    assert not (out / "decision_boundary.png").exists()
    assert (out / "my_notes.txt").read_text() == "mine"
    assert "decision_boundary" not in over.stdout


def test_without_out_each_run_gets_a_fresh_folder(tmp_path):
    for _ in range(2):
        assert glassnet("train", "--epochs", "3", "--quiet", "--allow-poor",
                        cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["moons", "moons-2"]


def test_a_bad_out_path_is_refused_before_any_data_is_read(tmp_path):
    (tmp_path / "afile").write_text("x")
    result = glassnet("train", "--data", tmp_path / "missing.csv", "--out",
                      tmp_path / "afile" / "sub")
    assert result.returncode == 1 and "cannot make the run folder" in result.stderr


def test_a_config_file_sets_the_options_and_is_written_back(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('layers = "6"\nactivation = "tanh"\nepochs = 40\nl2 = 0.001\n'
                      'schedule = "cosine"\noptimizer = "sgd"\nlearning_rate = 0.3\n'
                      'momentum = 0.9\n')
    first = glassnet("train", "--config", config, "--out", tmp_path / "a", "--quiet")
    assert first.returncode == 0, first.stderr
    net = gn.load(tmp_path / "a" / "model.safetensors")
    assert [layer.units for layer in net.dense_layers] == [6, 1]
    assert net.metadata["options"]["momentum"] == 0.9
    written = tmp_path / "a" / "config.toml"
    assert 'schedule = "cosine"' in written.read_text()
    # The written config repeats the run exactly; a flag given explicitly wins over it.
    again = glassnet("train", "--config", written, "--out", tmp_path / "b", "--quiet")
    assert again.returncode == 0
    np.testing.assert_array_equal(gn.load(tmp_path / "b" / "model.safetensors").params,
                                  net.params)
    other = glassnet("train", "--config", written, "--epochs", "3", "--out", tmp_path / "c",
                     "--quiet", "--allow-poor")
    assert len(json.loads((tmp_path / "c" / "history.json").read_text())["loss"]) == 3
    assert other.returncode == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("layerz = 3\n")
    result = glassnet("train", "--config", bad)
    assert result.returncode == 1 and "unknown options ['layerz']" in result.stderr


def test_ctrl_c_saves_the_run_and_it_resumes(tmp_path):
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "glassnet", "train", "--epochs",
                                "1000000", "--batch-size", "8", "--early-stopping", "0",
                                "--out", str(out), "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert "writing" in process.stdout.readline()          # training has started
    time.sleep(1.5)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    stopped = int(re.search(r"stopped after epoch (\d+)", stdout).group(1))
    assert "glassnet train --out" in stdout and "--resume" in stdout
    assert (out / "model.safetensors").exists() and (out / "checkpoint.safetensors").exists()
    resumed = glassnet("train", "--out", out, "--resume", "--epochs", stopped + 6, "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    history = json.loads((out / "history.json").read_text())
    assert history["epochs"] == list(range(stopped + 6))


def test_a_usage_error_is_one_line_with_status_2():
    result = glassnet("train", "--epoch", "3")
    assert result.returncode == 2
    assert result.stderr.startswith("error: No such option: --epoch")
    assert result.stderr.count("\n") == 1
    assert glassnet("--version").stdout.startswith("glassnet ")
    assert "Usage" in glassnet("-h").stdout


def test_a_phone_photo_is_turned_upright_by_its_exif_orientation(tmp_path):
    upright = np.zeros((40, 20, 3), dtype=np.uint8)
    upright[:10] = 255                                    # a white band at the top
    Image.fromarray(upright).save(tmp_path / "upright.png")
    # What a phone writes: the pixels stored sideways, and a tag saying how to turn them.
    sideways = Image.fromarray(np.ascontiguousarray(np.rot90(upright, 1)))
    exif = Image.Exif()
    exif[0x0112] = 6                                      # "rotate 90 degrees clockwise"
    sideways.save(tmp_path / "phone.jpg", exif=exif, quality=100)
    a = gn.datasets.load_image(tmp_path / "upright.png", (40, 20))
    b = gn.datasets.load_image(tmp_path / "phone.jpg", (40, 20))
    np.testing.assert_allclose(a, b, atol=0.05)


def test_help_fits_a_screen():
    lines = glassnet("--help").stdout.splitlines()
    assert len(lines) <= 24 and max(map(len, lines)) <= 100
