"""The Network: parameter buffer, dtypes, seeds, stability, names and shapes."""

import warnings

import numpy as np
import pytest

import glassnet as gn


def small_net(**kwargs):
    return gn.Network([gn.Dense(10, activation="relu", init="he_normal"),
                       gn.Dense(5, activation="relu"), gn.Dense(1, activation="sigmoid")],
                      **{"input_dim": 2, "seed": 1, **kwargs})


def test_params_is_one_buffer_and_layer_weights_are_views_into_it():
    net = small_net()
    assert net.params.ndim == 1
    assert net.params.size == 2 * 10 + 10 + 10 * 5 + 5 + 5 * 1 + 1
    W0, b0 = net.layers[0].W, net.layers[0].b
    assert W0.shape == (2, 10) and b0.shape == (10,)
    assert np.shares_memory(W0, net.params) and np.shares_memory(b0, net.params)
    net.params[:] = 0.5
    assert np.all(W0 == 0.5) and np.all(net.layers[2].b == 0.5)


def test_setting_params_copies_into_the_buffer_and_keeps_views():
    net = small_net()
    W = net.layers[0].W
    net.params = np.arange(net.n_params, dtype=float)
    assert np.shares_memory(W, net.params)
    assert W[0, 0] == 0.0
    with pytest.raises(ValueError, match=r"params must have shape \(91,\)"):
        net.params = np.zeros(3)


def test_weights_come_first_then_biases():
    net = small_net()
    assert net.n_weights == 2 * 10 + 10 * 5 + 5
    for layer in net.layers:
        start = (layer.b.__array_interface__["data"][0]
                 - net.params.__array_interface__["data"][0]) // net.params.itemsize
        assert start >= net.n_weights
    # Biases start at zero, weights do not.
    assert np.all(net.params[net.n_weights:] == 0)
    assert np.all(net.params[:net.n_weights] != 0)


def test_loss_and_grad_returns_a_flat_gradient_in_the_params_layout(rng):
    net = small_net()
    X, y = rng.normal(size=(8, 2)), rng.integers(0, 2, 8)
    loss, grad = net.loss_and_grad(X, y)
    assert isinstance(loss, float) and grad.shape == net.params.shape
    # The W block of layer 0 in grad is what a hand-derived gradient gives for that block.
    dW0 = grad[net.param_slices[0]["W"]].reshape(2, 10)
    eps = 1e-6
    i, j = 1, 3
    net.layers[0].W[i, j] += eps
    plus, _ = net.loss_and_grad(X, y)
    net.layers[0].W[i, j] -= 2 * eps
    minus, _ = net.loss_and_grad(X, y)
    assert dW0[i, j] == pytest.approx((plus - minus) / (2 * eps), rel=1e-6, abs=1e-10)


def test_forward_shape_and_probabilities(rng):
    out = small_net().forward(rng.normal(size=(7, 2)))
    assert out.shape == (7, 1) and np.all((out > 0) & (out < 1))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_of_params_and_outputs_is_the_one_asked_for(dtype, rng):
    net = small_net(dtype=dtype)
    assert net.params.dtype == np.dtype(dtype) and net.grads.dtype == np.dtype(dtype)
    X = rng.normal(size=(5, 2))
    assert net.forward(X).dtype == np.dtype(dtype)
    _, grad = net.loss_and_grad(X, [0, 1, 0, 1, 1])
    assert grad.dtype == np.dtype(dtype)


def test_float32_and_float64_start_from_the_same_weights():
    a, b = small_net(dtype="float32"), small_net(dtype="float64")
    np.testing.assert_allclose(a.params, b.params, rtol=1e-6)


def test_same_seed_same_weights_bit_for_bit_different_seed_different_weights():
    a, b, c = small_net(seed=7), small_net(seed=7), small_net(seed=8)
    assert a.params.tobytes() == b.params.tobytes()
    assert not np.array_equal(a.params, c.params)


def test_legacy_randomstate_seed_reproduces_numpy_randn_draws():
    # The tutorials seed NumPy's global generator and call randn(n_in, n_out) layer by layer.
    std1 = gn.initializers.Normal(1.0)
    net = gn.Network([gn.Dense(3, "relu", init=std1), gn.Dense(1, "sigmoid", init=std1)],
                     input_dim=2, seed=np.random.RandomState(4))
    np.random.seed(4)
    W1, W2 = np.random.randn(2, 3), np.random.randn(3, 1)
    np.testing.assert_array_equal(net.layers[0].W, W1)
    np.testing.assert_array_equal(net.layers[1].W, W2)


@pytest.mark.parametrize("init,std", [("he_normal", np.sqrt(2 / 400)),
                                      ("lecun_normal", np.sqrt(1 / 400)),
                                      ("glorot_normal", np.sqrt(2 / 600)),
                                      ("he_uniform", np.sqrt(2 / 400)),
                                      ("glorot_uniform", np.sqrt(2 / 600)),
                                      (gn.initializers.Normal(0.01), 0.01)])
def test_initializers_have_the_published_scale(init, std):
    net = gn.Network([gn.Dense(200, init=init)], input_dim=400, seed=0)
    assert net.layers[0].W.std() == pytest.approx(std, rel=0.02)
    assert abs(net.layers[0].W.mean()) < std * 0.02


def test_zeros_initializer():
    net = gn.Network([gn.Dense(3, init="zeros")], input_dim=2, seed=0)
    assert np.all(net.params == 0)


def test_default_loss_follows_the_last_activation():
    assert small_net().loss.name == "binary_crossentropy"
    assert gn.Network([gn.Dense(3, "softmax")]).loss.name == "categorical_crossentropy"
    assert gn.Network([gn.Dense(3)]).loss.name == "mse"
    assert gn.Network([gn.Dense(1, "tanh")]).loss.name == "mse"


def test_cross_entropy_with_the_wrong_head_is_refused():
    with pytest.raises(ValueError, match="needs a 'sigmoid' output layer"):
        gn.Network([gn.Dense(1, "relu")], loss="binary_crossentropy")


@pytest.mark.parametrize("kind,call", [
    ("activation", lambda: gn.Dense(3, activation="mish")),
    ("initializer", lambda: gn.Dense(3, init="orthogonal")),
    ("loss", lambda: gn.Network([gn.Dense(1)], loss="hinge")),
    ("optimizer", lambda: gn.optimizers.get("lbfgs")),
])
def test_unknown_names_raise_value_error_listing_the_valid_ones(kind, call):
    valid = {"activation": "relu, leaky_relu, elu, gelu, silu, sigmoid, tanh, softmax",
             "initializer": "he_normal", "loss": "binary_crossentropy, categorical_crossentropy",
             "optimizer": "sgd"}[kind]
    with pytest.raises(ValueError, match=f"unknown {kind}.*valid.*{valid}"):
        call()


def test_feature_count_mismatch_names_expected_and_received_shapes(rng):
    with pytest.raises(ValueError, match=r"expects 2.*\(n_samples, 2\).*\(4, 3\)"):
        small_net().forward(rng.normal(size=(4, 3)))


def test_target_shape_mismatch_names_expected_and_received_shapes(rng):
    net = gn.Network([gn.Dense(3, "softmax")], input_dim=2)
    with pytest.raises(ValueError, match=r"\(n_samples, 3\).*got shape \(4, 2\)"):
        net.loss_and_grad(rng.normal(size=(4, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="different numbers of samples: 4 and 3"):
        net.loss_and_grad(rng.normal(size=(4, 2)), [0, 1, 2])


@pytest.mark.parametrize("units", [0, -3, 2.5, "4", True])
def test_invalid_units_are_refused(units):
    with pytest.raises(ValueError, match="units must be a positive integer"):
        gn.Dense(units)


def test_extreme_logits_give_finite_loss_and_gradients():
    for loss in (gn.losses.BinaryCrossentropy(), gn.losses.CategoricalCrossentropy()):
        z = np.array([[1e4, -1e4], [-1e4, 1e4], [0.0, 1e4]])
        y = loss.prepare_targets(np.array([[1, 0], [0, 1], [1, 1]]) if loss.head == "sigmoid"
                                 else np.array([0, 0, 1]), 2, np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            value, grad = loss.value_and_grad(z.copy(), y)
        assert np.isfinite(value) and np.all(np.isfinite(grad))
    # A confidently wrong logit costs ~1e4, exactly as softplus says.
    value, _ = gn.losses.BinaryCrossentropy().value_and_grad(np.array([[-1e4]]), np.array([[1.0]]))
    assert value == pytest.approx(1e4)


def test_sigmoid_never_overflows():
    z = np.array([-1e308, -1e4, -745.0, 0.0, 745.0, 1e4, 1e308])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = gn.activations.get("sigmoid").forward(z)
    assert np.all(np.isfinite(a)) and a[0] == 0.0 and a[-1] == 1.0 and a[3] == 0.5


def test_activation_values_match_their_definitions():
    z = np.linspace(-3, 3, 13)[None, :]
    get = gn.activations.get
    np.testing.assert_allclose(get("relu").forward(z), np.maximum(z, 0))
    np.testing.assert_allclose(get("leaky_relu").forward(z), np.where(z > 0, z, 0.01 * z))
    np.testing.assert_allclose(get("sigmoid").forward(z), 1 / (1 + np.exp(-z)), rtol=1e-14)
    np.testing.assert_allclose(get("tanh").forward(z), np.tanh(z))
    e = np.exp(z)
    np.testing.assert_allclose(get("softmax").forward(z), e / e.sum(), rtol=1e-14)
    np.testing.assert_array_equal(get("identity").forward(z), z)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5, 3), (64, 10), (33, 65), (8, 300)])
def test_row_helpers_and_relu_agree_with_numpy_reductions(shape, dtype, rng):
    # row_max / row_sum take another route than NumPy's row reductions for speed (a transposed
    # copy for narrow rows, a matrix-vector product); relu broadcasts a zero row.
    from glassnet import _kernels as kernels

    acts = gn.activations
    Z = rng.normal(size=shape).astype(dtype)
    Z[1, 2] = np.nan
    expected_max = Z.max(axis=1, keepdims=True)
    np.testing.assert_array_equal(kernels.row_max(Z), expected_max)
    assert np.isnan(kernels.row_max(Z)[1, 0])
    Z[1, 2] = 0.0
    np.testing.assert_allclose(kernels.row_sum(Z), Z.sum(axis=1, keepdims=True),
                               rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)
    expected_relu = np.where(Z > 0, Z, 0)
    out = Z.copy()
    assert acts.get("relu").forward(out, out=out) is out
    np.testing.assert_array_equal(out, expected_relu)
    zeros = kernels.constant_row(0.0, shape[1], np.dtype(dtype))
    assert not zeros.any()                                      # in-place use left it zero
    with pytest.raises(ValueError):
        zeros[0] = 1.0
    dZ = Z[:, :4].copy()
    np.testing.assert_allclose(kernels.column_sum(dZ), dZ.sum(axis=0),
                               rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_products_through_one_unit_are_blas_products_to_the_bit(train, dtype, rng):
    # One input feature (X @ W) and one output unit (dZ @ W.T) take a broadcast multiply
    # instead of BLAS's product of inner size 1: the same numbers are the point.
    first, last = gn.Dense(7, "tanh"), gn.Dense(1, "identity")
    gn.Network([first, last], input_dim=1, seed=0, dtype=dtype)
    X = rng.normal(size=(50, 1)).astype(dtype)
    Z = first.linear(X, train=train).copy()
    np.testing.assert_array_equal(Z, np.matmul(X, first.W) + first.b)
    assert Z.dtype == dtype and Z.shape == (50, 7)
    A = np.tanh(Z)
    last.linear(A, train=train)
    dZ = rng.normal(size=(50, 1)).astype(dtype)
    dA = last.backward_linear(dZ)
    np.testing.assert_array_equal(dA, np.matmul(dZ, last.W.T))
    assert dA.dtype == dtype and dA.shape == (50, 7)
    np.testing.assert_array_equal(last.dW, np.matmul(A.T, dZ))


@pytest.mark.parametrize("name", ["binary_crossentropy", "categorical_crossentropy", "mse"])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_gradient_scale_multiplies_the_gradient_only(name, weighted, rng):
    loss = gn.losses.get(name)
    out = rng.normal(size=(6, 3))
    y = loss.prepare_targets(rng.integers(0, 3, 6) if name == "categorical_crossentropy"
                             else (rng.random((6, 3)) > 0.5), 3, np.float64)
    w = rng.random(6) if weighted else None
    value, grad = loss.value_and_grad(out.copy(), y, w)
    scaled_value, scaled = loss.value_and_grad(out.copy(), y, w, scale=0.037)
    assert scaled_value == value
    np.testing.assert_allclose(scaled, 0.037 * grad, rtol=1e-14)


def test_losses_match_their_definitions():
    p_logit = np.array([[0.3], [-1.2], [2.0]])
    y = np.array([[1.0], [0.0], [0.0]])
    p = 1 / (1 + np.exp(-p_logit))
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
    assert gn.losses.get("binary_crossentropy").value(p_logit, y) == pytest.approx(bce)
    z = np.array([[1.0, 2.0, 0.5], [0.1, -0.3, 0.2]])
    labels = np.array([1, 2])
    sm = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    cce = -np.log(sm[[0, 1], labels]).mean()
    assert gn.losses.get("categorical_crossentropy").value(z, labels) == pytest.approx(cce)
    a, t = np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[0.0, 2.0], [1.0, 1.0]])
    assert gn.losses.get("mse").value(a, t) == pytest.approx((1 + 0 + 4 + 16) / 4)


@pytest.mark.parametrize("name,targets", [
    ("binary_crossentropy", lambda r: (r.random((7, 2)) > 0.5).astype(float)),
    ("categorical_crossentropy", lambda r: r.integers(0, 3, 7)),
    ("categorical_crossentropy", lambda r: r.dirichlet(np.ones(3), 7)),
    ("mse", lambda r: r.normal(size=(7, 2)))])
def test_per_sample_losses_average_to_the_loss_for_one_or_many_steps(name, targets, rng):
    loss = gn.losses.get(name)
    y = targets(rng)
    n_out = 3 if name == "categorical_crossentropy" else 2
    y = loss.prepare_targets(y, n_out, np.float64)
    w = rng.random(7)
    steps = 20 * rng.normal(size=(4, 7, n_out))           # four steps' outputs at once
    per_sample = loss.per_sample(steps, y)
    assert per_sample.shape == (4, 7)
    for out, row in zip(steps, per_sample):
        value, _ = loss.value_and_grad(out.copy(), y, w)
        assert row @ w / w.sum() == pytest.approx(value, rel=1e-12)
        assert row.mean() == pytest.approx(loss.value(out, y), rel=1e-12)
    if loss.is_classification:
        correct = loss.correct(steps, y)
        assert correct.shape == (4, 7)
        if name == "binary_crossentropy":   # every label right, probability above one half
            expected = ((1 / (1 + np.exp(-steps)) > 0.5) == (y == 1)).all(axis=-1)
        else:
            truth = y if y.ndim == 1 else y.argmax(axis=1)
            expected = np.exp(steps).argmax(axis=-1) == truth
        np.testing.assert_array_equal(correct, expected)
        assert loss.n_correct(steps[0], y) == expected[0].sum()


def test_input_dim_inferred_at_first_fit(rng):
    net = gn.Network([gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")], seed=0)
    assert not net.built
    net.fit(rng.normal(size=(10, 4)), rng.integers(0, 2, 10), epochs=1)
    assert net.input_dim == 4 and net.layers[0].W.shape == (4, 3)


def test_unbuilt_network_says_how_to_build_it():
    with pytest.raises(RuntimeError, match="input_dim"):
        gn.Network([gn.Dense(1)]).forward(np.zeros((1, 2)))


def test_pickle_and_deepcopy_keep_layer_weights_as_views_of_params(rng):
    import copy
    import pickle

    net = small_net()
    X = rng.normal(size=(5, 2))
    for clone in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        np.testing.assert_array_equal(clone.forward(X), net.forward(X))
        clone.params[:] = 0
        assert np.all(clone.layers[0].W == 0), "layer weights lost their link to params"
        assert not np.all(net.params == 0)


def test_inference_on_many_rows_runs_in_blocks_and_matches_the_formulas(rng):
    from glassnet.network import PREDICT_ROWS

    n = 2 * PREDICT_ROWS + 77              # three blocks, the last one short
    X = rng.standard_normal((n, 6))
    net = gn.Network([gn.Dense(9, "relu"), gn.Dense(4, "tanh"), gn.Dense(3, "softmax")],
                     input_dim=6, seed=1)
    (W1, b1), (W2, b2), (W3, b3) = [(layer.W, layer.b) for layer in net.layers]
    Z3 = np.tanh(np.maximum(X @ W1 + b1, 0) @ W2 + b2) @ W3 + b3
    P = np.exp(Z3 - Z3.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(net.predict_proba(X), P, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(net.propagate(X, logits=True), Z3, rtol=1e-12, atol=1e-14)
    order = rng.permutation(n)             # every row lands in its own place
    np.testing.assert_allclose(net.predict_proba(X[order]), P[order], rtol=1e-12, atol=1e-15)
