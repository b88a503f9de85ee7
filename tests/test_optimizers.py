"""One or more optimizer steps against values worked out here, element by element, from the
published update rules (not from glassnet's code), through both the NumPy formulas and the
fused Numba loops; then the two against each other, bit for bit."""

import importlib.util
import math
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet import _fused

HAVE_NUMBA = importlib.util.find_spec("numba") is not None
needs_numba = pytest.mark.skipif(not HAVE_NUMBA, reason="numba is not installed (glassnet[fast])")
FUSED = [False, pytest.param(True, marks=needs_numba)]

P0 = [1.0, -2.0, 0.5, 0.25]   # the first 3 entries are "weights", the last a "bias"
G = [[0.1, 0.2, -0.3, 0.4], [0.05, -0.1, 0.2, 0.0], [-0.2, 0.3, 0.1, -0.1]]
N_WEIGHTS = 3


def run(optimizer, steps=3):
    params = np.array(P0)
    for g in G[:steps]:
        optimizer.step(params, np.array(g), n_weights=N_WEIGHTS)
    return params


def test_plain_sgd_is_w_minus_learning_rate_times_gradient():
    expected = [p - 0.1 * (g0 + g1 + g2) for p, g0, g1, g2 in zip(P0, *G)]
    np.testing.assert_allclose(run(gn.SGD(0.1)), expected, rtol=1e-14)


@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum(nesterov, fused):
    lr, mu = 0.1, 0.9
    expected = []
    for i, p in enumerate(P0):
        v = 0.0
        for g in G:
            v = mu * v + g[i]
            step = g[i] + mu * v if nesterov else v
            p -= lr * step
        expected.append(p)
    np.testing.assert_allclose(run(gn.SGD(lr, momentum=mu, nesterov=nesterov, fused=fused)),
                               expected, rtol=1e-14)


def test_sgd_l2_weight_decay_skips_biases():
    lr, wd = 0.1, 0.5
    expected = []
    for i, p in enumerate(P0):
        for g in G:
            decay = wd * p if i < N_WEIGHTS else 0.0
            p -= lr * (g[i] + decay)
        expected.append(p)
    np.testing.assert_allclose(run(gn.SGD(lr, weight_decay=wd)), expected, rtol=1e-14)


@pytest.mark.parametrize("fused", FUSED)
def test_rmsprop(fused):
    lr, rho, eps = 0.01, 0.9, 1e-8
    expected = []
    for i, p in enumerate(P0):
        s = 0.0
        for g in G:
            s = rho * s + (1 - rho) * g[i] ** 2
            p -= lr * g[i] / (math.sqrt(s) + eps)
        expected.append(p)
    np.testing.assert_allclose(run(gn.RMSprop(lr, rho=rho, epsilon=eps, fused=fused)), expected,
                               rtol=1e-12)


def _adam_reference(lr, b1, b2, eps, decoupled_wd=0.0):
    expected = []
    for i, p in enumerate(P0):
        m = v = 0.0
        for t, g in enumerate(G, start=1):
            if decoupled_wd and i < N_WEIGHTS:
                p -= lr * decoupled_wd * p
            m = b1 * m + (1 - b1) * g[i]
            v = b2 * v + (1 - b2) * g[i] ** 2
            m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
            p -= lr * m_hat / (math.sqrt(v_hat) + eps)
        expected.append(p)
    return expected


@pytest.mark.parametrize("fused", FUSED)
def test_adam(fused):
    expected = _adam_reference(0.01, 0.9, 0.999, 1e-8)
    np.testing.assert_allclose(run(gn.Adam(0.01, fused=fused)), expected, rtol=1e-12)


def test_adam_first_step_moves_each_parameter_by_about_the_learning_rate():
    # m_hat = g and v_hat = g^2 after one step, so the step is lr * sign(g).
    params = run(gn.Adam(0.01), steps=1)
    np.testing.assert_allclose(params - np.array(P0), -0.01 * np.sign(G[0]), rtol=1e-6)


@pytest.mark.parametrize("fused", FUSED)
def test_adamw_decays_weights_not_biases(fused):
    expected = _adam_reference(0.01, 0.9, 0.999, 1e-8, decoupled_wd=0.1)
    np.testing.assert_allclose(run(gn.AdamW(0.01, weight_decay=0.1, fused=fused)), expected,
                               rtol=1e-12)


def test_schedules_follow_their_formulas():
    s = gn.schedules
    assert s.StepDecay(0.1, step_size=10, gamma=0.5)(25) == pytest.approx(0.1 * 0.25)
    assert s.ExponentialDecay(0.1, gamma=0.9)(3) == pytest.approx(0.1 * 0.9 ** 3)
    cos = s.CosineDecay(0.1, epochs=10, minimum=0.01)
    assert cos(0) == pytest.approx(0.1)
    assert cos(5) == pytest.approx(0.055)
    assert cos(10) == pytest.approx(0.01) and cos(20) == pytest.approx(0.01)


def test_optimizer_uses_the_scheduled_learning_rate():
    opt = gn.SGD(gn.schedules.StepDecay(1.0, step_size=1, gamma=0.5))
    opt.set_epoch(2)
    params = np.array([1.0])
    opt.step(params, np.array([1.0]))
    assert params[0] == pytest.approx(1.0 - 0.25)


@pytest.mark.parametrize("make", [lambda: gn.SGD(-0.1), lambda: gn.SGD(0.0),
                                  lambda: gn.Adam(float("nan")), lambda: gn.SGD(0.1, momentum=1),
                                  lambda: gn.SGD(0.1, nesterov=True), lambda: gn.Adam(beta_1=1.5),
                                  lambda: gn.RMSprop(rho=-1), lambda: gn.AdamW(weight_decay=-1)])
def test_invalid_hyperparameters_raise_value_error(make):
    with pytest.raises(ValueError, match="must be|needs"):
        make()


def test_unknown_optimizer_name_lists_valid_ones():
    with pytest.raises(ValueError, match="sgd, rmsprop, adam, adamw"):
        gn.optimizers.get("adagrad")


# --- the fused loops against the NumPy formulas, bit for bit -------------------------------

MAKERS = {
    "momentum": lambda f: gn.SGD(0.037, momentum=0.9, fused=f),
    "nesterov": lambda f: gn.SGD(0.037, momentum=0.85, nesterov=True, fused=f),
    "momentum+l2": lambda f: gn.SGD(0.037, momentum=0.9, weight_decay=0.01, fused=f),
    "rmsprop": lambda f: gn.RMSprop(0.0031, rho=0.93, fused=f),
    "adam": lambda f: gn.Adam(0.0013, beta_1=0.87, beta_2=0.997, fused=f),
    "adam+l2": lambda f: gn.Adam(0.0013, weight_decay=0.02, fused=f),
    "adamw": lambda f: gn.AdamW(0.0013, weight_decay=0.05, fused=f),
    "adam+schedule": lambda f: gn.Adam(gn.schedules.ExponentialDecay(0.01, gamma=0.5), fused=f),
}


def _gradients(dtype, n, steps, rng):
    """Random gradients with the values where rounding differs if the operations do: zeros of
    both signs, squares that underflow and overflow the dtype, NaN and infinity."""
    info = np.finfo(dtype)
    special = np.array([0.0, -0.0, info.tiny, -info.tiny, float(info.max), 1e-30, 1e30,
                        np.nan, np.inf, -np.inf, 1.0, -1.0], dtype=dtype)
    out = []
    for _ in range(steps):
        g = (rng.standard_normal(n) * 10.0 ** rng.integers(-6, 3, n)).astype(dtype)
        g[rng.choice(n, len(special), replace=False)] = special
        out.append(g)
    return out


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_fused_update_is_bit_identical_to_numpy(kind, dtype, rng):
    n, n_weights = 5000, 4700
    params0 = rng.standard_normal(n).astype(dtype)
    grads = _gradients(dtype, n, steps=6, rng=rng)
    results = []
    for fused in (False, True):
        opt, params = MAKERS[kind](fused), params0.copy()
        with np.errstate(all="ignore"):     # NumPy warns of the overflows it is fed
            for epoch, g in enumerate(grads):
                opt.set_epoch(epoch)
                opt.step(params, g, n_weights=n_weights)
        results.append((params, opt.state))
    (p_numpy, s_numpy), (p_fused, s_fused) = results
    assert p_fused.dtype == dtype
    np.testing.assert_array_equal(p_fused, p_numpy)   # NaNs in the same places count as equal
    assert s_fused.keys() == s_numpy.keys()
    for key in s_numpy:
        np.testing.assert_array_equal(s_fused[key], s_numpy[key], err_msg=key)
    assert np.isfinite(p_numpy).sum() > n // 2       # the special values did not poison it all


def _record_calls(monkeypatch, name, what=lambda args: args[0].size):
    calls = []
    original = getattr(_fused, name)
    monkeypatch.setattr(_fused, name, lambda *a, **k: (calls.append(what(a)), original(*a, **k)))
    return calls


@needs_numba
def test_automatic_choice_weighs_numbas_start_against_the_work(monkeypatch):
    calls = _record_calls(monkeypatch, "adam")
    monkeypatch.setattr(_fused, "_started", False)       # as in a fresh process
    big, small = _fused.MIN_SIZE, _fused.MIN_SIZE - 1
    for n, dtype in [(small, np.float32), (big, np.float16), (small, np.float64)]:
        gn.Adam().step(np.ones(n, dtype), np.ones(n, dtype))
    assert calls == [] and not _fused.started()        # too small for a fit of unknown length
    # A fit whose steps pay for Numba's start fuses a small buffer; one step fewer does not.
    pays = -(-_fused.START_WORK // (small + _fused.CALL_SIZE))
    for steps in (pays - 1, pays):
        opt = gn.Adam()
        opt.expect_steps(steps)
        opt.step(np.ones(small), np.ones(small))
    assert calls == [small] and _fused.started()
    # Numba is running now: the loop is faster at any size, float16 still stays in NumPy.
    gn.Adam().step(np.ones(3), np.ones(3))
    gn.Adam().step(np.ones(3, np.float16), np.ones(3, np.float16))
    assert calls == [small, 3]
    monkeypatch.setattr(_fused, "_started", False)
    gn.Adam().step(np.ones(big, np.float32), np.ones(big, np.float32))   # large: from the start
    assert calls == [small, 3, big]
    gn.Adam(fused=False).step(np.ones(big), np.ones(big))
    params = np.ones(2 * big)[::2]                        # a strided view: NumPy handles it
    gn.Adam(fused=True).step(params, np.ones(big))
    assert calls == [small, 3, big]
    np.testing.assert_allclose(params, 1 - 0.001)


def test_fit_tells_the_optimizer_its_steps(monkeypatch):
    seen = []
    original = gn.Adam.expect_steps
    monkeypatch.setattr(gn.Adam, "expect_steps",
                        lambda self, n: (seen.append(n), original(self, n)))
    net = gn.Network([gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")], input_dim=2, seed=0)
    opt = gn.Adam()
    net.fit(np.ones((10, 2)), np.ones(10), optimizer=opt, epochs=4, batch_size=3)
    assert seen == [4 * 4, 0]                  # 4 epochs of 4 batches, then nothing ahead
    assert opt.fuses(np.ones(10)) == (_fused.started() and _fused.unavailable() is None)


@needs_numba
def test_the_steps_fit_announces_decide_the_automatic_choice(monkeypatch):
    """The hint reaches the choice: with Numba not yet started, a fit whose steps pay for the
    start fuses a small network from its first step, and after the fit nothing is ahead."""
    calls = _record_calls(monkeypatch, "adam")
    monkeypatch.setattr(_fused, "_started", False)
    net = gn.Network([gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")], input_dim=2, seed=0)
    monkeypatch.setattr(_fused, "START_WORK", 16 * (net.n_params + _fused.CALL_SIZE))
    opt = gn.Adam()
    net.fit(np.ones((10, 2)), np.ones(10), optimizer=opt, epochs=4, batch_size=3)
    assert calls == [net.n_params] * 16        # 16 steps announced: just enough to pay
    monkeypatch.setattr(_fused, "_started", False)
    assert not opt.fuses(net.params)           # the fit is over: no steps ahead
    opt.expect_steps(15)
    assert not opt.fuses(net.params)           # one step short of paying


@needs_numba
def test_glassnet_fused_0_turns_the_automatic_choice_off(monkeypatch):
    calls = _record_calls(monkeypatch, "momentum")
    monkeypatch.setenv("GLASSNET_FUSED", "0")
    n = _fused.MIN_SIZE
    gn.SGD(0.1, momentum=0.9).step(np.ones(n), np.ones(n))
    assert calls == []
    gn.SGD(0.1, momentum=0.9, fused=True).step(np.ones(n), np.ones(n))   # asked for: taken
    assert calls == [n]


def test_fused_true_without_numba_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(_fused, "unavailable",
                        lambda: "Numba could not be imported (ModuleNotFoundError: numba); "
                                "install it with `pip install glassnet[fast]`")
    with pytest.raises(ImportError, match=r"fused=True needs Numba.*glassnet\[fast\]"):
        gn.Adam(fused=True)
    assert gn.Adam(fused=None).fused is None and gn.Adam(fused=False).fused is False
    with pytest.raises(ValueError, match="fused must be None, True or False"):
        gn.SGD(0.1, momentum=0.9, fused="yes")


@needs_numba
def test_training_with_and_without_fused_updates_gives_the_same_network(rng, monkeypatch):
    X = rng.standard_normal((96, 40)).astype(np.float32)
    y = rng.integers(0, 3, 96)

    def network():
        return gn.Network([gn.Dense(300, "relu"), gn.Dense(200, "relu"), gn.Dense(3, "softmax")],
                          input_dim=40, seed=3, dtype="float32")

    calls = _record_calls(monkeypatch, "adam", lambda a: (a[0].size, a[8]))   # a[8]: n_decay
    penalties = _record_calls(monkeypatch, "add_scaled")
    weights, losses = [], []
    for fused in (False, None):      # None: the automatic choice, which fuses at this size
        net = network()
        assert net.n_params >= _fused.MIN_SIZE
        history = net.fit(X, y, optimizer=gn.Adam(0.01, fused=fused), epochs=3, batch_size=32,
                          l2=0.05)
        weights.append(net.params.copy())
        losses.append(history["loss"])
    # 3 batches x 3 epochs, all fused, each with the L2 gradient of the weights in its pass
    assert calls == [(network().n_params, network().n_weights)] * 9
    assert penalties == []                             # so no pass of its own
    np.testing.assert_array_equal(weights[0], weights[1])
    assert losses[0] == losses[1]
    assert not np.array_equal(weights[0], network().params)         # it trained


@pytest.mark.parametrize("make", [
    lambda fused: gn.Adam(0.01, fused=fused),
    lambda fused: gn.Adam(0.01, weight_decay=0.1, fused=fused),
    lambda fused: gn.AdamW(0.01, weight_decay=0.1, fused=fused),
    lambda fused: gn.SGD(0.1, momentum=0.9, fused=fused),
    lambda fused: gn.RMSprop(0.01, fused=fused)], ids=["adam", "adam+decay", "adamw",
                                                       "momentum", "rmsprop"])
@pytest.mark.parametrize("fused", [False, True])
def test_a_step_with_l2_is_the_l2_gradient_then_the_step(make, fused, rng):
    """step(l2=c) adds c * W to the weights' gradients in place, then steps: what penalize
    did before the update, to the bit, whether the update folds it into its own pass or not."""
    if fused and _fused.unavailable():
        pytest.skip(_fused.unavailable())
    n, k, c = 3000, 2500, 0.05
    params, grad = rng.standard_normal(n), rng.standard_normal(n)
    expected_params, expected_grad = params.copy(), grad.copy()
    folded, apart = make(fused), make(fused)
    for _ in range(3):
        folded.step(params, grad, n_weights=k, l2=c)
        expected_grad[:k] += c * expected_params[:k]
        apart.step(expected_params, expected_grad, n_weights=k)
        np.testing.assert_array_equal(grad, expected_grad)
        np.testing.assert_array_equal(params, expected_params)


def test_small_networks_never_import_numba():
    code = ("import sys, numpy as np, glassnet as gn\n"
            "net = gn.Network([gn.Dense(5, 'relu'), gn.Dense(1, 'sigmoid')], input_dim=2)\n"
            "net.fit(np.ones((8, 2)), np.ones(8), optimizer='adam', epochs=2)\n"
            "print(sorted(m for m in ('numba', 'sklearn', 'scipy', 'pandas', 'matplotlib',\n"
            "             'onnx', 'dask', 'starlette', 'torch') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
