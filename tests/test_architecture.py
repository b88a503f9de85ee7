"""The core's contracts: net.grads after fit on every engine, activations that carry their own
configuration and say what their backward reads, layers owned by one network, old files."""

import copy
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.schedules import CosineDecay

DATA = Path(__file__).parent / "data"
RNG = np.random.default_rng(11)
X = RNG.normal(size=(36, 3))
Y = (X[:, 0] * X[:, 1] > 0).astype(int)
X_WIDE = RNG.normal(size=(12, 60))
Y_WIDE = (X_WIDE[:, :30].sum(1) > 0).astype(int)


def _layers():
    return [gn.Dense(5, "tanh"), gn.Dense(4, "relu"), gn.Dense(1, "sigmoid")]


@pytest.mark.parametrize("engine,data,batch_size,l2", [
    ("layered", "narrow", None, 0.0), ("layered", "narrow", 12, 0.0),
    ("layered", "narrow", 12, 0.05), ("tape", "narrow", None, 0.0),
    ("rowspace", "wide", None, 0.0), ("auto", "wide", None, 0.0)])
@pytest.mark.parametrize("schedule", ["constant", "ends at zero"])
def test_net_grads_after_fit_is_the_last_steps_gradient_on_every_engine(engine, data,
                                                                         batch_size, l2,
                                                                         schedule):
    """The gradient of the last batch at the weights before the last step, unscaled, whatever
    the engine; also when the schedule's last rate is 0 (it used to be NaN on the tape)."""
    Xd, yd = (X, Y) if data == "narrow" else (X_WIDE, Y_WIDE)
    epochs = 6

    def rate():
        return 0.3 if schedule == "constant" else CosineDecay(0.3, epochs=epochs - 1)

    def fit(n_epochs):
        net = gn.Network(_layers(), seed=2)
        net.fit(Xd, yd, optimizer=gn.SGD(rate()), epochs=n_epochs, batch_size=batch_size,
                shuffle=False, l2=l2, engine=engine)
        return net

    trained, before_last = fit(epochs), fit(epochs - 1)
    last = slice(None)
    if batch_size is not None:
        # The last epoch's batches but the last one, at the last epoch's rate.
        last = slice(-batch_size, None)
        last_rate = rate() if schedule == "constant" else rate()(epochs - 1)
        if last_rate:
            before_last.fit(Xd[:-batch_size], yd[:-batch_size], optimizer=gn.SGD(last_rate),
                            batch_size=batch_size, shuffle=False, l2=l2, engine=engine)
    _, expected = before_last.loss_and_grad(Xd[last], yd[last])
    if l2:
        n_w = before_last.n_weights
        expected[:n_w] += l2 * before_last.params[:n_w] / len(Xd[last])
    np.testing.assert_allclose(trained.grads, expected, rtol=1e-9, atol=1e-13)
    if schedule == "ends at zero":      # the last step, at rate 0, moved nothing
        np.testing.assert_array_equal(trained.params, before_last.params)


def test_rowspace_trains_as_the_layered_engine_through_the_tape_and_without_it():
    for layers in (_layers(), [gn.Dense(5, "relu"), gn.Dropout(0.3), gn.Dense(1, "sigmoid")]):
        results = []
        for engine in ("rowspace", "layered"):
            net = gn.Network(copy.deepcopy(layers), seed=4)
            history = net.fit(X_WIDE, Y_WIDE, optimizer=gn.SGD(0.1), epochs=40, engine=engine)
            results.append((net, history))
        (fast, h_fast), (plain, h_plain) = results
        assert h_fast.engine == "rowspace"
        np.testing.assert_allclose(fast.params, plain.params, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(h_fast["loss"], h_plain["loss"], rtol=1e-9)


def test_rowspace_refuses_what_leaves_the_row_space():
    net = gn.Network(_layers(), seed=0)
    for kwargs, reason in (({"l2": 0.1}, "l1 and l2 pull W1"), ({"l1": 0.1}, "l1 and l2 pull W1"),
                           ({"batch_size": 4}, "full batches"),
                           ({"optimizer": gn.Adam()}, "plain gradient descent")):
        with pytest.raises(ValueError, match=f"engine='rowspace' cannot run .*{reason}"):
            net.fit(X_WIDE, Y_WIDE, engine="rowspace", **kwargs)


@pytest.mark.parametrize("activation", [
    gn.activations.LeakyReLU(0.3), gn.activations.ELU(alpha=0.5), "elu", "gelu", "silu",
    {"name": "leaky_relu", "negative_slope": 0.2}])
def test_activations_with_options_round_trip_through_save_and_load(activation, tmp_path):
    net = gn.Network([gn.Dense(6, activation), gn.Dense(2, "softmax")], input_dim=3, seed=1)
    net.fit(X, Y, optimizer=gn.Adam(0.05), epochs=5)
    gn.save(net, tmp_path / "m.safetensors")
    back = gn.load(tmp_path / "m.safetensors")
    assert back.layers[0].activation.get_config() == net.layers[0].activation.get_config()
    np.testing.assert_array_equal(back.predict_proba(X), net.predict_proba(X))


def test_leaky_relu_slope_is_kept_not_reset_to_the_default(tmp_path):
    net = gn.Network([gn.Dense(4, gn.activations.LeakyReLU(0.3)), gn.Dense(1)], input_dim=3,
                     seed=0)
    gn.save(net, tmp_path / "m.safetensors")
    assert gn.load(tmp_path / "m.safetensors").layers[0].activation.negative_slope == 0.3


def test_new_activations_match_their_formulas():
    z = np.linspace(-6, 6, 25)
    sigmoid = 1 / (1 + np.exp(-z))
    get = gn.activations.get
    np.testing.assert_allclose(get("silu").forward(z), z * sigmoid, rtol=1e-13)
    np.testing.assert_allclose(get({"name": "elu", "alpha": 2.0}).forward(z),
                               np.where(z > 0, z, 2.0 * (np.exp(z) - 1)), rtol=1e-13)
    # PyTorch's gelu(approximate="tanh")
    tanh_form = 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z ** 3)))
    np.testing.assert_allclose(get("gelu").forward(z), tanh_form, rtol=1e-13)


class _Softsign(gn.activations.Activation):
    """A user's activation, not registered by name: z / (1 + |z|), derivative from Z."""

    name = "softsign"

    def forward(self, Z, out=None):
        return np.divide(Z, 1 + np.abs(Z), out=out)

    def backward(self, Z, A, dA):
        return np.multiply(dA, 1 / (1 + np.abs(Z)) ** 2, out=dA)


def test_a_user_activation_whose_backward_needs_z_passes_gradcheck():
    net = gn.Network([gn.Dense(5, _Softsign()), gn.Dense(3, "softmax")], input_dim=4, seed=3)
    Xg = RNG.normal(size=(9, 4)) * 2
    report = gn.gradcheck(net, Xg, RNG.integers(0, 3, 9))
    assert report.passed, str(report)


def test_an_activation_that_wrongly_claims_not_to_need_z_fails_gradcheck():
    # The check above can fail: the same activation, saying its backward reads only A, gets
    # A where it reads Z, and gradcheck sees the wrong gradient.
    class Lying(_Softsign):
        needs_z = False

    net = gn.Network([gn.Dense(5, Lying()), gn.Dense(3, "softmax")], input_dim=4, seed=3)
    Xg = RNG.normal(size=(9, 4)) * 2
    assert not gn.gradcheck(net, Xg, RNG.integers(0, 3, 9)).passed


def test_the_default_initializer_comes_from_the_activation():
    class Custom(_Softsign):
        default_init = "he_uniform"

    assert type(gn.Dense(3, Custom()).init) is gn.initializers.HeUniform
    assert type(gn.Dense(3, "gelu").init) is gn.initializers.HeNormal
    assert type(gn.Dense(3, "tanh").init) is gn.initializers.GlorotUniform


def test_layers_bound_to_one_network_are_refused_by_another():
    layers = [gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")]
    first = gn.Network(layers, input_dim=2, seed=0)
    with pytest.raises(ValueError, match="already belongs to another Network.*deepcopy"):
        gn.Network(layers, input_dim=2, seed=1)
    second = gn.Network(copy.deepcopy(layers), input_dim=2, seed=1)
    assert not np.array_equal(first.params, second.params)
    twin = copy.deepcopy(first)        # a copied network owns its copied layers
    twin.params = twin.params * 2
    np.testing.assert_array_equal(twin.layers[0].W, 2 * first.layers[0].W)


def test_clone_gives_an_independent_network_with_the_same_weights():
    net = gn.Network(_layers(), input_dim=3, seed=5)
    twin = net.clone()
    np.testing.assert_array_equal(twin.params, net.params)
    twin.params = twin.params + 1
    assert not np.array_equal(twin.params, net.params)
    wide = net.clone(input_dim=7)
    assert wide.input_dim == 7 and wide.layers[0].W.shape == (7, 5)
    single = net.clone(dtype="float32")
    np.testing.assert_allclose(single.params, net.params, rtol=1e-6)


def test_callbacks_and_engines_are_public_modules():
    assert gn.callbacks.EarlyStopping is gn.training.EarlyStopping
    assert set(gn.engines.NAMES) == {"auto", "layered", "tape", "compiled", "rowspace"}


def test_a_model_file_written_by_glassnet_0_1_0_loads_to_its_predictions():
    net = gn.load(DATA / "model_v0.1.0.safetensors")
    expected = np.load(DATA / "model_v0.1.0_predictions.npz")
    np.testing.assert_array_equal(net.predict_proba(expected["X"]), expected["proba"])
    assert net.metadata["classes"] == ["a", "b", "c"]


def test_save_load_round_trips_for_every_header_length_mod_256(tmp_path):
    """The reader once refused headers whose length began with the byte 0x80 (or "PK"),
    taking them for pickles or zip archives: one model file in 32 would not load back."""
    seen = set()
    for i in range(1200):
        if len(seen) == 32:
            break
        path = tmp_path / "m.safetensors"
        net = gn.Network([gn.Dense(1 + i % 7, "relu"), gn.Dense(1, "sigmoid")], input_dim=2,
                         seed=i)
        gn.save(net, path, {"pad": "x" * (i % 300)})
        seen.add(int.from_bytes(path.read_bytes()[:8], "little") % 256)
        np.testing.assert_array_equal(gn.load(path).params, net.params)
    # safetensors pads its header to a multiple of 8: 32 lengths mod 256, 0x80 among them.
    assert seen == set(range(0, 256, 8))
