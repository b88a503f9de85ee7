"""The engines against the layered engine they stand in for: the same weights, history,
messages and end state, through fit(engine=...)."""

import copy

import numpy as np
import pytest

import glassnet as gn
from glassnet.engines import CompiledEngine
from glassnet.engines import compiled as compiled_module
from glassnet.engines import tape as tape_module
from glassnet.schedules import StepDecay

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3))
Y_BINARY = (X[:, 0] * X[:, 1] > 0).astype(int)
Y_CLASS = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
Y_REG = np.c_[X[:, 0] - X[:, 2], X[:, 1] ** 2]
WEIGHTS = RNG.random(40)

CASES = {
    "bce relu": ([gn.Dense(5, "relu"), gn.Dense(1, "sigmoid")], Y_BINARY),
    "bce tanh sigmoid": ([gn.Dense(4, "tanh"), gn.Dense(3, "sigmoid"), gn.Dense(1, "sigmoid")],
                         Y_BINARY),
    "bce multi-label": ([gn.Dense(4, "relu"), gn.Dense(2, "sigmoid")],
                        np.c_[Y_BINARY, 1 - Y_BINARY]),
    "cce labels": ([gn.Dense(6, "relu"), gn.Dense(3, "softmax")], Y_CLASS),
    "cce one-hot": ([gn.Dense(6, "relu"), gn.Dense(3, "softmax")], np.eye(3)[Y_CLASS]),
    "mse identity": ([gn.Dense(6, "relu"), gn.Dense(2)], Y_REG),
    "mse tanh head": ([gn.Dense(6, "identity"), gn.Dense(2, "tanh")], Y_REG / 10),
    "mse relu head": ([gn.Dense(6, "sigmoid"), gn.Dense(2, "relu")], Y_REG),
    "no hidden layer": ([gn.Dense(1, "sigmoid")], Y_BINARY),
}


#: the engines that replay full-batch gradient descent, each checked against the layered one
#: (the compiled one needs Numba, which the test extra installs)
REPLAYS = ["tape", "compiled"]


def train(layers, y, engine, monkeypatch=None, data=X, **fit_args):
    """Fit a fresh network (same seed) on ``engine`` ("tape", "compiled"; True means the
    tape, False the layered engine); return it, its optimizer and the divergence message
    (None if it did not diverge)."""
    engine = {True: "tape", False: "layered"}.get(engine, engine)
    net = gn.Network(copy.deepcopy(layers), seed=3, dtype=fit_args.pop("dtype", "float64"))
    optimizer = fit_args.pop("optimizer", None) or gn.SGD(0.1)
    try:
        net.fit(data, y, optimizer=optimizer, engine=engine, **fit_args)
        error = None
    except gn.DivergenceError as exc:
        error = str(exc)
    assert net.history.engine == engine
    return net, optimizer, error


@pytest.mark.parametrize("replay", REPLAYS)
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_tape_trains_as_the_layered_path_does(case, weighted, replay, monkeypatch):
    layers, y = CASES[case]
    if weighted:   # also the relu backward that large activations use
        monkeypatch.setattr(tape_module, "PUTMASK_MAX", 0)
    args = dict(epochs=300, sample_weight=WEIGHTS if weighted else None)
    tape, opt_tape, _ = train(layers, y, replay, monkeypatch, **args)
    layered, opt_layered, _ = train(layers, y, False, monkeypatch, **args)
    np.testing.assert_allclose(tape.params, layered.params, rtol=1e-9, atol=1e-12)
    assert tape.history.to_dict().keys() == layered.history.to_dict().keys()
    np.testing.assert_allclose(tape.history["loss"], layered.history["loss"], rtol=1e-9)
    if "accuracy" in layered.history:
        assert tape.history["accuracy"] == layered.history["accuracy"]
    assert tape.history.epochs == layered.history.epochs == list(range(300))
    assert opt_tape.iterations == opt_layered.iterations == 300


@pytest.mark.parametrize("replay", REPLAYS)
def test_float32_and_a_schedule(replay, monkeypatch):
    layers, y = CASES["cce labels"]
    args = dict(epochs=120, dtype="float32")
    tape, opt_tape, _ = train(layers, y, replay, monkeypatch,
                              optimizer=gn.SGD(StepDecay(0.2, 25, 0.5)), **args)
    layered, opt_layered, _ = train(layers, y, False, monkeypatch,
                                    optimizer=gn.SGD(StepDecay(0.2, 25, 0.5)), **args)
    assert tape.params.dtype == np.float32
    np.testing.assert_allclose(tape.params, layered.params, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(tape.history["loss"], layered.history["loss"], rtol=1e-4)
    assert tape.history["learning_rate"] == layered.history["learning_rate"]
    assert tape.history["learning_rate"][-1] == pytest.approx(0.2 * 0.5 ** 4)
    assert opt_tape.learning_rate == opt_layered.learning_rate


@pytest.mark.parametrize("replay", REPLAYS)
def test_the_gradient_left_in_net_grads_is_that_of_the_last_step(replay, monkeypatch):
    layers, y = CASES["bce tanh sigmoid"]
    tape, _, _ = train(layers, y, replay, monkeypatch, epochs=1)
    start = gn.Network(copy.deepcopy(layers), seed=3)       # the weights before that step
    _, grad = start.loss_and_grad(X, y)
    np.testing.assert_allclose(tape.grads, grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("replay,block", [("tape", 1), ("tape", 3), ("tape", 4), ("tape", 256),
                                          ("compiled", 1), ("compiled", 3), ("compiled", 512)])
@pytest.mark.parametrize("lr,epochs", [(0.05, 50), (1e3, 10), (0.02, 50)])
def test_divergence_keeps_the_same_weights_as_the_layered_path(replay, block, lr, epochs,
                                                                monkeypatch):
    """Divergence found a block of steps late is rewound to the very weights, history and
    message of the layered path, also when the last finite step is in the block before."""
    monkeypatch.setattr(tape_module, "MAX_BLOCK", block)
    monkeypatch.setattr(CompiledEngine, "preferred_span", block)
    layers = [gn.Dense(6, "relu"), gn.Dense(2)]
    data = 10 * X
    y = np.c_[data[:, 0] - data[:, 2], data[:, 1] ** 2]
    tape, opt_tape, err_tape = train(layers, y, replay, monkeypatch, data=data, epochs=epochs,
                                     optimizer=gn.SGD(lr))
    layered, opt_layered, err_layered = train(layers, y, False, monkeypatch, data=data,
                                              epochs=epochs, optimizer=gn.SGD(lr))
    assert err_layered is not None and "diverged at epoch" in err_layered
    assert err_tape == err_layered
    assert np.isfinite(tape.params).all()
    np.testing.assert_allclose(tape.params, layered.params, rtol=1e-9)
    assert tape.history.epochs == layered.history.epochs
    np.testing.assert_allclose(tape.history["loss"], layered.history["loss"], rtol=1e-9)
    assert opt_tape.iterations == opt_layered.iterations


@pytest.mark.parametrize("replay", REPLAYS)
def test_a_loss_that_overflows_at_once_keeps_the_initial_weights(replay, monkeypatch):
    layers = [gn.Dense(3, "relu"), gn.Dense(2)]
    data = 1e160 * X                       # finite, but its squared error is not
    tape, _, err = train(layers, Y_REG, replay, monkeypatch, data=data, epochs=5)
    assert "diverged at epoch 0" in err and "it started with" in err
    initial = gn.Network(copy.deepcopy(layers), seed=3, input_dim=3)
    np.testing.assert_array_equal(tape.params, initial.params)
    assert len(tape.history) == 0


@pytest.mark.parametrize("replay", REPLAYS)
def test_weights_that_overflow_at_the_last_step_are_rolled_back(replay, monkeypatch):
    """The loss of the last step is finite, the update is not: both paths notice."""
    layers = [gn.Dense(3, "relu"), gn.Dense(2)]
    results = [train(layers, Y_REG, use, monkeypatch, epochs=2, optimizer=gn.SGD(1e306))
               for use in (replay, False)]
    (tape, _, err_tape), (layered, _, err_layered) = results
    assert err_layered is not None and "epoch 1" in err_layered
    assert err_tape == err_layered
    np.testing.assert_allclose(tape.params, layered.params, rtol=1e-9)


@pytest.mark.parametrize("replay", REPLAYS)
def test_verbose_lines_are_those_of_the_layered_path(replay, monkeypatch, capsys):
    layers, y = CASES["bce relu"]
    train(layers, y, replay, monkeypatch, epochs=25, verbose=10)
    tape_out = capsys.readouterr().out
    train(layers, y, False, monkeypatch, epochs=25, verbose=10)
    layered_out = capsys.readouterr().out
    assert tape_out.splitlines() == layered_out.splitlines()
    assert [line.split(":")[0] for line in tape_out.splitlines()] == \
        ["epoch 0", "epoch 10", "epoch 20", "epoch 24"]


@pytest.mark.parametrize("change,reason", [
    ("momentum", "plain gradient descent"), ("adam", "plain gradient descent"),
    ("l2", "l2"), ("l1", "l1"), ("clip", "clip_norm"), ("dropout", "Dense layers only"),
    ("leaky_relu", "activations must be among"), ("mini-batch", "full batches")])
def test_the_tape_refuses_what_it_would_compute_differently(change, reason):
    layers, y = [gn.Dense(5, "relu"), gn.Dense(1, "sigmoid")], Y_BINARY
    optimizer, args = gn.SGD(0.1), dict(epochs=3)
    if change == "momentum":
        optimizer = gn.SGD(0.1, momentum=0.9)
    elif change == "adam":
        optimizer = gn.Adam()
    elif change in ("l1", "l2"):
        args[change] = 0.01
    elif change == "clip":
        args["clip_norm"] = 1.0
    elif change == "dropout":
        layers = [gn.Dense(5, "relu"), gn.Dropout(0.1), gn.Dense(1, "sigmoid")]
    elif change == "leaky_relu":
        layers = [gn.Dense(5, "leaky_relu"), gn.Dense(1, "sigmoid")]
    else:
        args["batch_size"] = 16
    with pytest.raises(ValueError, match=f"engine='tape' cannot run this fit exactly: .*{reason}"):
        gn.Network(copy.deepcopy(layers), seed=0).fit(X, y, optimizer=optimizer, engine="tape",
                                                      **args)
    history = gn.Network(layers, seed=0).fit(X, y, optimizer=optimizer, **args)
    assert history.engine == "layered"


def test_auto_takes_the_tape_with_validation_callbacks_and_checkpoints(tmp_path):
    """What looks at the weights between epochs no longer sends a fit to the slow path: the
    loop stops the tape where it must look, and the result is the layered engine's."""
    layers, y = CASES["bce tanh sigmoid"]
    seen = {"tape": [], "layered": []}
    results = {}
    for engine in ("auto", "layered"):
        net = gn.Network(copy.deepcopy(layers), seed=3)
        key = "tape" if engine == "auto" else "layered"
        history = net.fit(X[:30], y[:30], optimizer=gn.SGD(0.3), epochs=40,
                          validation_data=(X[30:], y[30:]), validation_freq=7,
                          callbacks=[lambda e, logs, k=key: seen[k].append(logs["loss"])],
                          checkpoint=tmp_path / engine, checkpoint_every=9)
        results[key] = (net, history)
    (tape, h_tape), (layered, h_layered) = results["tape"], results["layered"]
    assert h_tape.engine == "tape"
    np.testing.assert_allclose(tape.params, layered.params, rtol=1e-9)
    np.testing.assert_allclose(seen["tape"], seen["layered"], rtol=1e-9)
    assert h_tape.val_epochs == h_layered.val_epochs == [6, 13, 20, 27, 34, 39]
    np.testing.assert_allclose(h_tape["val_loss"], h_layered["val_loss"], rtol=1e-9)
    # The checkpoint the tape wrote holds the weights of its last epoch.
    resumed = gn.Network(copy.deepcopy(layers), seed=3)
    history = resumed.fit(X[:30], y[:30], optimizer=gn.SGD(0.3), epochs=40,
                          checkpoint=tmp_path / "auto")
    assert history.epochs == list(range(40))
    np.testing.assert_array_equal(resumed.params, tape.params)


def test_auto_leaves_large_problems_to_the_layered_engine(monkeypatch):
    monkeypatch.setattr(tape_module, "MAX_ELEMENTS", 100)
    layers, y = CASES["bce relu"]
    assert gn.Network(copy.deepcopy(layers), seed=0).fit(X, y, optimizer=gn.SGD(0.1),
                                                         epochs=2).engine == "layered"
    # Named, the tape still runs it: the size is about speed, not exactness.
    assert gn.Network(layers, seed=0).fit(X, y, optimizer=gn.SGD(0.1), epochs=2,
                                          engine="tape").engine == "tape"


def test_auto_takes_the_compiled_engine_for_long_fits_of_small_relu_networks(monkeypatch):
    """The choice depends on the fit alone (its length, the network), never on what ran
    before in the process: a fit gives the same numbers every time."""
    relu, y = CASES["bce relu"]
    long_fit = compiled_module.START_S / compiled_module.SAVED_PER_STEP_S
    monkeypatch.setattr(compiled_module, "START_S", 100 * compiled_module.SAVED_PER_STEP_S)
    for epochs, expected in ((99, "tape"), (100, "compiled")):
        history = gn.Network(copy.deepcopy(relu), seed=0).fit(X, y, optimizer=gn.SGD(0.1),
                                                              epochs=epochs)
        assert history.engine == expected
    assert long_fit >= 10 ** 5       # without the patch: for fits long enough to pay Numba
    # Transcendental hidden units (NumPy's tanh is vectorised; the kernel's is not), and
    # products too large for unblocked loops, stay on the tape.
    tanh = CASES["bce tanh sigmoid"][0]
    assert gn.Network(copy.deepcopy(tanh), seed=0).fit(
        X, y, optimizer=gn.SGD(0.1), epochs=100).engine == "tape"
    monkeypatch.setattr(compiled_module, "MAX_PRODUCTS", 100)
    assert gn.Network(copy.deepcopy(relu), seed=0).fit(
        X, y, optimizer=gn.SGD(0.1), epochs=100).engine == "tape"


def test_the_compiled_engine_refuses_what_the_tape_refuses():
    with pytest.raises(ValueError, match="engine='compiled' cannot run this fit exactly: .*"
                                         "plain gradient descent"):
        gn.Network([gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")], seed=0).fit(
            X, Y_BINARY, optimizer=gn.Adam(), engine="compiled", epochs=2)


def test_an_unknown_engine_is_refused_with_the_valid_names():
    with pytest.raises(ValueError,
                       match="valid engines are: auto, layered, tape, compiled, rowspace"):
        gn.Network([gn.Dense(1, "sigmoid")], seed=0).fit(X, Y_BINARY, engine="fast")


class _StopAt(gn.callbacks.Callback):
    """Reads the logs only, so the tape may run a block past it and rewind."""

    reads_weights = False

    def __init__(self, epoch):
        self.epoch, self.seen = epoch, []

    def on_epoch_end(self, epoch, logs, net, history):
        self.seen.append((epoch, logs["loss"], len(history)))
        return epoch == self.epoch


@pytest.mark.parametrize("stop_epoch", [0, 5, 254, 255, 256, 300])
def test_a_callback_on_the_logs_stops_the_tape_where_it_stops_the_layered_engine(
        stop_epoch, tmp_path):
    layers, y = CASES["cce labels"]
    runs = {}
    for engine in ("tape", "layered"):
        net = gn.Network(copy.deepcopy(layers), seed=3)
        optimizer, stopper = gn.SGD(StepDecay(0.2, 50, 0.7)), _StopAt(stop_epoch)
        history = net.fit(X, y, optimizer=optimizer, epochs=400, callbacks=[stopper],
                          checkpoint=tmp_path / engine, checkpoint_every=100, engine=engine)
        runs[engine] = net, optimizer, stopper, history
    (tape, opt_t, stop_t, h_t), (layered, opt_l, stop_l, h_l) = runs["tape"], runs["layered"]
    assert h_t.engine == "tape"
    np.testing.assert_allclose(tape.params, layered.params, rtol=1e-9)
    assert h_t.epochs == h_l.epochs == list(range(stop_epoch + 1))
    assert h_t.stopped_epoch == h_l.stopped_epoch == stop_epoch
    assert opt_t.iterations == opt_l.iterations == stop_epoch + 1
    assert opt_t.learning_rate == opt_l.learning_rate
    # Each epoch reached the callback once, in order, with the history up to that epoch.
    assert [e for e, _, _ in stop_t.seen] == list(range(stop_epoch + 1))
    assert [n for _, _, n in stop_t.seen] == [n for _, _, n in stop_l.seen]
    np.testing.assert_allclose([v for _, v, _ in stop_t.seen], [v for _, v, _ in stop_l.seen],
                               rtol=1e-9)
    # The checkpoint written at the stop holds the weights the network stopped with.
    from glassnet.checkpoints import CHECKPOINT_NAME, read_model_file

    _, tensors = read_model_file(tmp_path / "tape" / CHECKPOINT_NAME)
    np.testing.assert_array_equal(tensors["params"], tape.params)


def test_a_callback_that_stops_just_before_divergence_wins_over_the_divergence():
    layers = [gn.Dense(6, "relu"), gn.Dense(2)]
    data = 10 * X
    y = np.c_[data[:, 0] - data[:, 2], data[:, 1] ** 2]
    first = gn.Network(copy.deepcopy(layers), seed=3)
    with pytest.raises(gn.DivergenceError, match="diverged at epoch (\\d+)") as info:
        first.fit(data, y, optimizer=gn.SGD(0.05), epochs=50, engine="layered")
    diverged = int(info.value.args[0].split("epoch ")[1].split(":")[0])
    results = []
    for engine in ("tape", "layered"):
        net = gn.Network(copy.deepcopy(layers), seed=3)
        history = net.fit(data, y, optimizer=gn.SGD(0.05), epochs=50, engine=engine,
                          callbacks=[_StopAt(diverged - 1)])
        results.append((net, history))
    (tape, h_t), (layered, h_l) = results
    assert h_t.stopped_epoch == h_l.stopped_epoch == diverged - 1
    np.testing.assert_allclose(tape.params, layered.params, rtol=1e-9)
