"""Hostile and unlucky input: model files, checkpoints, data and options an attacker or a tired
user would give. Every case ends in a clear ValueError / TypeError / FileNotFoundError (or a
subclass) that names the problem, or in a correct result; nothing hangs, nothing allocates
without bound, nothing on disk is lost."""

import json
import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
from safetensors.numpy import save as st_save

import glassnet as gn
from glassnet.checkpoints import CHECKPOINT_NAME, read_model_file
from glassnet.errors import ModelFileError
from glassnet.sklearn import NeuralNetClassifier

RNG = np.random.default_rng(5)
X = RNG.normal(size=(24, 2))
Y = (X[:, 0] > 0).astype(int)
GOOD_CONFIG = {"layers": [{"type": "Dense", "units": 2, "activation": "relu"},
                          {"type": "Dense", "units": 1, "activation": "sigmoid"}],
               "input_dim": 2, "loss": "binary_crossentropy", "dtype": "float64"}
GOOD_TENSORS = {"layers.0.W": np.zeros((2, 2)), "layers.0.b": np.zeros(2),
                "layers.1.W": np.zeros((2, 1)), "layers.1.b": np.zeros(1)}


def _file(tmp_path, config=GOOD_CONFIG, tensors=GOOD_TENSORS, **entries):
    header = {"glassnet.format_version": "1",
              "glassnet.config": config if isinstance(config, str) else json.dumps(config),
              "glassnet.metadata": "{}"}
    header.update(entries)
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(st_save(tensors, metadata=header))
    return path


def _with(**changes):
    config = json.loads(json.dumps(GOOD_CONFIG))
    for key, value in changes.items():
        if key.startswith("layer0_"):
            config["layers"][0][key[len("layer0_"):]] = value
        else:
            config[key] = value
    return config


def test_the_good_file_loads(tmp_path):
    """The baseline every hostile case below departs from."""
    net = gn.load(_file(tmp_path))
    assert net.input_dim == 2 and net.dtype == np.float64


@pytest.mark.parametrize("config,message", [
    ([1, 2], "expected a JSON object, got list"),
    ("7", "expected a JSON object, got int"),
    ({"layers": "Dense"}, "no layer list"),
    ({"layers": [5]}, "must be described by an object"),
    ({"layers": [{"type": "Conv2D"}]}, "unknown layer type"),
    (_with(dtype=5), "dtype must be 'float32' or 'float64', got 5"),
    (_with(dtype="float6"), "dtype must be"),
    (_with(input_dim=-3), "no valid input size"),
    (_with(input_dim=True), "no valid input size"),
    (_with(input_dim=None), "no valid input size"),
    (_with(layer0_units="2"), "units must be a positive integer"),
    (_with(layer0_units=10 ** 400), "the architecture needs"),
    (_with(layer0_activation={"name": "leaky_relu", "negative_slope": 10 ** 400}),
     "negative_slope must be"),
    (_with(layer0_activation={"name": "relu", "inplace": True}), "takes no options"),
    (_with(layer0_activation=["relu"]), "unknown activation"),
    (_with(layer0_init=[1]), "unknown initializer"),
    (_with(loss="hinge"), "unknown loss"),
    ("[" * 100_000 + "]" * 100_000, "not JSON"),
])
def test_a_damaged_architecture_is_a_model_file_error_naming_the_field(tmp_path, config,
                                                                        message):
    with pytest.raises(ModelFileError, match=message):
        gn.load(_file(tmp_path, config))


def test_a_layer_of_a_trillion_units_is_refused_before_anything_is_allocated(tmp_path):
    config = _with(layer0_units=10 ** 12)
    with pytest.raises(ModelFileError, match=r"layers.0.W has shape \(2, 2\) but the "
                                             r"architecture needs \(2, 1000000000000\)"):
        gn.load(_file(tmp_path, config))


@pytest.mark.parametrize("entry,value,message", [
    ("glassnet.metadata", "[1, 2]", "glassnet.metadata entry: expected a JSON object"),
    ("glassnet.metadata", "{", "glassnet.metadata entry \\(not JSON\\)"),
    ("glassnet.format_version", "two", "unreadable format version"),
    ("glassnet.format_version", "0", "invalid format version"),
    ("glassnet.format_version", "99", "newer glassnet"),
])
def test_damaged_metadata_is_a_model_file_error(tmp_path, entry, value, message):
    with pytest.raises(ModelFileError, match=message):
        gn.load(_file(tmp_path, **{entry: value}))


def test_metadata_that_is_not_an_object_fails_cleanly_in_info_and_predict(tmp_path):
    path = _file(tmp_path, **{"glassnet.metadata": "[1]"})
    for args in (["info", str(path)], ["predict", str(path), str(tmp_path / "x.csv")]):
        result = subprocess.run([sys.executable, "-m", "glassnet", *args], capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 1
        assert result.stderr.startswith("error:") and "expected a JSON object" in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_a_path_that_is_not_a_regular_file_is_refused_without_waiting(tmp_path, kind):
    if kind == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)                      # open() of a FIFO blocks until a writer comes
    elif kind == "device":
        path = "/dev/zero"                   # endless: read_bytes() would fill the memory
    else:
        path = tmp_path
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(_error_of(gn.load, path)),
                              daemon=True)
    worker.start()
    worker.join(30)
    assert outcome, f"loading a {kind} hung"
    assert isinstance(outcome[0], ModelFileError)
    assert ("not a regular file" if kind != "folder" else "is a folder") in str(outcome[0])


def _error_of(fn, *args):
    try:
        fn(*args)
    except Exception as exc:   # noqa: BLE001 - the test inspects what was raised
        return exc
    return None


def test_saving_nan_weights_is_refused_and_the_old_file_kept(tmp_path):
    path = tmp_path / "model.safetensors"
    good = gn.Network([gn.Dense(1, "sigmoid")], input_dim=2, seed=0)
    gn.save(good, path)
    before = path.read_bytes()
    bad = gn.Network([gn.Dense(1, "sigmoid")], input_dim=2, seed=1)
    bad.params = np.full(bad.n_params, np.nan)
    with pytest.raises(ValueError, match="NaN or infinity.*nothing was written"):
        gn.save(bad, path)
    assert path.read_bytes() == before
    np.testing.assert_array_equal(gn.load(path).params, good.params)


# ---------------------------------------------------------------------------- checkpoints
def _checkpoint(tmp_path):
    folder = tmp_path / "ck"
    net = gn.Network([gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")], seed=0)
    net.fit(X, Y, optimizer=gn.Adam(0.01), epochs=2, batch_size=8, checkpoint=folder)
    return folder


def _rewrite_checkpoint(folder, change_state=None, change_tensors=None):
    metadata, tensors = read_model_file(folder / CHECKPOINT_NAME)
    state = json.loads(metadata["glassnet.checkpoint"])
    if change_state:
        change_state(state)
    if change_tensors:
        change_tensors(tensors)
    metadata["glassnet.checkpoint"] = json.dumps(state)
    (folder / CHECKPOINT_NAME).write_bytes(st_save(tensors, metadata=metadata))


@pytest.mark.parametrize("damage,message", [
    (lambda s, t: s.update(iterations="many"), "iterations is 'many'"),
    (lambda s, t: s.update(epoch=-1), "epoch is -1"),
    (lambda s, t: s.pop("history"), "history is missing"),
    (lambda s, t: s.update(shuffle_rng={"bit_generator": "MT19937"}), "shuffle state"),
    # found by fuzz/fuzz_checkpoint.py: NumPy raised OverflowError for this one
    (lambda s, t: s["shuffle_rng"]["state"].update(state=2 ** 200), "shuffle state"),
    (lambda s, t: t.update(params=np.full_like(t["params"], np.nan)), "NaN or infinity"),
    (lambda s, t: t.update({"optimizer.m": np.zeros(3)}), "optimizer state does not fit"),
])
def test_a_damaged_checkpoint_is_refused_before_any_weight_changes(tmp_path, damage, message):
    folder = _checkpoint(tmp_path)
    state_holder = {}

    def change_state(state):
        state_holder["state"] = state

    def change_tensors(tensors):
        damage(state_holder["state"], tensors)

    _rewrite_checkpoint(folder, change_state, change_tensors)
    net = gn.Network([gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")], input_dim=2, seed=0)
    optimizer = gn.Adam(0.01)
    before = net.params.copy()
    with pytest.raises(ModelFileError, match=f"damaged .*{message}.*delete it to start afresh"):
        net.fit(X, Y, optimizer=optimizer, epochs=4, batch_size=8, checkpoint=folder)
    np.testing.assert_array_equal(net.params, before)
    assert optimizer.iterations == 0 and not optimizer.state


def test_a_checkpoint_folder_that_is_a_file_is_refused_before_training(tmp_path):
    target = tmp_path / "ck"
    target.write_text("my notes")
    seen = []
    with pytest.raises(ValueError, match="is a file, not a folder"):
        gn.Network([gn.Dense(1, "sigmoid")], seed=0).fit(
            X, Y, epochs=3, checkpoint=target, callbacks=[lambda e, logs: seen.append(e)])
    assert not seen and target.read_text() == "my notes"


# ---------------------------------------------------------------------------- data
def test_a_mini_batch_whose_weights_are_all_zero_contributes_nothing():
    w = np.r_[np.ones(12), np.zeros(12)]
    net = gn.Network([gn.Dense(1, "sigmoid")], seed=0)
    history = net.fit(X, Y, sample_weight=w, batch_size=12, shuffle=False, epochs=3, l2=0.1)
    only = gn.Network([gn.Dense(1, "sigmoid")], seed=0)
    # The same as training on the weighted half alone, one batch per epoch.
    only.fit(X[:12], Y[:12], batch_size=12, shuffle=False, epochs=3, l2=0.1)
    np.testing.assert_allclose(net.params, only.params, rtol=1e-12)
    assert np.isfinite(history["loss"]).all()


@pytest.mark.parametrize("X_bad,message", [
    ([[10 ** 400, 1.0]] * 4, "integers too large for a float"),
    ([[1e300 * 1e10, 1.0]] * 4, "NaN or infinity"),
    ([["a", 1.0]] * 4, "must hold numbers"),
    ([[1.0, 2.0], [3.0]] * 2, "could not be read as an array"),
    (np.zeros((4, 2), dtype=complex), "real-valued"),
])
def test_data_that_is_not_finite_real_numbers_is_refused_naming_the_fix(X_bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        gn.Network([gn.Dense(1, "sigmoid")], seed=0).fit(X_bad, [0, 1, 0, 1])


@pytest.mark.parametrize("make,message", [
    (lambda: gn.Network([gn.Dense(1)], dtype="float6"), "dtype must be"),
    (lambda: gn.Network([gn.Dense(1)], dtype=5), "dtype must be"),
    (lambda: gn.Network([gn.Dense(1)], seed=-1), "seed must be"),
    (lambda: gn.schedules.CosineDecay(0.1, 10, minimum=-0.01), "minimum must be"),
    (lambda: gn.schedules.CosineDecay(0.1, 10, minimum=0.5), "minimum must be"),
    (lambda: gn.schedules.StepDecay(0.1, step_size=2.5), "step_size must be a positive"),
    (lambda: gn.activations.LeakyReLU(1.5), "negative_slope must be"),
    (lambda: gn.activations.ELU(alpha=0), "alpha must be"),
    (lambda: gn.SGD(learning_rate=float("nan")), "learning_rate must be"),
    (lambda: gn.Adam(beta_1=1.0), "beta_1 must be"),
    (lambda: gn.callbacks.EarlyStopping(patience=0), "patience must be a positive"),
    (lambda: gn.callbacks.EarlyStopping(min_delta=-1), "min_delta must be"),
    (lambda: gn.callbacks.LambdaCallback("stop"), "must be a Callback or a function"),
    (lambda: gn.Network([gn.Dense(1)], seed=0).fit(X, Y, validation_freq=0),
     "validation_freq must be"),
    (lambda: gn.Network([gn.Dense(1)], seed=0).fit(X, Y, engine=3), "engine must be a name"),
])
def test_invalid_options_are_refused_with_the_name_and_the_value(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_early_stopping_on_a_metric_that_does_not_exist_names_the_ones_that_do():
    stopper = gn.callbacks.EarlyStopping(monitor="val_acc")
    seen = []
    with pytest.raises(ValueError, match=r"monitor='val_acc'.*\['accuracy', 'learning_rate', "
                                         r"'loss'\]"):
        gn.Network([gn.Dense(1, "sigmoid")], seed=0).fit(
            X, Y, epochs=3, early_stopping=stopper, callbacks=[lambda e, logs: seen.append(e)])
    assert not seen                                   # before any epoch ran


@pytest.mark.parametrize("change", [{"hidden_layer_sizes": (7,)}, {"dtype": "float32"},
                                    {"activation": "tanh"}, {"dropout": 0.2}])
def test_warm_start_with_another_architecture_is_refused_not_silently_ignored(change):
    clf = NeuralNetClassifier(hidden_layer_sizes=(4,), max_iter=5, warm_start=True,
                              random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, Y)
        before = clf.network_.params.copy()
        clf.set_params(**change)
        with pytest.raises(ValueError, match=f"{next(iter(change))} is .*warm_start=False"):
            clf.fit(X, Y)
    np.testing.assert_array_equal(clf.network_.params, before)
    clf.set_params(warm_start=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, Y)                          # a fresh fit with the new architecture works


def test_untrusted_text_is_printed_as_text_never_as_markup_or_escapes(tmp_path):
    path = tmp_path / "m.safetensors"
    gn.save(gn.Network([gn.Dense(1, "sigmoid")], input_dim=2, seed=0), path,
            {"[link=file:///etc/passwd]click[/link]": "\x1b[2J\x1b]8;;http://x\x07gone"})
    result = subprocess.run([sys.executable, "-m", "glassnet", "info", str(path)],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "FORCE_COLOR": "1", "COLUMNS": "200"})
    assert result.returncode == 0
    assert "[link=file:///etc/passwd]click[/link]" in result.stdout   # shown, not a link
    assert "\x1b]8;" not in result.stdout and "\x1b[2J" not in result.stdout
    assert "\\x1b[2J" in result.stdout                                # visible instead
