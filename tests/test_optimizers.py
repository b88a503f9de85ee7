"""One or more optimizer steps against values worked out here, element by element, from the
published update rules (not from glassnet's code)."""

import math

import numpy as np
import pytest

import glassnet as gn

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


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum(nesterov):
    lr, mu = 0.1, 0.9
    expected = []
    for i, p in enumerate(P0):
        v = 0.0
        for g in G:
            v = mu * v + g[i]
            step = g[i] + mu * v if nesterov else v
            p -= lr * step
        expected.append(p)
    np.testing.assert_allclose(run(gn.SGD(lr, momentum=mu, nesterov=nesterov)), expected,
                               rtol=1e-14)


def test_sgd_l2_weight_decay_skips_biases():
    lr, wd = 0.1, 0.5
    expected = []
    for i, p in enumerate(P0):
        for g in G:
            decay = wd * p if i < N_WEIGHTS else 0.0
            p -= lr * (g[i] + decay)
        expected.append(p)
    np.testing.assert_allclose(run(gn.SGD(lr, weight_decay=wd)), expected, rtol=1e-14)


def test_rmsprop():
    lr, rho, eps = 0.01, 0.9, 1e-8
    expected = []
    for i, p in enumerate(P0):
        s = 0.0
        for g in G:
            s = rho * s + (1 - rho) * g[i] ** 2
            p -= lr * g[i] / (math.sqrt(s) + eps)
        expected.append(p)
    np.testing.assert_allclose(run(gn.RMSprop(lr, rho=rho, epsilon=eps)), expected, rtol=1e-12)


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


def test_adam():
    expected = _adam_reference(0.01, 0.9, 0.999, 1e-8)
    np.testing.assert_allclose(run(gn.Adam(0.01)), expected, rtol=1e-12)


def test_adam_first_step_moves_each_parameter_by_about_the_learning_rate():
    # m_hat = g and v_hat = g^2 after one step, so the step is lr * sign(g).
    params = run(gn.Adam(0.01), steps=1)
    np.testing.assert_allclose(params - np.array(P0), -0.01 * np.sign(G[0]), rtol=1e-6)


def test_adamw_decays_weights_not_biases():
    expected = _adam_reference(0.01, 0.9, 0.999, 1e-8, decoupled_wd=0.1)
    np.testing.assert_allclose(run(gn.AdamW(0.01, weight_decay=0.1)), expected, rtol=1e-12)


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
