"""Explain mode, diagnostics and the notebook displays. The numbers in an explanation are
checked against a forward and backward pass written here in plain NumPy, the tutorials' way,
not against glassnet's own code."""

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.diagnostics import Diagnostics, TrainingWarning

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(3)
X = RNG.normal(size=(6, 3))
Y = (X[:, 0] + X[:, 1] > 0).astype(int)


def _steps(explanation):
    return {s.equation: s.value for s in explanation.steps}


def _trained(layers, y, epochs=20):
    net = gn.Network(layers, input_dim=3, seed=2)
    net.fit(X, y, optimizer=gn.SGD(0.3), epochs=epochs)
    return net


def test_forward_and_backward_numbers_match_a_hand_written_numpy_pass():
    net = _trained([gn.Dense(4, "tanh"), gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")], Y)
    (W1, b1), (W2, b2), (W3, b3) = [(layer.W, layer.b) for layer in net.dense_layers]
    m = len(X)
    # The tutorials' forward pass.
    Z1 = X @ W1 + b1
    A1 = np.tanh(Z1)
    Z2 = A1 @ W2 + b2
    A2 = np.maximum(Z2, 0)
    Z3 = A2 @ W3 + b3
    A3 = 1 / (1 + np.exp(-Z3))
    Yc = Y[:, None]
    cost = -np.mean(Yc * np.log(A3) + (1 - Yc) * np.log(1 - A3))
    # ... and its backward pass.
    dZ3 = A3 - Yc
    dW3, db3 = A2.T @ dZ3 / m, dZ3.sum(0) / m
    dA2 = dZ3 @ W3.T
    dZ2 = dA2 * (Z2 > 0)
    dW2, db2 = A1.T @ dZ2 / m, dZ2.sum(0) / m
    dA1 = dZ2 @ W2.T
    dZ1 = dA1 * (1 - A1 ** 2)
    dW1, db1 = X.T @ dZ1 / m, dZ1.sum(0) / m

    e = net.explain(X, Y, samples=2)
    got = _steps(e)
    expected = {"A0 = X": X, "Z1 = A0 @ W1 + b1": Z1, "A1 = tanh(Z1)": A1,
                "Z2 = A1 @ W2 + b2": Z2, "A2 = relu(Z2)": A2, "Z3 = A2 @ W3 + b3": Z3,
                "A3 = sigmoid(Z3)": A3, "dZ3 = A3 - Y": dZ3, "dW3 = A2.T @ dZ3 / m": dW3,
                "db3 = sum(dZ3, axis=0) / m": db3, "dA2 = dZ3 @ W3.T": dA2,
                "dZ2 = dA2 * relu'(Z2)": dZ2, "dW2 = A1.T @ dZ2 / m": dW2,
                "db2 = sum(dZ2, axis=0) / m": db2, "dA1 = dZ2 @ W2.T": dA1,
                "dZ1 = dA1 * tanh'(Z1)": dZ1, "dW1 = A0.T @ dZ1 / m": dW1,
                "db1 = sum(dZ1, axis=0) / m": db1}
    assert set(expected) <= set(got)
    for equation, value in expected.items():
        np.testing.assert_allclose(got[equation], value, rtol=1e-10, atol=1e-13,
                                   err_msg=equation)
    assert e.loss == pytest.approx(cost, rel=1e-12)
    shapes = {s.equation: s.shapes for s in e.steps}
    assert shapes["Z1 = A0 @ W1 + b1"] == "(6, 3) @ (3, 4) + (4,) -> (6, 4)"
    assert shapes["dW2 = A1.T @ dZ2 / m"] == "(4, 6) @ (6, 3) / 6 -> (4, 3)"
    # The backward pass agrees with the gradient the network trains with.
    _, grad = net.loss_and_grad(X, Y)
    layer = net.dense_layers[0]
    start = net.param_slices[0]["W"].start
    np.testing.assert_allclose(grad[start:start + layer.W.size].reshape(layer.W.shape), dW1,
                               rtol=1e-10)


def test_softmax_head_backward_starts_from_probabilities_minus_one_hot():
    y = RNG.integers(0, 3, len(X))
    net = _trained([gn.Dense(5, "silu"), gn.Dense(3, "softmax")], y)
    (W1, b1), (W2, b2) = [(layer.W, layer.b) for layer in net.dense_layers]
    Z1 = X @ W1 + b1
    A1 = Z1 / (1 + np.exp(-Z1))
    Z2 = A1 @ W2 + b2
    A2 = np.exp(Z2) / np.exp(Z2).sum(1, keepdims=True)
    got = _steps(net.explain(X, y))
    np.testing.assert_allclose(got["A2 = softmax(Z2)"], A2, rtol=1e-12)
    np.testing.assert_allclose(got["dZ2 = A2 - Y"], A2 - np.eye(3)[y], rtol=1e-10, atol=1e-14)


def test_mse_head_shows_the_derivative_of_the_mean_square():
    y = np.c_[X[:, 0], X[:, 1] - X[:, 2]]
    net = _trained([gn.Dense(4, "elu"), gn.Dense(2)], y)
    got = _steps(net.explain(X, y))
    A2 = got["A2 = identity(Z2)"]
    np.testing.assert_allclose(got["dA2 = 2 (A2 - Y) / n_out"], 2 * (A2 - y) / 2, rtol=1e-12)


def test_without_labels_only_the_forward_pass_is_shown():
    net = _trained([gn.Dense(4, "relu"), gn.Dense(1, "sigmoid")], Y)
    e = net.explain(X)
    assert {s.phase for s in e.steps} == {"forward"} and e.loss is None
    np.testing.assert_allclose(_steps(e)["A2 = sigmoid(Z2)"], net.predict_proba(X), rtol=1e-12)


@pytest.mark.parametrize("layer,where", [(0, "Z1 (layer 1"), (1, "Z2 (layer 2")])
def test_nan_is_reported_at_the_layer_where_it_first_appears(layer, where):
    net = gn.Network([gn.Dense(4, "relu"), gn.Dense(3, "tanh"), gn.Dense(1, "sigmoid")],
                     input_dim=3, seed=0)
    net.dense_layers[layer].W[0, 1] = np.inf
    e = net.explain(X, Y)
    assert e.first_nonfinite.startswith(where)
    assert f"NaN or infinity first appears at {where}" in str(e)


def test_statistics_count_dead_and_saturated_units():
    net = gn.Network([gn.Dense(4, "relu"), gn.Dense(3, "sigmoid"), gn.Dense(1, "sigmoid")],
                     input_dim=3, seed=0)
    relu, sig = net.dense_layers[0], net.dense_layers[1]
    relu.W[:, :2], relu.b[:2] = 0.0, -1.0          # two units that are never positive
    sig.b[:] = 50.0                                 # every sigmoid unit saturated
    stats = net.explain(X, Y).statistics
    assert stats[0]["dead"] == 0.5
    assert stats[1]["saturated"] == 1.0
    assert stats[0]["|W|"] == pytest.approx(np.linalg.norm(relu.W))


def test_an_explanation_is_plain_data_text_and_html():
    net = _trained([gn.Dense(4, "relu"), gn.Dropout(0.2), gn.Dense(1, "sigmoid")], Y)
    e = net.explain(X, Y, samples=2)
    data = json.loads(json.dumps(e.to_dict()))
    assert data["steps"][1]["equation"] == "Z1 = A0 @ W1 + b1"
    assert len(data["steps"][1]["value"]) == 2                   # the first rows only
    text = str(e)
    assert "Z1 = A0 @ W1 + b1" in text and "(6, 3) @ (3, 4) + (4,) -> (6, 4)" in text
    assert "Dropout(0.2)" in text                                # says it is the identity
    html = e._repr_html_()
    assert "<table>" in html and "dW2 = A1.T @ dZ2 / m" in html


def test_diagnostics_warn_about_a_learning_rate_too_large_and_dead_relus():
    Xm, ym = gn.datasets.moons()
    net = gn.Network([gn.Dense(16, "relu"), gn.Dense(16, "relu"), gn.Dense(1, "sigmoid")],
                     seed=0)
    diagnostics = Diagnostics(Xm)
    with pytest.warns(TrainingWarning) as caught:
        net.fit(10 * Xm, ym, optimizer=gn.SGD(5.0), epochs=30, callbacks=[diagnostics])
    text = " | ".join(diagnostics.findings)
    assert "learning rate too large" in text and "try learning_rate=0.5" in text
    assert "dead ReLU units" in text and "layer 2" in text
    assert len(caught) == len(diagnostics.findings)             # each said once
    assert all(Path(w.filename).name == "test_explain.py" for w in caught)   # at the caller


def test_diagnostics_warn_about_vanishing_gradients_in_a_deep_sigmoid_network():
    Xm, ym = gn.datasets.moons()
    # Small random weights through ten sigmoids: the gradient shrinks at every layer.
    layers = [gn.Dense(8, "sigmoid", init=gn.initializers.Normal(0.1)) for _ in range(10)]
    net = gn.Network(layers + [gn.Dense(1, "sigmoid")], seed=0)
    diagnostics = Diagnostics()
    with pytest.warns(TrainingWarning, match="vanishing gradients: layer 1 "):
        net.fit(Xm, ym, optimizer=gn.SGD(0.01), epochs=3, callbacks=[diagnostics])


def test_a_healthy_run_gets_no_diagnostics():
    Xm, ym = gn.datasets.moons()
    net = gn.Network([gn.Dense(16, "relu"), gn.Dense(1, "sigmoid")], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingWarning)
        net.fit(Xm, ym, optimizer=gn.Adam(0.001), epochs=20, batch_size=32,
                callbacks=[Diagnostics(Xm)])


def test_summary_prints_a_keras_style_table(capsys):
    net = gn.Network([gn.Dense(8, "relu"), gn.Dense(1, "sigmoid")], input_dim=2, seed=0)
    assert net.summary() is None
    out = capsys.readouterr().out
    assert "Dense(8, activation='relu')" in out and "(None, 8)" in out
    assert "Total params: 33" in out
    assert "Total params" in net._repr_html_()
    history = net.fit(X[:, :2], Y, epochs=3)
    assert history._repr_png_().startswith(b"\x89PNG")
    assert "data:image/png;base64," in history._repr_html_()


def test_the_command_explains_a_saved_model(tmp_path):
    run = subprocess.run([sys.executable, "-m", "glassnet", "train", "--epochs", "20",
                          "--layers", "16,16", "--out", str(tmp_path), "--quiet"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    result = subprocess.run([sys.executable, "-m", "glassnet", "explain",
                             str(tmp_path / "model.safetensors"), "--batch", "5"],
                            capture_output=True, text=True, timeout=120,
                            env={"COLUMNS": "160", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "Z1 = A0 @ W1 + b1" in result.stdout and "dZ3 = A3 - Y" in result.stdout
    assert "(5, 2) @ (2, 16) + (16,) -> (5, 16)" in result.stdout


def test_the_explain_notebook_runs_and_shows_its_html():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(ROOT / "examples" / "explain.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code"
               for out in cell.get("outputs", [])]
    html = " ".join(out.get("data", {}).get("text/html", "") for out in outputs)
    assert "Z1 = A0 @ W1 + b1" in html                 # the explanation
    assert "Total params" in html                      # the network's summary table
    assert any("image/png" in out.get("data", {}) for out in outputs)   # the live plot
    assert not [out for out in outputs if out.get("output_type") == "error"]
