"""The README's worked example on a real raw table, run as it is written: the Palmer penguins
as ``palmerpenguins`` ships them (a text label, two text columns, empty cells), through
``train``, ``predict`` (an island never seen, empty cells), ``evaluate``, ``explain``,
``export`` and ``runs``; then the exported graph against ``predict`` on every raw row."""

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _example() -> list[str]:
    """The example's shell commands, continuation lines joined, in the README's order."""
    section = README[README.index("**Raw tables in, predictions out.**"):]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)[:2]
    text = "\n".join(blocks).replace("\\\n", "")
    return [line.split("  #")[0].strip() for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    pytest.importorskip("palmerpenguins")
    folder = tmp_path_factory.mktemp("penguins")
    # The README's `python` and `glassnet` are this interpreter's.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                 f"{os.environ.get('PATH', '')}"}
    outputs = {}
    for command in _example():
        command = re.sub(r"^python ", f"{sys.executable} ", command)
        result = subprocess.run(["bash", "-c", command], cwd=folder, env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, (command, result.stderr)
        assert "Traceback" not in result.stderr
        outputs[command.split()[1] if command.startswith("glassnet") else command] = \
            result.stdout
    return folder, outputs


def test_the_readme_example_is_the_commands_the_test_runs():
    commands = _example()
    assert commands[1] == "glassnet train --data penguins.csv --label species --out " \
                          "runs/penguins"
    assert [c.split()[1] for c in commands[2:] if c.startswith("glassnet")] == \
        ["predict", "evaluate", "explain", "export", "runs"]


def test_the_penguins_train_from_the_raw_csv_as_the_readme_shows(penguins):
    import palmerpenguins

    folder, out = penguins
    frame = palmerpenguins.load_penguins()
    n_test = int(np.ceil(len(frame) * 0.2))
    shown = re.search(r"```text\n(.*?)```", README[README.index("**Raw tables in"):], re.S)
    # The sizes and the inputs follow from the table: 5 numeric columns (4 with holes: an
    # indicator each), island's 3 categories and sex's 2, each with an unknown input.
    assert f"{len(frame) - n_test} train / {n_test} test samples, 7 features, 3 classes" in \
        out["train"]
    assert "7 columns -> 16 inputs" in out["train"] and "network 16-100-3" in out["train"]
    for line in shown.group(1).splitlines()[:2]:
        assert line.split(": ", 1)[1].split("; writing")[0] in out["train"], line
    test_accuracy = float(re.search(r"test accuracy: ([0-9.]+)", out["train"]).group(1))
    assert test_accuracy >= 0.95


def test_the_unseen_island_and_empty_cells_get_a_prediction(penguins):
    _, out = penguins
    rows = list(csv.reader(out["predict"].splitlines()))
    assert rows[0] == ["prediction", "p_Adelie", "p_Chinstrap", "p_Gentoo"]
    assert len(rows) == 2 and rows[1][0] in ("Adelie", "Chinstrap", "Gentoo")
    assert sum(map(float, rows[1][1:])) == pytest.approx(1, abs=1e-5)


def test_evaluate_explain_and_runs_report_the_same_model(penguins):
    _, out = penguins
    test_accuracy = re.search(r"test accuracy: ([0-9.]+)", out["train"]).group(1)
    assert f"accuracy: {test_accuracy}" in out["evaluate"]
    # explain names the raw column behind each input: a category, a missing-value flag.
    assert "island=Biscoe" in out["explain"] and "bill_length_mm (missing)" in out["explain"]
    row = next(line for line in out["runs"].splitlines() if "penguins" in line)
    assert "classification" in row and f"{float(test_accuracy):.3f}" in row


def test_the_onnx_graph_takes_the_raw_columns_and_predicts_as_the_command(penguins):
    ort = pytest.importorskip("onnxruntime")
    folder, _ = penguins
    raw = list(csv.DictReader((folder / "penguins.csv").read_text().splitlines()))
    # The rows hold empty text and number cells: the graph must fill them as predict does.
    assert any(not row["sex"] for row in raw) and any(not row["bill_length_mm"] for row in raw)
    session = ort.InferenceSession(str(folder / "penguins.onnx"),
                                   providers=["CPUExecutionProvider"])
    feeds = {}
    for given in session.get_inputs():
        cells = [row[given.name] for row in raw]
        if given.type == "tensor(string)":
            feeds[given.name] = np.array(cells, dtype=object).reshape(-1, 1)
        else:
            feeds[given.name] = np.array([float(c) if c else np.nan for c in cells]) \
                .reshape(-1, 1).astype(np.float32 if "float)" in given.type else np.float64)
    assert {i.name for i in session.get_inputs()} == set(raw[0]) - {"species"}
    label, probabilities = session.run(None, feeds)
    predicted = subprocess.run([sys.executable, "-m", "glassnet", "predict",
                                "runs/penguins/model.safetensors", "penguins.csv"], cwd=folder,
                               capture_output=True, text=True, timeout=600)
    assert predicted.returncode == 0, predicted.stderr
    rows = list(csv.reader(predicted.stdout.splitlines()))[1:]
    assert len(rows) == len(raw) == 344
    assert list(label.ravel()) == [r[0] for r in rows]
    np.testing.assert_allclose(probabilities, np.array([r[1:] for r in rows], float),
                               atol=2e-6)
