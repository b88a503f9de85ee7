"""The playground without a browser: its settings, data, frames and controls, and its web app.

The frames must show what ``net.fit`` computes: each run here is checked against a network
built and trained directly with the library's public API, never against the session itself.
"""

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet import activations
from glassnet.playground import data
from glassnet.playground import session as session_module
from glassnet.playground.session import Session, build_network
from glassnet.playground.settings import ACTIVATIONS, Settings

starlette = pytest.importorskip("starlette", reason="the playground extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

from glassnet.playground.app import create_app, parse_csv  # noqa: E402

STATIC = Path(gn.__file__).parent / "playground" / "static"
CSV = {"content-type": "text/csv"}


def decode(b64: str, scale: float = 1.0) -> np.ndarray:
    """A frame's map back to values in [-scale, scale] (to within one byte)."""
    q = np.frombuffer(base64.b64decode(b64), dtype=np.uint8).astype(float)
    return (2 * q / 255 - 1) * scale


def direct_network(settings: Settings, n_out_layer) -> gn.Network:
    """The network ``settings`` describe, written out with the public API."""
    layers = []
    for units in settings.hidden:
        layers.append(gn.Dense(units, settings.activation))
        if settings.dropout:
            layers.append(gn.Dropout(settings.dropout))
    layers.append(n_out_layer)
    return gn.Network(layers, input_dim=len(settings.features), seed=settings.seed)


def step(session: Session, epochs: int) -> None:
    session.step(epochs)
    assert session.wait_until_idle(60), "the run did not finish its steps"


def run_script(script: str, folder) -> gn.Network:
    """Run an exported ``train.py`` in ``folder``; the network it saved."""
    (folder / "train.py").write_text(script)
    result = subprocess.run([sys.executable, "train.py"], cwd=folder, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return gn.load(folder / "playground.safetensors")


@pytest.fixture
def sessions():
    opened = []

    def open_session(**values):
        session = Session(Settings.from_dict(values))
        opened.append(session)
        return session

    yield open_session
    for session in opened:
        session.close()


# ----------------------------------------------------------------------------- settings
def test_settings_from_a_url_convert_strings_and_keep_the_rest():
    s = Settings.from_dict({"dataset": "spiral", "hidden": "8, 8", "learning_rate": "0.1",
                            "features": "x1,x2,sin(x1)", "batch_size": "0", "noise": "10"})
    assert s.hidden == (8, 8) and s.learning_rate == 0.1 and s.batch_size == 0
    assert s.features == ("x1", "x2", "sin(x1)") and s.noise == 10
    assert s.optimizer == Settings().optimizer            # untouched fields keep the default
    assert Settings.from_dict(s.to_dict()) == s             # the page's round trip
    assert Settings.from_dict({"hidden": ""}).hidden == ()  # no hidden layer is allowed


@pytest.mark.parametrize("values,message", [
    ({"dataset": "moon"}, "dataset must be one of circle"),
    ({"hidden": "8,x"}, "hidden must be a list of integers"),
    ({"hidden": [8] * 7}, "at most 6 layers"),
    ({"hidden": [0]}, "of 1..16 units"),
    ({"features": "x1,x3"}, "features must be one or more distinct names"),
    ({"features": ""}, "features must be one or more"),
    ({"activation": "swish"}, "activation must be one of relu"),
    ({"learning_rate": "fast"}, "learning_rate must be float"),
    ({"learning_rate": 0}, r"learning_rate must be in \(0, 10\]"),
    ({"learning_rate": float("nan")}, "learning_rate must be in"),
    ({"optimizer": "lbfgs"}, "optimizer must be one of sgd"),
    ({"regularization": "l3"}, "regularization must be one of none"),
    ({"dropout": 1}, r"dropout must be in \[0, 1\)"),
    ({"noise": 80}, "noise must be a percentage"),
    ({"train_percent": 100}, "train_percent must be in 10..90"),
    ({"batch_size": True}, "batch_size must be int"),
    ({"dataset": "blobs"}, "3 classes: use head 'softmax'"),
    ({"dataset": "custom"}, "needs an uploaded CSV"),
    ({"layer_activations": ["relu", "relu", "relu"]}, "more entries than there are hidden"),
    ({"epochs": 5}, "unknown setting 'epochs'"),
])
def test_every_bad_setting_is_named_with_what_it_accepts(values, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_dict(values)


def test_the_pages_activations_are_the_librarys():
    assert set(ACTIVATIONS) <= set(activations.NAMES)


# ----------------------------------------------------------------------------- data
def test_circle_and_xor_at_no_noise_are_what_their_names_say():
    X, y = data.generate("circle", 400, noise=0, seed=1)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius[y == 1].max() <= 2.5 and radius[y == 0].min() >= 3.5
    assert y.sum() == 200
    X, y = data.generate("xor", 400, noise=0, seed=1)
    np.testing.assert_array_equal(y, X[:, 0] * X[:, 1] > 0)


def test_every_data_set_is_on_the_plane_and_regression_targets_are_in_range():
    for name in data.DATASETS:
        X, y = data.generate(name, 300, noise=0, seed=2)
        assert X.shape == (300, 2) and y.shape == (300,)
        assert np.abs(X).max() <= data.RADIUS, name
        if name in data.REGRESSION:
            assert y.dtype == float and np.abs(y).max() <= 1 and y.std() > 0.1
        else:
            counts = np.bincount(y)
            assert len(counts) == (3 if name == "blobs" else 2) and counts.min() >= 99
    a, b = data.generate("spiral", 100, 20, seed=5), data.generate("spiral", 100, 20, seed=5)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], data.generate("spiral", 100, 20, seed=6)[0])


def test_features_are_the_formulas_they_are_named_for():
    X = np.array([[0.5, -2.0], [3.0, 1.0]])
    F = data.features(X, list(data.FEATURES))
    x1, x2 = X.T
    np.testing.assert_array_equal(F, np.column_stack(
        [x1, x2, x1 ** 2, x2 ** 2, x1 * x2, np.sin(x1), np.sin(x2)]))


def test_split_keeps_every_point_once_and_a_user_table_is_relabelled():
    X, y = data.generate("gauss", 200, 0, seed=0)
    plane = data.split(X, y, 30, seed=4, task="classification")
    assert len(plane.X_train) == 60 and len(plane.X_test) == 140
    together = np.vstack([plane.X_train, plane.X_test])
    assert sorted(map(tuple, together)) == sorted(map(tuple, X))
    # The task rule is glassnet's one (recipe.detect_task): few distinct integers, at most
    # half as many as the rows, are classes.
    rows = np.array([[0, 0, 5], [1, 1, 7], [2, 0, 5], [3, 3, 9], [1, 2, 9], [2, 2, 7]],
                    dtype=float)
    X, y, task, domain = data.from_rows(rows)
    assert task == "classification" and list(y) == [0, 1, 0, 2, 2, 1]
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)      # standardised
    np.testing.assert_allclose(X.std(axis=0), 1)
    assert domain[0] < X[:, 0].min() and domain[1] > X[:, 0].max()
    assert data.from_rows(rows + [0, 0, 0.5])[2] == "regression"


# ----------------------------------------------------------------------------- frames = fit
@pytest.mark.parametrize("values,optimizer,fit_args", [
    ({"dataset": "spiral", "hidden": "8,8", "optimizer": "adam", "learning_rate": 0.03,
      "regularization": "l2", "reg_rate": 0.01, "schedule": "cosine", "batch_size": 10},
     lambda: gn.Adam(gn.schedules.CosineDecay(0.03, 500)), {"batch_size": 10, "l2": 0.01}),
    ({"dataset": "xor", "hidden": "6", "activation": "relu", "optimizer": "momentum",
      "learning_rate": 0.01, "regularization": "l1", "reg_rate": 0.003, "batch_size": 7,
      "dropout": 0.1, "features": "x1,x2,x1*x2", "seed": 3},
     lambda: gn.SGD(0.01, momentum=0.9), {"batch_size": 7, "l1": 0.003}),
    ({"dataset": "moons", "hidden": "4,2", "batch_size": 0, "learning_rate": 0.3,
      "schedule": "step"},
     lambda: gn.SGD(gn.schedules.StepDecay(0.3, 500, 0.1)), {"batch_size": None}),
])
def test_a_frame_shows_what_net_fit_computes_for_the_same_settings(sessions, values,
                                                                    optimizer, fit_args):
    session = sessions(**values)
    step(session, 7)
    s = session.settings
    direct = direct_network(s, gn.Dense(1, "sigmoid"))
    history = direct.fit(session.F_train, session.plane.y_train, optimizer(), epochs=7,
                         **fit_args)
    frame = session.frame
    assert frame["epoch"] == 7 and frame["status"] == "paused"
    np.testing.assert_allclose(session.net.params, direct.params, rtol=1e-12, atol=1e-15)
    assert frame["fit_loss"] == pytest.approx(history["loss"][-1], rel=1e-12)
    test = direct.evaluate(session.F_test, session.plane.y_test)
    train = direct.evaluate(session.F_train, session.plane.y_train)
    assert frame["test_loss"] == pytest.approx(test["loss"], rel=1e-12)
    assert frame["train_loss"] == pytest.approx(train["loss"], rel=1e-12)
    assert frame["test_accuracy"] == pytest.approx(test["accuracy"])
    # The boundary: P(class 1) over the grid, row 0 at the top of the plane.
    n = s.resolution
    x1 = np.linspace(-6, 6, n)
    x2 = np.linspace(6, -6, n)
    grid = np.column_stack([np.tile(x1, n), np.repeat(x2, n)])
    expected = direct.predict_proba(data.features(grid, s.features))[:, -1]
    shown = (decode(frame["output"]["map"]) + 1) / 2
    np.testing.assert_allclose(shown, expected, atol=0.5 / 255 + 1e-9)
    # The first hidden layer's maps are its activations over the neurons' own coarser grid,
    # scaled to their range.
    n = min(s.resolution, session_module.NEURON_RESOLUTION)
    x1, x2 = np.linspace(-6, 6, n), np.linspace(6, -6, n)
    grid = np.column_stack([np.tile(x1, n), np.repeat(x2, n)])
    dense = direct.dense_layers[0]
    H = dense.activation.forward(data.features(grid, s.features) @ dense.W + dense.b)
    for unit, neuron in enumerate(frame["neurons"][0]):
        scale = np.abs(H[:, unit]).max()
        np.testing.assert_allclose(decode(neuron["map"], scale), H[:, unit],
                                   atol=scale / 255 + 1e-12)
        assert neuron["range"] == pytest.approx([H[:, unit].min(), H[:, unit].max()])
    assert np.allclose(frame["weights"][0], np.round(dense.W, 5))


def test_a_softmax_head_shows_the_winning_class_and_regression_shows_the_value(sessions):
    session = sessions(dataset="blobs", head="softmax", hidden="5", batch_size=0,
                       learning_rate=0.3)
    step(session, 20)
    direct = direct_network(session.settings, gn.Dense(3, "softmax"))
    direct.fit(session.F_train, session.plane.y_train, gn.SGD(0.3), epochs=20)
    n = session.settings.resolution
    grid = np.column_stack([np.tile(np.linspace(-6, 6, n), n),
                            np.repeat(np.linspace(6, -6, n), n)])
    P = direct.predict_proba(grid)
    shown = np.frombuffer(base64.b64decode(session.frame["output"]["classes"]), np.uint8)
    np.testing.assert_array_equal(shown, P.argmax(axis=1))
    for k, unit_map in enumerate(session.frame["output"]["units"]):     # each class's P
        np.testing.assert_allclose((decode(unit_map) + 1) / 2, P[:, k], atol=0.5 / 255 + 1e-9)
    assert session.frame["test_accuracy"] > 0.9            # three clouds are easy

    session = sessions(dataset="plane", hidden="3", batch_size=0, learning_rate=0.01)
    step(session, 5)
    direct = direct_network(session.settings, gn.Dense(1, "identity"))
    direct.fit(session.F_train, session.plane.y_train, gn.SGD(0.01), epochs=5)
    assert session.net.loss.name == "mse" and session.frame["test_accuracy"] is None
    values = direct.predict(grid).ravel()
    np.testing.assert_allclose(decode(session.frame["output"]["map"]), np.clip(values, -1, 1),
                               atol=1 / 255 + 1e-9)


def test_play_then_pause_stops_between_epochs_at_the_weights_fit_gives(sessions):
    session = sessions(dataset="gauss", hidden="3", batch_size=5, optimizer="adam")
    session.play()
    import time

    for _ in range(600):                     # a wait for progress, not a limit on speed
        if session.epoch >= 3:
            break
        time.sleep(0.01)
    session.pause()
    assert session.wait_until_idle(60)
    epochs = session.epoch
    assert epochs >= 3 and session.frame["epoch"] == epochs
    direct = direct_network(session.settings, gn.Dense(1, "sigmoid"))
    direct.fit(session.F_train, session.plane.y_train, gn.Adam(0.03), epochs=epochs,
               batch_size=5)
    np.testing.assert_allclose(session.net.params, direct.params, rtol=1e-12, atol=1e-15)
    frames = [epoch for epoch, _, _ in session.curve]
    assert frames == sorted(frames) and frames[0] == 0 and frames[-1] == epochs


def test_a_weight_edited_between_epochs_is_trained_from(sessions):
    session = sessions(dataset="circle", hidden="4", batch_size=0, learning_rate=0.1)
    step(session, 2)
    session.edit(0, "W", 1, 2, 0.75)
    session.edit(1, "b", 0, value=-0.5)
    assert session.wait_until_idle(60)
    assert session.frame["weights"][0][1][2] == 0.75 and session.frame["biases"][1][0] == -0.5
    step(session, 3)
    direct = direct_network(session.settings, gn.Dense(1, "sigmoid"))
    direct.fit(session.F_train, session.plane.y_train, gn.SGD(0.1), epochs=2)
    direct.dense_layers[0].W[1, 2] = 0.75
    direct.dense_layers[1].b[0] = -0.5
    direct.fit(session.F_train, session.plane.y_train, gn.SGD(0.1), epochs=3)
    np.testing.assert_allclose(session.net.params, direct.params, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match=r"W1 has shape \(2, 4\); index \(2, 0\) is outside"):
        session.edit(0, "W", 2, 0, 1.0)
    with pytest.raises(ValueError, match="finite"):
        session.edit(0, "W", 0, 0, float("inf"))


def test_a_neurons_formula_has_the_live_numbers_and_its_batchs_gradient(sessions):
    session = sessions(dataset="moons", hidden="3,2", batch_size=8, activation="tanh")
    step(session, 4)
    info = session.neuron(layer=1, unit=1, sample=10)
    net = session.snapshot()
    F, y = session.F_train, session.plane.y_train
    W1, b1 = net.dense_layers[0].W, net.dense_layers[0].b
    W2, b2 = net.dense_layers[1].W, net.dense_layers[1].b
    a1 = np.tanh(F[10] @ W1 + b1)
    z = float(a1 @ W2[:, 1] + b2[1])
    assert info["z"] == pytest.approx(z, rel=1e-12) and info["a"] == pytest.approx(np.tanh(z))
    assert info["a_prev"] == pytest.approx(list(a1))
    numbers = [float(v) for v in re.findall(r"-?\d+\.?\d*(?:e-?\d+)?", info["formula"])]
    # z = w1*h1_1(a1) + w2*h1_2(a2) + w3*h1_3(a3) + b(b) = z, each to 4 significant digits
    # (the names h1_k hold digits too: keep the numbers around them).
    shown = [v for k, v in enumerate(numbers) if k % 4 in (0, 3)][:6]
    assert shown == pytest.approx([W2[0, 1], a1[0], W2[1, 1], a1[1], W2[2, 1], a1[2]],
                                  rel=1e-3, abs=1e-4)
    assert info["formula"].endswith(f"= {z:.4g}")
    # dW and db: the gradient of the batch of 8 that held sample 10 in the fourth epoch, the
    # network's shuffle stream drawn again: four permutations, the last one this epoch's.
    stream = build_network(session.settings, session.plane).shuffle_rng
    order = [stream.permutation(len(F)) for _ in range(4)][-1]
    position = int(np.flatnonzero(order == 10)[0])
    rows = order[(position // 8) * 8:(position // 8 + 1) * 8]
    assert info["batch"] == rows.tolist() and "in epoch 4" in info["backward"]
    net.loss_and_grad(F[rows], y[rows])
    assert info["dW"] == pytest.approx(list(net.dense_layers[1].dW[:, 1]), rel=1e-9)
    assert info["db"] == pytest.approx(float(net.dense_layers[1].db[1]), rel=1e-9)
    with pytest.raises(ValueError, match="layer 1 has 2 units; got unit 5"):
        session.neuron(1, 5)
    with pytest.raises(ValueError, match="sample must be in"):
        session.neuron(0, 0, sample=10_000)


def test_the_step_through_view_is_the_update_the_next_epoch_makes(sessions):
    """Full batch, plain SGD with L2: the neuron's ``W - lr (dW + l2 W / n)`` from the page
    is where the next epoch takes its weights and bias."""
    session = sessions(dataset="circle", hidden="4", batch_size=0, learning_rate=0.3,
                       regularization="l2", reg_rate=0.1)
    step(session, 3)
    update = session.neuron(layer=0, unit=2, sample=5)["update"]
    assert update["learning_rate"] == 0.3 and update["optimizer"] == "sgd"
    W = session.net.dense_layers[0].W[:, 2].copy()
    assert update["penalty"] == pytest.approx(list(0.1 * W / len(session.F_train)))
    step(session, 1)
    assert update["W_next"] == pytest.approx(list(session.net.dense_layers[0].W[:, 2]),
                                             rel=1e-9)
    assert update["b_next"] == pytest.approx(float(session.net.dense_layers[0].b[2]), rel=1e-9)


def test_the_bend_view_draws_the_plane_through_two_hidden_units(sessions):
    session = sessions(dataset="circle", hidden="3", batch_size=0)
    session.set_bend((0, 0, 2))
    view = session.frame["bend"]
    dense = session.net.dense_layers[0]
    lines = np.array(view["lines"])
    assert lines.shape[2] == 2 and view["units"] == [0, 2]
    first = np.column_stack([np.full(41, -6.0), np.linspace(-6, 6, 41)])   # x1 = -6
    np.testing.assert_allclose(lines[0], np.tanh(first @ dense.W + dense.b)[:, [0, 2]],
                               atol=1e-4)
    with pytest.raises(ValueError, match="no units 0 and 3 in hidden layer 0"):
        session.set_bend((0, 0, 3))


def test_a_diverging_run_says_so_and_keeps_finite_weights(sessions):
    session = sessions(dataset="plane", hidden="8,8", activation="relu", learning_rate=10,
                       batch_size=0)
    step(session, 200)
    assert session.status == "diverged" and "diverged" in session.frame["message"]
    assert np.all(np.isfinite(session.net.params))
    with pytest.raises(ValueError, match="lower the learning rate"):
        session.play()


def test_the_exported_script_trains_the_same_weights(sessions, tmp_path):
    from glassnet.playground.codegen import training_script

    session = sessions(dataset="spiral", hidden="5,3", optimizer="adam", batch_size=12,
                       regularization="l2", reg_rate=0.03, features="x1,x2,sin(x1)")
    step(session, 6)
    trained = run_script(training_script(session.settings, session.epoch), tmp_path)
    np.testing.assert_allclose(trained.params, session.net.params, rtol=1e-12, atol=1e-15)


def test_the_exported_script_replays_weights_set_by_hand(sessions, tmp_path):
    """Edits before training, between two epochs, and while a live change waits, under a
    cosine schedule (which a fit restarted at each edit would begin again): the script's
    weights are the page's."""
    from glassnet.playground.codegen import training_script

    session = sessions(dataset="xor", hidden="4,3", batch_size=10, learning_rate=0.1,
                       schedule="cosine")
    session.edit(0, "W", 1, 2, 0.75)
    step(session, 3)
    session.edit(1, "b", 2, value=-0.5)
    session.edit(2, "W", 0, 0, 1.25)
    assert session.wait_until_idle(60)
    step(session, 2)
    session.change(Settings.from_dict({"learning_rate": 0.03}, session.settings))
    session.edit(0, "b", 3, value=0.25)
    assert session.wait_until_idle(60)
    step(session, 2)
    assert [(e, layer, name) for e, layer, name, *_ in session.edits] == \
        [(0, 0, "W"), (3, 1, "b"), (3, 2, "W"), (5, 0, "b")]
    script = training_script(session.initial_settings, session.epoch, session.changes,
                             session.edits)
    trained = run_script(script, tmp_path)
    np.testing.assert_allclose(trained.params, session.net.params, rtol=1e-12, atol=1e-15)
    # Without the edits the script trains another network.
    unedited = run_script(training_script(session.initial_settings, session.epoch,
                                          session.changes), tmp_path)
    assert not np.allclose(unedited.params, session.net.params)


# ----------------------------------------------------------------------------- the app
@pytest.fixture
def client():
    app = create_app(Settings(dataset="moons", hidden=(6,), batch_size=0, learning_rate=0.3))
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        c.playground = app.state.playground
        yield c


def test_the_page_and_its_assets_are_served_and_load_nothing_from_outside(client):
    page = client.get("/")
    assert page.status_code == 200 and "<canvas id=\"output\"" in page.text
    for name in ("playground.js", "playground.css"):
        assert client.get(f"/static/{name}").status_code == 200
    for path in STATIC.iterdir():
        text = path.read_text()
        # Only the SVG namespace is a URL; nothing is fetched from elsewhere.
        outside = [u for u in re.findall(r"(?:https?:)?//[\w.-]+\.\w+[^\s\"'`)]*", text)
                   if "www.w3.org/2000/svg" not in u]
        assert not outside, (path.name, outside)
        assert "@import" not in text


def test_state_settings_and_controls(client):
    state = client.get("/api/state").json()
    assert state["settings"]["dataset"] == "moons" and state["layers"] == [2, 6, 1]
    assert len(state["features"]) == 7 and state["frame"]["epoch"] == 0
    state = client.post("/api/settings", json={"hidden": "8,8", "dataset": "xor"}).json()
    assert state["layers"] == [2, 8, 8, 1] and state["settings"]["dataset"] == "xor"
    initial = client.playground.session.net.params.copy()
    assert client.post("/api/control", json={"action": "step"}).status_code == 200
    session = client.playground.session
    assert session.wait_until_idle(60) and session.epoch == 1
    assert not np.array_equal(session.net.params, initial)
    reset = client.post("/api/control", json={"action": "reset"}).json()
    assert reset["frame"]["epoch"] == 0 and reset["session"] != state["session"]
    np.testing.assert_array_equal(client.playground.session.net.params, initial)
    regenerated = client.post("/api/control", json={"action": "regenerate"}).json()
    assert regenerated["settings"]["data_seed"] == 1
    assert regenerated["points"] != reset["points"]
    # New points, the same initial weights: they come from the seed alone.
    np.testing.assert_array_equal(client.playground.session.net.params, initial)


@pytest.mark.parametrize("route,body,message", [
    ("/api/settings", {"hidden": "a"}, "hidden must be a list of integers"),
    ("/api/settings", [1, 2], "must be a JSON object"),
    ("/api/control", {"action": "rewind"}, "action must be play, pause"),
    ("/api/weight", {"layer": 7, "row": 0, "value": 1}, "layer must be in 0..1"),
    ("/api/weight", {"layer": 0, "row": 0}, "weight edit"),
    ("/api/view", {"bend": [0, 0, 9]}, "no units 0 and 9"),
])
def test_bad_requests_get_400_and_name_the_problem(client, route, body, message):
    before = client.playground.session
    response = client.post(route, json=body)
    assert response.status_code == 400
    assert re.search(message, response.json()["error"])
    assert client.playground.session is before          # nothing was replaced


def test_a_bad_neuron_question_gets_400(client):
    response = client.get("/api/neuron?layer=0&unit=9")
    assert response.status_code == 400 and "has 6 units" in response.json()["error"]
    assert client.get("/api/neuron?layer=x").status_code == 400


def test_an_uploaded_csv_becomes_the_data(client, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2)) * 10 + 100
    labels = np.array(["7", "8", "9"])[(X[:, 0] > 100).astype(int) + (X[:, 1] > 100)]
    text = "a,b,label\n" + "\n".join(f"{a},{b},{c}" for (a, b), c in zip(X, labels))
    state = client.post("/api/data", content=text, headers=CSV).json()
    assert state["task"] == "classification" and state["n_classes"] == 3
    assert state["settings"]["head"] == "softmax"         # three classes need it
    # Standardised, as the recipe does a table's numbers: the plane is drawn in those units.
    z = (X[:, 0] - X[:, 0].mean()) / X[:, 0].std()
    assert state["domain"][0] < z.min() and state["domain"][1] > z.max() and \
        state["domain"][1] < 10
    meta_model = client.get("/api/model.safetensors")
    path = tmp_path / "m.safetensors"
    path.write_bytes(meta_model.content)
    scaling = gn.io.load_metadata(path)["input_scaling"]
    assert scaling["x1"]["offset"] == pytest.approx(X[:, 0].mean())
    assert scaling["x2"]["scale"] == pytest.approx(X[:, 1].std())
    session = client.playground.session
    assert len(session.plane.X_train) + len(session.plane.X_test) == 60
    # The table stays with the run when other settings change.
    state = client.post("/api/settings", json={"hidden": "3"}).json()
    assert state["settings"]["dataset"] == "custom"


@pytest.mark.parametrize("text,message", [
    ("x1,x2,label\n1,2,0\n", "at least 4 rows"),
    ("1,2,0\n1,2\n3,4,1\n5,6,0\n", "line 2: expected 3 columns"),
    ("1,2,0\n1,zz,1\n3,4,1\n5,6,0\n", "line 2: .* is not three numbers"),
    ("1,2,0\n1,nan,1\n3,4,1\n5,6,0\n", "line 2: every value must be a finite number"),
    ("1,2,0\n1e308,1,1\n3,4,1\n5,6,0\n", "line 2: every value must be a finite number"),
    ("1,2,0\n" + "1" * 200_000 + ",1,1\n3,4,1\n5,6,0\n", "line 2: every value must be"),
])
def test_a_bad_csv_is_refused_with_its_line(client, text, message):
    response = client.post("/api/data", content=text, headers=CSV)
    assert response.status_code == 400 and re.search(message, response.json()["error"])
    with pytest.raises(ValueError, match=message.split(":")[0]):
        Settings.from_dict({"dataset": "custom", "custom": parse_csv(text)})


def test_a_csv_too_large_is_refused_before_parsing(client):
    response = client.post("/api/data", content=b"1,2,0\n" * 200_000, headers=CSV)
    assert response.status_code == 413 and "larger than" in response.json()["error"]


def test_the_downloaded_model_loads_and_predicts_as_the_page_shows(client, tmp_path):
    client.post("/api/control", json={"action": "step"})
    session = client.playground.session
    assert session.wait_until_idle(60)
    response = client.get("/api/model.safetensors")
    assert response.status_code == 200
    (tmp_path / "m.safetensors").write_bytes(response.content)
    net = gn.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(net.params, session.net.params)
    metadata = gn.io.load_metadata(tmp_path / "m.safetensors")
    assert metadata["features"] == ["x1", "x2"] and metadata["epoch"] == 1
    assert metadata["settings"]["dataset"] == "moons"
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model = client.get("/api/model.onnx")
    assert model.status_code == 200
    onnx.checker.check_model(onnx.load_from_string(model.content))
    run = ort.InferenceSession(model.content, providers=["CPUExecutionProvider"])
    X = session.F_test                 # the model's own dtype, float64
    outputs = run.run(None, {run.get_inputs()[0].name: X})
    probabilities = [o for o in outputs if o.ndim == 2][-1]
    np.testing.assert_allclose(probabilities[:, -1], net.predict_proba(X)[:, -1], rtol=1e-4,
                               atol=1e-6)
    script = client.get("/api/train.py")
    assert "epochs=1" in script.text and "recipe.build_network" in script.text


def test_frames_stream_as_server_sent_events(client):
    client.post("/api/control", json={"action": "play"})
    frames = []
    with client.stream("GET", "/api/frames?limit=3") as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                frames.append(json.loads(line[len("data: "):]))
    client.post("/api/control", json={"action": "pause"})
    assert len(frames) == 3
    epochs = [f["epoch"] for f in frames]
    assert epochs == sorted(epochs) and epochs[-1] > epochs[0]    # it moves while playing
    assert {"output", "neurons", "weights", "test_loss"} <= set(frames[0])


# ----------------------------------------------------------------------------- live settings
@pytest.mark.parametrize("change", [{"learning_rate": 0.5}, {"optimizer": "adam"},
                                    {"regularization": "l2", "reg_rate": 0.01}])
def test_a_live_change_continues_the_run_as_fit_would_and_the_script_replays_it(
        sessions, tmp_path, change):
    from glassnet.playground.codegen import training_script
    from glassnet.playground.session import build_optimizer, fit_arguments

    session = sessions(dataset="xor", hidden="4", optimizer="momentum", batch_size=16,
                       learning_rate=0.05)
    step(session, 3)
    session.change(Settings.from_dict(change, session.settings))
    assert session.epoch == 3 and session.wait_until_idle(10)     # nothing trained meanwhile
    step(session, 2)
    assert session.epoch == 5 and session.changes == [(3, change)]
    # The same training written with the library: three epochs, then (a new rate keeps the
    # optimizer and its momentum; a new optimizer starts afresh) two more.
    first, later = session.initial_settings, session.settings
    net = build_network(first, session.plane)
    X = data.features(session.plane.X_train, first.features)
    optimizer = build_optimizer(first)
    net.fit(X, session.plane.y_train, optimizer, epochs=3, **fit_arguments(first))
    if later.optimizer == first.optimizer:
        optimizer.schedule = build_optimizer(later).schedule
    else:
        optimizer = build_optimizer(later)
    net.fit(X, session.plane.y_train, optimizer, epochs=2, **fit_arguments(later))
    np.testing.assert_allclose(session.net.params, net.params, rtol=1e-12, atol=1e-15)
    script = training_script(first, session.epoch, session.changes)
    trained = run_script(script, tmp_path)
    np.testing.assert_allclose(trained.params, session.net.params, rtol=1e-12, atol=1e-15)


def test_the_downloaded_script_carries_the_weights_set_by_hand(client):
    client.post("/api/weight", json={"layer": 0, "name": "W", "row": 1, "column": 3,
                                     "value": 0.625})
    script = client.get("/api/train.py").text
    assert "HAND_EDITS = {\n    0: [(0, 'W', (1, 3), 0.625)]," in script
    assert "set_by_hand(net, 0)" in script


def test_a_new_learning_rate_does_not_restart_the_run(client):
    client.post("/api/control", json={"action": "step"})
    session = client.playground.session
    assert session.wait_until_idle(30) and session.epoch == 1
    state = client.post("/api/settings", json={"learning_rate": 0.05}).json()
    assert state["settings"]["learning_rate"] == 0.05
    assert client.playground.session is session and session.epoch == 1
    state = client.post("/api/settings", json={"hidden": "2"}).json()   # a new network: anew
    assert client.playground.session is not session
