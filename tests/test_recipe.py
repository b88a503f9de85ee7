"""The recipe under every front door: preprocessing against scikit-learn's own transformers,
labels read right, options checked once, the rules living in one place."""

import ast
import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import glassnet as gn
from glassnet.recipe import Model, Preprocessor, Target, TrainOptions, output_layer

SRC = Path(gn.__file__).parent
RNG = np.random.default_rng(3)


def glassnet(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "glassnet", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


def penguin_like(n=120, holes=True):
    """A raw table as a CSV gives it: text, numbers, empty and NA cells."""
    island = RNG.choice(["Biscoe", "Dream", "Torgersen"], n)
    sex = RNG.choice(["male", "female", ""], n, p=[0.45, 0.45, 0.1])
    bill = RNG.normal(44, 5, n).round(1)
    mass = RNG.normal(4200, 800, n).round(0)
    cells = np.column_stack([island, bill.astype(str), mass.astype(str), sex]).astype(object)
    if holes:
        cells[RNG.choice(n, 8, replace=False), 1] = "NA"
        cells[RNG.choice(n, 5, replace=False), 2] = ""
    species = np.where(bill + (island == "Biscoe") * 6 > 46, "Gentoo", "Adelie")
    return cells, species, ["island", "bill", "mass", "sex"]


def test_preprocessing_is_scikit_learns_column_transformer():
    cells, _, names = penguin_like()
    ours = Preprocessor("standard").fit(cells, names)
    numeric = cells[:, 1:3].astype(object)
    numeric = np.where(np.isin(numeric, ["NA", ""]), np.nan, numeric).astype(float)
    text = np.where(cells[:, [0, 3]] == "", "<missing>", cells[:, [0, 3]])
    reference = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), [0, 1]),
        ("missing", SimpleImputer(strategy="median", add_indicator=True), [0, 1]),
        ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), [2, 3])])
    expected = reference.fit_transform(np.column_stack([numeric, text]).astype(object))
    got = ours.transform(cells)
    names_in = ours.input_names
    np.testing.assert_allclose(got[:, names_in.index("bill")], expected[:, 0], atol=1e-12)
    np.testing.assert_allclose(got[:, names_in.index("mass")], expected[:, 1], atol=1e-12)
    np.testing.assert_array_equal(got[:, names_in.index("bill (missing)")], expected[:, 4])
    np.testing.assert_array_equal(got[:, names_in.index("mass (missing)")], expected[:, 5])
    # One-hot over the categories seen; a missing text cell goes to the unknown input.
    islands = [names_in.index(f"island={v}") for v in ("Biscoe", "Dream", "Torgersen")]
    np.testing.assert_array_equal(got[:, islands], expected[:, 6:9])
    np.testing.assert_array_equal(got[:, names_in.index("sex=?")], cells[:, 3] == "")
    assert ours.sources == [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 3]


def test_an_unseen_category_and_a_missing_cell_go_to_the_unknown_input():
    cells, _, names = penguin_like(holes=False)
    pre = Preprocessor().fit(cells, names)
    new = np.array([["Atlantis", "44.0", "NA", "male"], ["Dream", "", "4000", "?"]],
                   dtype=object)
    out = pre.transform(new)
    row = dict(zip(pre.input_names, out[0]))
    assert row["island=?"] == 1 and row["island=Biscoe"] == row["island=Dream"] == 0
    # A column with no hole in training imputes its median all the same, without indicator.
    train_mass = cells[:, 2].astype(float)
    assert row["mass"] == pytest.approx((np.median(train_mass) - train_mass.mean())
                                        / train_mass.std())
    assert dict(zip(pre.input_names, out[1]))["sex=?"] == 1


def test_preprocessing_round_trips_as_plain_json_and_keeps_the_most_frequent_categories():
    import json

    codes = np.array([f"c{i % 7}" if i % 3 else "common" for i in range(300)], dtype=object)
    pre = Preprocessor(max_categories=3).fit(codes[:, None], ["code"])
    kept = pre.columns[0]["categories"]
    assert "common" in kept and len(kept) == 3
    again = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    np.testing.assert_array_equal(again.transform(codes[:, None]), pre.transform(codes[:, None]))


def test_numbers_are_compared_as_numbers_and_missing_labels_name_their_line(tmp_path):
    target = Target("classification").fit(np.array(["1", "1.0", "2", " 2 ", "10"],
                                                     dtype=object))
    assert target.classes == ["1", "2", "10"]                 # numeric order, one "1"
    np.testing.assert_array_equal(target.encode(np.array(["1.00", "10", "2.0"])), [0, 2, 1])
    with pytest.raises(ValueError, match="never saw"):
        target.encode(np.array(["3"]))
    rows = ["a,b,y"] + [f"{i},{i % 3},{i % 2}" for i in range(30)]
    rows[5] = "4,1,NA"
    rows[9] = "8,2,"
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    refused = glassnet("train", "--data", tmp_path / "d.csv", "--out", tmp_path / "r")
    assert refused.returncode == 1 and "line 6: the label is missing ('NA')" in refused.stderr
    assert "2 rows have no label" in refused.stderr and not (tmp_path / "r").exists()
    dropped = glassnet("train", "--data", tmp_path / "d.csv", "--drop-missing-labels",
                       "--out", tmp_path / "r", "--quiet", "--allow-poor", "--epochs", "3")
    assert dropped.returncode == 0, dropped.stderr
    assert "2 rows without a label left out" in dropped.stdout


def test_duplicate_column_names_are_refused(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,a,y\n1,2,3,x\n4,5,6,z\n")
    result = glassnet("train", "--data", tmp_path / "d.csv")
    assert result.returncode == 1 and "duplicate column names ['a']" in result.stderr


def test_a_regression_target_is_standardised_and_predictions_come_back_in_its_units():
    y = RNG.normal(1000, 250, 200)
    target = Target("regression").fit(y)
    encoded = target.encode(y)
    assert abs(encoded.mean()) < 1e-12 and encoded.std() == pytest.approx(1)
    np.testing.assert_allclose(target.decode(encoded[:, None]), y)


def test_options_are_checked_once_with_the_option_named():
    with pytest.raises(ValueError, match="layers must be positive integers"):
        TrainOptions(layers="10,,5")
    with pytest.raises(ValueError, match="learning_rate must be a number > 0"):
        TrainOptions(learning_rate=0)
    with pytest.raises(ValueError, match="unknown options \\['lr'\\]"):
        TrainOptions.from_mapping({"lr": 0.1})
    with pytest.raises(ValueError, match="momentum applies to the sgd optimizer"):
        TrainOptions(momentum=0.9)
    options = TrainOptions(batch_size="auto")
    assert options.batch_for(50) == 50 and options.batch_for(5000) == 200
    # 10 % of 900 rows is 90: no validation split, so no early stopping.
    assert options.split_for(900) == 0 and options.patience_for(900) == 0
    assert options.split_for(5000) == 0.1
    # 4500 rows in batches of 200: 23 steps an epoch, 500 steps are 22 epochs.
    assert options.patience_for(5000) == 22
    assert TrainOptions(batch_size=0).patience_for(50000) == 500   # full batch: one step


def test_initial_weights_follow_the_data_unless_named():
    """Tables start from scikit-learn's Glorot uniform weights, images from the tutorial's
    randn / sqrt(fan_in); ``init`` names one for both, and a wrong name is refused."""
    from glassnet.recipe.train import prepare

    table = gn.datasets.load("moons", seed=0)
    images = gn.datasets.Dataset("pictures", RNG.random((40, 3 * 4 * 4)), np.arange(40) % 2,
                                 RNG.random((10, 3 * 4 * 4)), np.arange(10) % 2,
                                 classes=["no", "yes"], image_shape=(4, 4, 3))
    for ds, expected in ((table, "glorot_uniform"), (images, "lecun_normal")):
        net = prepare(TrainOptions(), ds).model.network
        assert {layer.init.name for layer in net.dense_layers} == {expected}
    net = prepare(TrainOptions(init="he_uniform"), images).model.network
    assert {layer.init.name for layer in net.dense_layers} == {"he_uniform"}
    # The scheme is really used: Glorot's bound on a 2-in, 100-out layer.
    W = prepare(TrainOptions(), table).model.network.dense_layers[0].W
    assert np.abs(W).max() <= np.sqrt(6 / 102) and np.abs(W).max() > 0.9 * np.sqrt(6 / 102)
    with pytest.raises(ValueError, match="init must be one of auto, glorot_uniform"):
        TrainOptions(init="xavier")


def test_the_output_layer_rule_has_one_home():
    assert output_layer("classification", 2) == (1, "sigmoid")
    assert output_layer("classification", 5) == (5, "softmax")
    assert output_layer("classification", 2, head="softmax") == (2, "softmax")
    assert output_layer("regression", n_outputs=3) == (3, "identity")
    assert output_layer("regression", loss="poisson") == (1, "exp")
    with pytest.raises(ValueError, match="sigmoid head separates two"):
        output_layer("classification", 3, head="sigmoid")
    # No front door builds an output layer of its own: a Dense with a head activation as a
    # literal appears in the recipe alone (the tutorials reproduce the seeds' own networks).
    heads = {"sigmoid", "softmax", "identity", "exp"}
    for path in SRC.rglob("*.py"):
        if path.parent.name == "recipe" or path.name in ("tutorials.py", "__init__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(
                    node.func, "attr", "")) == "Dense":
                literals = {a.value for a in node.args if isinstance(a, ast.Constant)}
                assert not literals & heads, f"{path.name}:{node.lineno} builds an output layer"


def test_no_function_of_the_command_is_over_sixty_lines():
    tree = ast.parse((SRC / "cli.py").read_text())
    long = [(f.name, f.end_lineno - f.lineno + 1) for f in ast.walk(tree)
            if isinstance(f, ast.FunctionDef) and f.end_lineno - f.lineno + 1 > 60]
    assert long == []


def test_a_model_whose_metadata_disagrees_with_its_network_is_refused(tmp_path):
    net = gn.Network([gn.Dense(3, "softmax")], input_dim=2, seed=0)
    for meta, message in [({"classes": ["a", "b"]}, "need 1 outputs, but its network has 3"),
                          ({"image_shape": [4]}, "image shape must be"),
                          ({"image_shape": [100000, 100000, 3]}, "does not match"),
                          ({"preprocessing": {"kind": "standard", "offset": [0, 0, 0],
                                              "scale": [1, 1, 1]}}, "network takes 2"),
                          ({"feature_names": "ab"}, "feature_names must be a list")]:
        gn.save(net, tmp_path / "m.safetensors", meta)
        with pytest.raises(ValueError, match=message):
            Model.load(tmp_path / "m.safetensors")
        result = glassnet("predict", tmp_path / "m.safetensors", tmp_path / "m.safetensors")
        assert result.returncode == 1 and "metadata is damaged" in result.stderr
        assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def raw_run(tmp_path_factory):
    """The command on a raw table: text columns, missing cells; trained once."""
    root = tmp_path_factory.mktemp("raw")
    cells, species, names = penguin_like(300)
    with open(root / "raw.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["species", *names])
        writer.writerows([s, *row] for s, row in zip(species, cells))
    result = glassnet("train", "--data", root / "raw.csv", "--label", "species", "--out",
                      root / "run", "--quiet")
    assert result.returncode == 0, result.stderr
    return root


def test_the_command_trains_on_a_raw_table_and_predicts_raw_rows(raw_run):
    import re

    test_acc = float(re.search(r"test_accuracy\": ([0-9.]+)",
                               (raw_run / "run" / "metrics.json").read_text()).group(1))
    assert test_acc > 0.9
    # New rows: columns in another order, no label, an island never seen, empty cells, and a
    # class name that needs quoting in the output.
    (raw_run / "new.csv").write_text("sex,mass,bill,island\nmale,4500,50,Atlantis\n"
                                     ",,,\nfemale,3500,38,Dream\n")
    pred = glassnet("predict", raw_run / "run" / "model.safetensors", raw_run / "new.csv")
    assert pred.returncode == 0, pred.stderr
    rows = list(csv.reader(pred.stdout.splitlines()))
    assert rows[0] == ["prediction", "p_Adelie", "p_Gentoo"] and len(rows) == 4
    assert rows[1][0] == "Gentoo" and rows[3][0] == "Adelie"


def test_explain_shows_the_loss_evaluate_reports(raw_run):
    import re

    model = raw_run / "run" / "model.safetensors"
    evaluated = glassnet("evaluate", model)
    loss = float(re.search(r"^loss: ([0-9.]+)", evaluated.stdout, re.M).group(1))
    n_test = int(re.search(r"test samples: (\d+)", evaluated.stdout).group(1))
    explained = glassnet("explain", model, "--batch", n_test)
    assert explained.returncode == 0, explained.stderr
    shown = float(re.search(r"binary_crossentropy\(A\d, Y\)\s*│[^│]*│\s*([0-9.]+)",
                            explained.stdout).group(1))
    assert shown == pytest.approx(loss, abs=1e-6)
    assert "island=Biscoe" in explained.stdout and "bill (missing)" in explained.stdout


def test_the_onnx_export_takes_raw_columns_and_predicts_as_the_command(raw_run):
    ort = pytest.importorskip("onnxruntime")
    model = raw_run / "run" / "model.safetensors"
    result = glassnet("export", model, raw_run / "m.onnx")
    assert result.returncode == 0, result.stderr
    assert "4 inputs, one per raw column" in result.stdout
    rows = [["Atlantis", "50", "4500", "male"], ["Dream", "NA", "", ""],
            ["Biscoe", "38", "3500", "female"]]
    (raw_run / "rows.csv").write_text("island,bill,mass,sex\n" +
                                      "\n".join(",".join(r) for r in rows) + "\n")
    expected = list(csv.reader(glassnet("predict", model, raw_run / "rows.csv")
                               .stdout.splitlines()))[1:]
    session = ort.InferenceSession(str(raw_run / "m.onnx"), providers=["CPUExecutionProvider"])
    feeds = {}
    for j, i in enumerate(session.get_inputs()):
        column = [r[j] for r in rows]
        feeds[i.name] = np.array(column, dtype=object)[:, None] if i.type == "tensor(string)" \
            else np.array([float(v) if v not in ("", "NA") else np.nan for v in column])[:, None]
    label, proba = session.run(None, feeds)
    assert list(label) == [r[0] for r in expected]
    np.testing.assert_allclose(proba, [[float(v) for v in r[1:]] for r in expected], atol=1e-6)


def test_runs_are_kept_and_compared(raw_run, tmp_path):
    import json

    metrics = json.loads((raw_run / "run" / "metrics.json").read_text())
    assert metrics["data"] == str((raw_run / "raw.csv").resolve())
    assert len(metrics["data_sha256"]) == 64 and metrics["epochs_run"] >= 1
    assert {"test_accuracy", "train_accuracy", "majority_baseline", "seconds"} <= set(metrics)
    listed = glassnet("runs", raw_run, "--sort", "test_accuracy")
    assert listed.returncode == 0 and "run" in listed.stdout and "raw" in listed.stdout
    # The stored absolute path resolves from another working directory.
    elsewhere = glassnet("evaluate", raw_run / "run" / "model.safetensors", cwd=tmp_path)
    assert elsewhere.returncode == 0, elsewhere.stderr
    info = glassnet("info", raw_run / "run" / "model.safetensors")
    assert "preprocessing: 4 columns -> 11 inputs" in info.stdout
    assert "offset" not in info.stdout and "baseline_note" not in info.stdout


def test_a_second_train_into_a_running_folder_is_refused_and_a_stale_lock_taken_over(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / ".lock").write_text("1")           # process 1 (init) is alive: in use
    busy = glassnet("train", "--epochs", "2", "--out", out, "--allow-poor")
    assert busy.returncode == 1 and "in use by another glassnet train (process 1)" in busy.stderr
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (out / ".lock").write_text(gone)          # a process that has exited: a stale lock
    taken = glassnet("train", "--epochs", "2", "--out", out, "--allow-poor", "--quiet")
    assert taken.returncode == 0, taken.stderr
    assert f"took over the lock of process {gone}" in taken.stderr
    assert not (out / ".lock").exists() and (out / "model.safetensors").exists()
