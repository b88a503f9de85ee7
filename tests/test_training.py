"""Network.fit: batches, shuffling, validation, early stopping, schedules, clipping,
callbacks, history and divergence."""

import copy
import json

import numpy as np
import pytest
from sklearn.datasets import make_moons

import glassnet as gn


@pytest.fixture
def moons():
    return make_moons(200, noise=0.2, random_state=0)


def net(seed=0, **kw):
    return gn.Network([gn.Dense(8, "relu"), gn.Dense(1, "sigmoid")], seed=seed, **kw)


def test_training_lowers_the_loss_and_learns_moons(moons):
    X, y = moons
    model = net()
    history = model.fit(X, y, optimizer=gn.Adam(0.01), epochs=200, batch_size=32)
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert model.evaluate(X, y)["accuracy"] > 0.9
    assert model.history is history


def test_full_batch_epoch_is_one_plain_gradient_step(moons):
    X, y = moons
    a, b = net(), net()
    a.fit(X, y, optimizer=gn.SGD(0.1), epochs=1)
    loss, grad = b.loss_and_grad(X, y)
    np.testing.assert_allclose(a.params, b.params - 0.1 * grad, rtol=1e-12)
    assert a.history["loss"][0] == pytest.approx(loss)


def test_history_is_json_friendly_and_has_validation_metrics(moons):
    X, y = moons
    history = net().fit(X[:150], y[:150], epochs=3, validation_data=(X[150:], y[150:]))
    data = json.loads(json.dumps(history.to_dict()))
    assert data["epochs"] == [0, 1, 2]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
        assert len(data[key]) == 3 and all(isinstance(v, float) for v in data[key])


def test_same_seed_same_training_bit_for_bit(moons):
    X, y = moons
    runs = [net(seed=3) for _ in range(2)]
    for model in runs:
        model.fit(X, y, optimizer=gn.SGD(0.1, momentum=0.9), epochs=5, batch_size=16)
    assert runs[0].params.tobytes() == runs[1].params.tobytes()
    other = net(seed=3)
    other.fit(X, y, optimizer=gn.SGD(0.1, momentum=0.9), epochs=5, batch_size=16,
              shuffle=False)
    assert not np.array_equal(other.params, runs[0].params)


_TRAIN_IN_A_SUBPROCESS = """
import sys, numpy as np, glassnet as gn
from sklearn.datasets import make_moons
X, y = make_moons(200, noise=0.2, random_state=0)
net = gn.Network([gn.Dense(8, "relu"), gn.Dropout(0.2), gn.Dense(1, "sigmoid")], seed=11)
net.fit(X, y, optimizer=gn.Adam(0.01), epochs=5, batch_size=16)
sys.stdout.write(net.params.tobytes().hex() + " " + net.predict_proba(X).tobytes().hex())
"""


def test_same_seed_is_bit_identical_across_processes():
    import subprocess
    import sys

    runs = [subprocess.run([sys.executable, "-c", _TRAIN_IN_A_SUBPROCESS], capture_output=True,
                           text=True, check=True).stdout for _ in range(2)]
    X, y = make_moons(200, noise=0.2, random_state=0)
    here = gn.Network([gn.Dense(8, "relu"), gn.Dropout(0.2), gn.Dense(1, "sigmoid")], seed=11)
    here.fit(X, y, optimizer=gn.Adam(0.01), epochs=5, batch_size=16)
    local = here.params.tobytes().hex() + " " + here.predict_proba(X).tobytes().hex()
    assert runs[0] == runs[1] == local


def test_validation_split_is_random_stratified_and_not_the_last_rows():
    X = np.arange(100, dtype=float)[:, None]
    y = np.r_[np.zeros(80), np.ones(20)]  # sorted: the last rows are all class 1
    seen = {}

    class Spy(gn.training.Callback):
        def on_train_begin(self, network, history):
            seen["n"] = True

    model = net()
    from glassnet.training import split_validation

    Xt, yt, _, (Xv, yv, _) = split_validation(X, y, None, 0.2, np.random.default_rng(0), True)
    assert len(Xv) == 20 and len(Xt) == 80
    assert yv.sum() == 4, "stratified: 20 % of the 20 positives"
    assert not np.array_equal(Xv[:, 0], np.arange(80, 100))
    history = model.fit(X, y, epochs=2, validation_split=0.2, callbacks=[Spy()])
    assert "val_loss" in history and seen["n"]


def test_early_stopping_restores_the_best_weights(moons):
    X, y = moons
    model = net()
    snapshots = []

    def remember(epoch, logs):
        snapshots.append(model.params.copy())

    history = model.fit(X[:100], y[:100], optimizer=gn.SGD(2.0), epochs=300,
                        validation_data=(X[100:], y[100:]), early_stopping=5,
                        callbacks=[remember])
    best = history.best_epoch
    assert history.stopped_epoch is not None and history.stopped_epoch < 299
    assert history.stopped_epoch - best == 5
    assert history["val_loss"][best] == min(history["val_loss"])
    np.testing.assert_array_equal(model.params, snapshots[best])


def test_callback_can_stop_training(moons):
    X, y = moons
    history = net().fit(X, y, epochs=50, callbacks=[lambda epoch, logs: epoch == 4])
    assert len(history) == 5 and history.stopped_epoch == 4


def test_learning_rate_schedule_is_applied_per_epoch(moons):
    X, y = moons
    schedule = gn.schedules.StepDecay(0.1, step_size=2, gamma=0.5)
    history = net().fit(X, y, optimizer=gn.SGD(schedule), epochs=6)
    assert history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])


def test_gradient_clipping_bounds_the_step(moons):
    X, y = moons
    a, b = net(), net()
    _, grad = b.loss_and_grad(X, y)
    norm = np.linalg.norm(grad)
    a.fit(X, y, optimizer=gn.SGD(1.0), epochs=1, clip_norm=norm / 4)
    np.testing.assert_allclose(a.params, b.params - grad / 4, rtol=1e-10)


def test_l2_adds_the_penalty_to_loss_and_gradient(moons):
    X, y = moons
    a, b = net(), net()
    loss, grad = b.loss_and_grad(X, y)
    W = b.params[:b.n_weights]
    a.fit(X, y, optimizer=gn.SGD(0.1), epochs=1, l2=0.5)
    assert a.history["loss"][0] == pytest.approx(loss + 0.5 * 0.5 * W @ W / len(X))
    expected = b.params.copy()
    expected -= 0.1 * grad
    expected[:b.n_weights] -= 0.1 * 0.5 / len(X) * W
    np.testing.assert_allclose(a.params, expected, rtol=1e-12)


@pytest.mark.parametrize("fused", [False, True])
def test_under_adam_the_gradient_fit_keeps_includes_the_l2_term(moons, fused):
    """Adam takes fit's L2 gradient into its own update pass where it fuses; either way
    ``grads`` ends as the penalised gradient."""
    from glassnet import _fused

    if fused and _fused.unavailable():
        pytest.skip(_fused.unavailable())
    X, y = moons
    a, b = net(), net()
    loss, grad = b.loss_and_grad(X, y)
    W = b.params[:b.n_weights]
    a.fit(X, y, optimizer=gn.Adam(0.01, fused=fused), epochs=1, l2=0.5)
    expected = grad.copy()
    expected[:b.n_weights] += 0.5 / len(X) * W
    np.testing.assert_allclose(a.grads, expected, rtol=1e-12)
    assert a.history["loss"][0] == pytest.approx(loss + 0.5 * 0.5 * W @ W / len(X))


def test_an_optimizer_with_a_step_of_its_own_still_gets_the_l2_gradient(moons):
    """A subclass written against ``step(params, grad, n_weights)`` (no ``l2=``) trains with
    ``l2`` as Adam itself does: the penalty is added before its step, not handed to it."""
    class Logged(gn.Adam):
        def step(self, params, grad, n_weights=None):
            super().step(params, grad, n_weights)

    X, y = moons
    a, b = net(), net()
    a.fit(X, y, optimizer=Logged(0.01), epochs=3, batch_size=50, l2=0.5)
    b.fit(X, y, optimizer=gn.Adam(0.01), epochs=3, batch_size=50, l2=0.5)
    np.testing.assert_array_equal(a.params, b.params)
    assert a.history["loss"] == b.history["loss"]


def test_l1_adds_the_penalty_to_loss_and_its_subgradient_to_the_weights(moons):
    X, y = moons
    a, b = net(input_dim=2), net(input_dim=2)
    b.params[:3] = 0.0                  # where |w| has no derivative, the subgradient is 0
    a.params[:] = b.params
    loss, grad = b.loss_and_grad(X, y)
    W = b.params[:b.n_weights]
    a.fit(X, y, optimizer=gn.SGD(0.1), epochs=1, l1=0.5, l2=0.2)
    assert a.history["loss"][0] == pytest.approx(
        loss + (0.5 * np.abs(W).sum() + 0.5 * 0.2 * W @ W) / len(X))
    expected = b.params.copy()
    expected -= 0.1 * grad
    expected[:b.n_weights] -= 0.1 / len(X) * (0.5 * np.sign(W) + 0.2 * W)
    np.testing.assert_allclose(a.params, expected, rtol=1e-12)   # sign(0) = 0 included


def test_the_l1_gradient_is_the_derivative_of_the_l1_loss(moons):
    """Finite differences of the loss fit reports, away from w = 0, against the step it took."""
    X, y = moons
    X, y = X[:40], y[:40]
    base = net(input_dim=2)

    def penalised_loss(params):
        probe = net(input_dim=2)
        probe.params[:] = params
        loss, _ = probe.loss_and_grad(X, y)
        return loss + 0.3 * np.abs(params[:probe.n_weights]).sum() / len(X)

    stepped = net()
    stepped.fit(X, y, optimizer=gn.SGD(1.0), epochs=1, l1=0.3)
    analytic = base.params - stepped.params             # SGD(1.0): the step is the gradient
    eps = 1e-6
    for i in (0, 5, base.n_weights - 1, base.n_weights):
        up, down = base.params.copy(), base.params.copy()
        up[i] += eps
        down[i] -= eps
        numeric = (penalised_loss(up) - penalised_loss(down)) / (2 * eps)
        assert analytic[i] == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_divergence_stops_with_the_epoch_and_keeps_last_finite_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3)) * 100
    y = X @ np.array([1.0, -2.0, 3.0])
    model = gn.Network([gn.Dense(16, "relu"), gn.Dense(1)], seed=0)
    snapshots = []
    with pytest.raises(gn.DivergenceError, match=r"diverged at epoch (\d+).*smaller learning "
                                                 r"rate") as info:
        model.fit(X, y, optimizer=gn.SGD(1.0), epochs=100,
                  callbacks=[lambda e, logs: snapshots.append(model.params.copy())])
    assert np.all(np.isfinite(model.params))
    assert isinstance(info.value, ValueError)
    # Full batch: epoch k's loss is computed with the weights epoch k-1 ended with, so the
    # last weights known to give a finite loss are those epoch k-1 started from.
    epoch = int(info.value.args[0].split("epoch ")[1].split(":")[0])
    assert epoch >= 2 and len(snapshots) == epoch
    np.testing.assert_array_equal(model.params, snapshots[-2])
    assert np.all(np.isfinite(model.forward(X)))


def test_minibatch_sizes_cover_every_sample_once_per_epoch():
    X = np.arange(10, dtype=float)[:, None]
    y = np.zeros(10)
    seen = []

    class Probe(gn.Network):
        def backpropagate(self, Xb, yb, *args, **kwargs):
            seen.append(Xb[:, 0].copy())
            return super().backpropagate(Xb, yb, *args, **kwargs)

    model = Probe([gn.Dense(1, "sigmoid")], seed=0)
    model.fit(X, y, epochs=2, batch_size=4)
    assert [len(b) for b in seen] == [4, 4, 2, 4, 4, 2]
    assert sorted(np.concatenate(seen[:3])) == list(range(10))
    assert not np.array_equal(np.concatenate(seen[:3]), np.arange(10)), "shuffled"


def test_dropout_is_inverted_and_deterministic():
    layer = gn.Dropout(0.25)
    layer.rng = np.random.default_rng(0)
    A = np.ones((2000, 50))
    out = layer.forward(A, train=True)
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(out[kept], 1 / 0.75)
    dA = np.ones_like(A)
    np.testing.assert_array_equal(layer.backward(dA), out)
    assert layer.forward(A, train=False) is A
    a, b = (gn.Network([gn.Dense(4, "relu"), gn.Dropout(0.5), gn.Dense(1, "sigmoid")],
                       input_dim=3, seed=9) for _ in range(2))
    X, y = np.random.default_rng(1).normal(size=(20, 3)), np.arange(20) % 2
    assert a.loss_and_grad(X, y)[0] == b.loss_and_grad(X, y)[0]


@pytest.mark.parametrize("kwargs,match", [
    ({"epochs": 0}, "epochs must be an integer >= 1"),
    ({"batch_size": 0}, "batch_size must be an integer >= 1"),
    ({"validation_split": 1.5}, "validation_split must be in"),
    ({"clip_norm": -1}, "clip_norm must be a number > 0"),
    ({"optimizer": "adagrad"}, "unknown optimizer"),
    ({"l2": -1}, "l2 must be"),
    ({"l1": -1}, "l1 must be"),
])
def test_invalid_fit_arguments_are_refused(moons, kwargs, match):
    X, y = moons
    with pytest.raises(ValueError, match=match):
        net().fit(X, y, **kwargs)


def test_progress_bar_and_verbose_output(moons, capsys):
    X, y = moons
    net().fit(X, y, epochs=3, verbose=1, progress=True)
    out = capsys.readouterr().out
    assert "epoch 0: loss" in out and "epoch 2: loss" in out


@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-9), ("float32", 2e-3)])
def test_wide_input_fast_path_gives_the_same_training_as_the_direct_path(dtype, rtol):
    rng = np.random.default_rng(0)
    X = rng.random((30, 500))             # many more features than samples
    y = (X[:, :250].sum(1) > X[:, 250:].sum(1)).astype(int)

    def train(engine):
        model = gn.Network([gn.Dense(6, "relu"), gn.Dropout(0.2), gn.Dense(3, "tanh"),
                            gn.Dense(1, "sigmoid")], seed=5, dtype=dtype)
        history = model.fit(X, y, optimizer=gn.SGD(0.05), epochs=60, engine=engine)
        return model, history

    fast, fast_history = train("auto")
    assert fast_history.engine == "rowspace", "full-batch SGD on wide inputs takes the row space"
    direct, direct_history = train("layered")
    np.testing.assert_allclose(fast.params, direct.params, rtol=rtol, atol=rtol * 1e-3)
    np.testing.assert_allclose(fast_history["loss"], direct_history["loss"], rtol=rtol)
    assert fast_history["accuracy"] == direct_history["accuracy"]
    assert fast.history is fast_history and fast.input_dim == 500


class _OrdinarySGD(gn.SGD):
    """SGD by another name: the loop cannot assume its step, so it takes the ordinary one."""


@pytest.mark.parametrize("case", ["plain", "l2", "l2 rate to zero", "weighted", "mse", "float32",
                                  "softmax"])
def test_plain_sgd_scaled_step_matches_the_ordinary_step(case, moons):
    # For plain SGD the loop folds the learning rate into the output gradient and steps with
    # params -= grads: it must land where the ordinary two-pass step does.
    X, y = moons
    w = np.random.default_rng(3).random(len(X)) + 0.5 if case == "weighted" else None
    dtype = "float32" if case == "float32" else "float64"
    head = {"mse": gn.Dense(1, "identity"), "softmax": gn.Dense(2, "softmax")}.get(
        case, gn.Dense(1, "sigmoid"))
    lr = gn.schedules.CosineDecay(0.2, epochs=4) if case == "l2 rate to zero" else \
        gn.schedules.StepDecay(0.2, step_size=2, gamma=0.5)     # the last epoch at rate 0
    models = [gn.Network([gn.Dense(8, "relu"), gn.Dense(8, "tanh"), copy.deepcopy(head)],
                         seed=4, dtype=dtype) for _ in range(3)]
    models[2].build(X.shape[1])
    histories = [m.fit(X, y, optimizer=opt, epochs=5, batch_size=32, sample_weight=w,
                       l2=0.01 if case.startswith("l2") else 0.0)
                 for m, opt in zip(models, (gn.SGD(lr), _OrdinarySGD(lr)))]
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(models[0].params, models[1].params, rtol=tol, atol=tol)
    np.testing.assert_allclose(histories[0]["loss"], histories[1]["loss"], rtol=tol)
    assert np.abs(models[0].params - models[2].params).max() > 0.01   # it did train


def test_divergence_at_the_first_batch_after_resuming_keeps_the_checkpoint_weights(
        moons, tmp_path):
    # A resumed run has no "start of the previous epoch" of its own: the weights to keep are
    # those it resumed with.
    X, y = moons
    model = net(seed=2)
    model.fit(X, y, optimizer=gn.SGD(0.1), epochs=2, batch_size=32, checkpoint=tmp_path)
    resumed = net(seed=2)
    huge = np.full_like(X, 1e308)      # finite, but the first layer's products overflow
    with pytest.raises(gn.DivergenceError, match="it started with"):
        resumed.fit(huge, y, optimizer=gn.SGD(0.1), epochs=4, batch_size=32,
                    checkpoint=tmp_path)
    np.testing.assert_array_equal(resumed.params, model.params)
