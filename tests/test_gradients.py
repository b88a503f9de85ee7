"""Every activation, loss and layer against central finite differences in float64."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import glassnet as gn
from glassnet.activations import NAMES as ACTIVATIONS

HEADS = [("sigmoid", "binary_crossentropy"), ("softmax", "categorical_crossentropy"),
         ("identity", "mse"), ("sigmoid", "mse"), ("tanh", "mse"), ("softmax", "mse"),
         ("relu", "mse"), ("leaky_relu", "mse")]


def _targets(loss, n, n_out, rng):
    if loss == "binary_crossentropy":
        return (rng.random((n, n_out)) > 0.5).astype(float)
    if loss == "categorical_crossentropy":
        return rng.integers(0, n_out, n)
    return rng.normal(size=(n, n_out))


def _check(net, X, y, sample_weight=None):
    report = gn.gradcheck(net, X, y, sample_weight=sample_weight)
    assert report.max_rel_error < 1e-6, str(report)
    return report


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_hidden_activation_gradient_matches_finite_differences(activation, rng):
    X = rng.normal(size=(7, 3))
    net = gn.Network([gn.Dense(4, activation), gn.Dense(3, "softmax")], input_dim=3, seed=1)
    _check(net, X, rng.integers(0, 3, 7))


@pytest.mark.parametrize("head,loss", HEADS)
def test_output_head_and_loss_gradient_matches_finite_differences(head, loss, rng):
    n_out = 3
    X = rng.normal(size=(6, 2))
    net = gn.Network([gn.Dense(5, "tanh"), gn.Dense(n_out, head)], input_dim=2, loss=loss,
                     seed=2)
    _check(net, X, _targets(loss, 6, n_out, rng))


@pytest.mark.parametrize("head,loss", HEADS[:3])
def test_weighted_loss_gradient_matches_finite_differences(head, loss, rng):
    X = rng.normal(size=(8, 3))
    net = gn.Network([gn.Dense(4, "relu"), gn.Dense(2, head)], input_dim=3, loss=loss, seed=3)
    _check(net, X, _targets(loss, 8, 2, rng), sample_weight=rng.random(8) * 3)


def test_categorical_crossentropy_one_hot_targets_gradient(rng):
    X = rng.normal(size=(5, 2))
    net = gn.Network([gn.Dense(3, "softmax")], input_dim=2, seed=0)
    soft = rng.dirichlet(np.ones(3), size=5)  # probability rows, not only one-hot
    _check(net, X, soft)


def test_gradcheck_detects_a_wrong_backward(rng):
    """The checker itself must fail on a broken derivative."""

    class WrongTanh(gn.activations.Tanh):
        def backward(self, Z, A, dA):
            return dA * (1 - A)  # should be 1 - A**2

    net = gn.Network([gn.Dense(4, WrongTanh()), gn.Dense(1, "sigmoid")], input_dim=2, seed=0)
    X, y = rng.normal(size=(6, 2)), rng.integers(0, 2, 6)
    report = gn.gradcheck(net, X, y)
    assert not report.passed
    assert report.max_rel_error > 1e-3
    assert "FAILED" in str(report)


def test_gradcheck_report_is_readable(rng):
    net = gn.Network([gn.Dense(2, "relu"), gn.Dense(1, "sigmoid")], input_dim=2, seed=0)
    text = str(gn.gradcheck(net, rng.normal(size=(4, 2)), [0, 1, 1, 0]))
    assert "layers[0].W" in text and "layers[1].b" in text and "PASSED" in text


def test_float32_network_is_checked_in_float64_and_left_unchanged(rng):
    net = gn.Network([gn.Dense(3, "tanh"), gn.Dense(1, "sigmoid")], input_dim=2, seed=0,
                     dtype="float32")
    before = net.params.copy()
    _check(net, rng.normal(size=(5, 2)), [0, 1, 0, 1, 1])
    assert net.params.dtype == np.float32
    np.testing.assert_array_equal(net.params, before)


@settings(max_examples=100, deadline=None)
@given(depth=st.integers(1, 4), widths=st.lists(st.integers(1, 8), min_size=4, max_size=4),
       activations=st.lists(st.sampled_from(ACTIVATIONS), min_size=4, max_size=4),
       head=st.sampled_from(HEADS), n_samples=st.integers(1, 6), n_features=st.integers(1, 4),
       seed=st.integers(0, 2**16))
def test_random_architectures_gradient_matches_finite_differences(
        depth, widths, activations, head, n_samples, n_features, seed):
    rng = np.random.default_rng(seed)
    head_activation, loss = head
    n_out = 1 if head_activation == "sigmoid" and seed % 2 else 3
    layers = [gn.Dense(w, a) for w, a in zip(widths[:depth - 1], activations[:depth - 1])]
    layers.append(gn.Dense(n_out, head_activation))
    net = gn.Network(layers, input_dim=n_features, loss=loss, seed=seed)
    # Biases start at exactly 0, so a dead relu upstream puts the next relu exactly on its kink,
    # where the loss has no derivative to check. Move to a generic point first.
    net.params[net.n_weights:] = rng.normal(scale=0.1, size=net.n_params - net.n_weights)
    X = rng.normal(size=(n_samples, n_features))
    # exp after exp after exp can overflow: no gradient to check there.
    with np.errstate(all="ignore"):
        outputs = net.propagate(X, logits=True)
    assume(np.all(np.abs(outputs) < 1e30))
    report = gn.gradcheck(net, X, _targets(loss, n_samples, n_out, rng))
    # A gradient of 1e-8 (a saturated exp chain) is checked to central differences' absolute
    # precision, about 1e-12: its relative error there says nothing about the backward pass.
    for row in report.rows:
        assert row["max_rel_error"] < 1e-6 or row["max_abs_error"] < 1e-11, str(report)


def test_input_dropout_network_gradient(rng):
    net = gn.Network([gn.Dropout(0.0), gn.Dense(4, "relu"), gn.Dropout(0.0),
                      gn.Dense(3, "softmax")], input_dim=3, seed=0)
    _check(net, rng.normal(size=(6, 3)), rng.integers(0, 3, 6))
