"""The estimators in scikit-learn's machinery, against MLPClassifier, and their extras."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, make_moons, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import glassnet as gn
from glassnet.sklearn import NeuralNetClassifier, NeuralNetRegressor


@pytest.fixture(scope="module")
def moons():
    return make_moons(200, noise=0.2, random_state=0)


def test_pipeline_gridsearch_and_cross_validation(moons):
    X, y = moons
    pipe = make_pipeline(StandardScaler(),
                         NeuralNetClassifier((8,), max_iter=60, random_state=0))
    search = GridSearchCV(pipe, {"neuralnetclassifier__learning_rate_init": [0.01, 0.03]},
                          cv=3, n_jobs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
        scores = cross_val_score(pipe, X, y, cv=3)
    assert search.best_score_ > 0.8 and scores.mean() > 0.8
    assert search.best_params_["neuralnetclassifier__learning_rate_init"] in (0.01, 0.03)


def test_clone_keeps_parameters_and_drops_fitted_state(moons):
    X, y = moons
    model = NeuralNetClassifier((5, 3), activation=["relu", "tanh"], dropout=0.1,
                                random_state=1, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "network_")


@pytest.mark.parametrize("loader", [load_digits, load_breast_cancer])
def test_accuracy_at_least_sklearn_mlp_minus_one_point(loader):
    X, y = loader(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0,
                                                        stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(3):
            ours.append(NeuralNetClassifier((64,), random_state=seed)
                        .fit(X_train, y_train).score(X_test, y_test))
            theirs.append(MLPClassifier((64,), random_state=seed)
                          .fit(X_train, y_train).score(X_test, y_test))
    assert np.mean(ours) >= np.mean(theirs) - 0.01, (ours, theirs)


def _sklearn_init(net, rs, factor=6.0):
    """scikit-learn's MLP initialisation, written out: per layer, weights then biases,
    uniform in +-sqrt(factor / (fan_in + fan_out))."""
    for layer in net.dense_layers:
        fan_in, fan_out = layer.W.shape
        bound = np.sqrt(factor / (fan_in + fan_out))
        layer.W[...] = rs.uniform(-bound, bound, (fan_in, fan_out))
        layer.b[...] = rs.uniform(-bound, bound, fan_out)


def test_the_tutorials_full_batch_gradient_descent_is_expressible(moons):
    X, y = moons
    model = NeuralNetClassifier((5,), solver="sgd", momentum=0.0, batch_size=None,
                                learning_rate_init=0.5, alpha=0.0, max_iter=3, tol=0.0,
                                shuffle=False, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    # t_ counts the samples seen, as in scikit-learn: 3 full-batch epochs over X.
    assert model.n_iter_ == 3 and model.t_ == 3 * len(X), "one step per epoch: full batch"
    # The same three steps by hand, from scikit-learn's initial weights for random_state=0.
    net = gn.Network([gn.Dense(5, "relu"), gn.Dense(1, "sigmoid")], input_dim=2, seed=0)
    _sklearn_init(net, np.random.RandomState(0))
    for _ in range(3):
        _, grad = net.loss_and_grad(X, y)
        net.params = net.params - 0.5 * grad
    np.testing.assert_allclose(model.network_.params, net.params, rtol=1e-12)


def test_same_random_state_gives_identical_predictions_on_refit(moons):
    X, y = moons
    model = NeuralNetClassifier((10,), random_state=42, max_iter=20, batch_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = model.fit(X, y).predict_proba(X)
        second = model.fit(X, y).predict_proba(X)
        other = clone(model).set_params(random_state=7).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_string_labels_and_multiclass(rng):
    X = rng.normal(size=(150, 4))
    labels = np.array(["cat", "dog", "fish"])[np.argmax(X[:, :3], axis=1)]
    model = NeuralNetClassifier((16,), random_state=0, max_iter=300).fit(X, labels)
    assert list(model.classes_) == ["cat", "dog", "fish"]
    assert model.out_activation_ == "softmax"
    pred = model.predict(X)
    assert pred.dtype == labels.dtype and (pred == labels).mean() > 0.9
    proba = model.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1)


def test_multilabel_classification(rng):
    X = rng.normal(size=(200, 3))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 2] > 0]).astype(int)
    model = NeuralNetClassifier((16,), random_state=0, max_iter=300).fit(X, Y)
    assert model.out_activation_ == "logistic" and model.n_outputs_ == 3   # sklearn's name
    pred = model.predict(X)
    assert pred.shape == (200, 3) and (pred == Y).mean() > 0.9


def test_single_and_multi_output_regression():
    X, y = make_regression(200, 5, n_targets=2, noise=0.1, random_state=0)
    y = y / y.std(axis=0)
    multi = NeuralNetRegressor(hidden_layer_sizes=(32,), random_state=0, max_iter=300,
                               learning_rate_init=0.01)
    assert multi.fit(X, y).predict(X).shape == (200, 2)
    assert multi.score(X, y) > 0.95
    single = NeuralNetRegressor(hidden_layer_sizes=(32,), random_state=0, max_iter=300,
                               learning_rate_init=0.01)
    assert single.fit(X, y[:, 0]).predict(X).shape == (200,)
    assert single.score(X, y[:, 0]) > 0.95


def test_coefs_and_intercepts_have_sklearn_shapes(moons):
    X, y = moons
    model = NeuralNetClassifier((6, 4), random_state=0, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert [c.shape for c in model.coefs_] == [(2, 6), (6, 4), (4, 1)]
    assert [b.shape for b in model.intercepts_] == [(6,), (4,), (1,)]
    assert model.n_features_in_ == 2 and len(model.loss_curve_) == model.n_iter_ == 2


def test_early_stopping_on_validation_loss_records_its_curve(moons):
    X, y = moons
    model = NeuralNetClassifier((16,), early_stopping=True, n_iter_no_change=5,
                                learning_rate_init=0.05, max_iter=500, random_state=0)
    model.fit(X, y)
    curve = model.validation_loss_curve_
    assert len(curve) == model.n_iter_ < 500
    assert model.best_validation_loss_ == min(curve)


def test_sample_weight_matches_repeating_samples_with_minibatch_solvers_full_batch(moons):
    X, y = moons
    w = np.random.default_rng(0).integers(0, 3, len(X))
    kwargs = dict(hidden_layer_sizes=(8,), max_iter=30, batch_size=None, random_state=0,
                  alpha=1e-2, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = NeuralNetClassifier(**kwargs).fit(X, y, sample_weight=w)
        repeated = NeuralNetClassifier(**kwargs).fit(np.repeat(X, w, 0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X),
                               rtol=1e-9)


def test_partial_fit_needs_classes_first_and_then_learns(moons):
    X, y = moons
    model = NeuralNetClassifier((16,), learning_rate_init=0.05, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(X, y)
    for _ in range(150):
        model.partial_fit(X, y, classes=[0, 1])
    # A linear boundary gets about 0.85 on these moons: > 0.9 needs the hidden layer.
    # n_iter_ counts the epochs of the last call, as in scikit-learn; the curve all of them.
    assert model.n_iter_ == 1 and len(model.loss_curve_) == 150 and model.score(X, y) > 0.9
    with pytest.raises(ValueError, match="differs from the classes"):
        model.partial_fit(X, y, classes=[0, 1, 2])


def test_float32_option_does_not_upcast(moons):
    X, y = moons
    model = NeuralNetClassifier((8,), dtype="float32", random_state=0, max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert model.network_.params.dtype == np.float32
    assert model.predict_proba(X).dtype == np.float32


def test_warm_start_continues_from_the_current_weights(moons):
    X, y = moons
    model = NeuralNetClassifier((8,), warm_start=True, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
        after_first = model.network_.params.copy()
        network = model.network_
        model.fit(X, y)
    assert model.network_ is network
    assert not np.array_equal(after_first, model.network_.params)
    assert model.n_iter_ == 5 and len(model.loss_curve_) == 10, "curves carry on"


def test_divergence_in_an_estimator_warns_and_keeps_finite_predictions():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)) * 1e3
    y = X @ np.array([1.0, -2.0, 3.0])
    model = NeuralNetRegressor(hidden_layer_sizes=(16,), solver="sgd", momentum=0,
                               learning_rate_init=10.0, max_iter=50, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        model.fit(X, y)
    assert np.all(np.isfinite(model.predict(X)))


@pytest.mark.parametrize("params,match", [
    ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
    ({"activation": ["relu"], "hidden_layer_sizes": (3, 3)}, "one activation per hidden layer"),
    ({"solver": "newton"}, "solver"),
    ({"learning_rate_init": -1.0}, "learning_rate_init"),
    ({"dropout": 1.0}, "dropout"),
])
def test_invalid_hyperparameters_name_the_parameter(moons, params, match):
    X, y = moons
    with pytest.raises(ValueError, match=match):
        NeuralNetClassifier(**params).fit(X, y)


def test_unseen_labels_in_partial_fit_are_refused(moons):
    X, y = moons
    model = NeuralNetClassifier((4,), random_state=0).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="labels the classifier was not told about"):
        model.partial_fit(X, y + 5)


def test_full_batch_gradient_descent_estimator_runs_on_the_tape_with_the_librarys_weights(moons):
    """The estimator's convergence rule reads the loss alone, so it does not force the layered
    engine: with solver="sgd", momentum=0, batch_size=None, alpha=0 the fit is the tape's, and
    its weights are those of net.fit on the same network."""
    X, y = moons
    clf = NeuralNetClassifier(hidden_layer_sizes=(12,), solver="sgd", momentum=0,
                              batch_size=None, alpha=0, learning_rate_init=0.2, max_iter=300,
                              random_state=0, tol=0, n_iter_no_change=10 ** 6)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    net = gn.Network([gn.Dense(12, "relu"), gn.Dense(1, "sigmoid")], input_dim=2, seed=0)
    _sklearn_init(net, np.random.RandomState(0))
    history = net.fit(X, y, optimizer=gn.SGD(0.2), epochs=300)
    assert clf.network_.history.engine == history.engine == "tape"
    np.testing.assert_array_equal(clf.network_.params, net.params)
    assert clf.n_iter_ == 300


@pytest.mark.parametrize("early_stopping", [False, True])
def test_estimator_stops_at_the_same_iteration_on_every_engine(moons, early_stopping):
    X, y = moons
    fitted = {}
    for engine in ("auto", "layered"):
        clf = NeuralNetClassifier(hidden_layer_sizes=(8,), solver="sgd", momentum=0,
                                  batch_size=None, alpha=0, learning_rate_init=0.5,
                                  max_iter=2000, random_state=1, tol=1e-3, n_iter_no_change=5,
                                  early_stopping=early_stopping, engine=engine)
        fitted[engine] = clf.fit(X, y)
    fast, plain = fitted["auto"], fitted["layered"]
    assert fast.network_.history.engine == "tape" and plain.network_.history.engine == "layered"
    assert 5 < fast.n_iter_ == plain.n_iter_ < 2000
    np.testing.assert_allclose(fast.network_.params, plain.network_.params, rtol=1e-9)
    np.testing.assert_allclose(fast.loss_curve_, plain.loss_curve_, rtol=1e-9)


def test_scikit_learns_callback_protocol_scores_every_epoch_and_can_stop_the_fit():
    from sklearn.callback import ScoringMonitor

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    params = dict(hidden_layer_sizes=(6,), max_iter=4, random_state=0, learning_rate_init=0.01)
    monitor = ScoringMonitor(scoring="accuracy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        NeuralNetClassifier(**params).set_callbacks(monitor).fit(X, y)
        # Epoch k's score is that of the same fit stopped after k + 1 epochs.
        expected = [NeuralNetClassifier(**{**params, "max_iter": k + 1}).fit(X, y).score(X, y)
                    for k in range(4)]
    rows = monitor.get_logs().data
    assert [row["task_name"] for row in rows] == ["epoch"] * 4
    assert [row["accuracy"] for row in rows] == expected

    class StopAfterTwo:
        def setup(self, estimator, context):
            self.seen = 0

        def on_fit_task_begin(self, estimator, context):
            pass

        def on_fit_task_end(self, estimator, context):
            self.seen += 1
            return context.task_name == "epoch" and self.seen == 2

        def teardown(self, estimator, context):
            pass

    clf = NeuralNetClassifier(**{**params, "max_iter": 50}).set_callbacks(StopAfterTwo())
    clf.fit(X, y)
    assert clf.n_iter_ == 2


def test_class_weight_balanced_is_the_weighting_scikit_learn_defines():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    y = np.array(["a"] * 60 + ["b"] * 20 + ["c"] * 10)
    # n_samples / (n_classes * count): 90 / (3 * 60), 90 / (3 * 20), 90 / (3 * 10)
    w = np.select([y == "a", y == "b"], [0.5, 1.5], 3.0)
    extra = rng.random(90) + 0.5
    params = dict(hidden_layer_sizes=(5,), max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        balanced = NeuralNetClassifier(class_weight="balanced", **params).fit(X, y, extra)
        explicit = NeuralNetClassifier(**params).fit(X, y, sample_weight=w * extra)
        by_dict = NeuralNetClassifier(class_weight={"a": 0.5, "b": 1.5, "c": 3.0},
                                      **params).fit(X, y, extra)
    np.testing.assert_allclose(balanced.network_.params, explicit.network_.params, rtol=1e-12)
    np.testing.assert_allclose(by_dict.network_.params, explicit.network_.params, rtol=1e-12)


@pytest.mark.parametrize("solver,learning_rate,early_stopping", [
    ("adam", "constant", False), ("sgd", "adaptive", True), ("lbfgs", "constant", False)])
def test_accuracy_and_iterations_are_those_of_mlpclassifier_with_the_same_arguments(
        solver, learning_rate, early_stopping):
    """The smoke version of bench/sklearn_parity.py (every combination, four data sets)."""
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    params = dict(hidden_layer_sizes=(64,), solver=solver, learning_rate=learning_rate,
                  early_stopping=early_stopping, max_iter=150, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = NeuralNetClassifier(**params).fit(X_train, y_train)
        theirs = MLPClassifier(**params).fit(X_train, y_train)
    assert abs(ours.score(X_test, y_test) - theirs.score(X_test, y_test)) <= 0.01 + 1e-9
    assert 0.5 <= ours.n_iter_ / theirs.n_iter_ <= 2.0


@pytest.mark.parametrize("nesterov", [False, True])
def test_the_estimators_momentum_keeps_each_steps_rate_in_the_velocity(nesterov):
    """scikit-learn's form, written out: v = m v - lr_t g_t, params += v (Nesterov:
    params += m v - lr_t g_t). At a constant rate it is glassnet's SGD exactly."""
    from glassnet.sklearn import _VelocitySGD

    rng = np.random.default_rng(0)
    grads = rng.normal(size=(6, 5))
    rates = [0.1 / (1 + t) ** 0.5 for t in range(6)]
    params, v = np.zeros(5), np.zeros(5)
    for g, lr in zip(grads, rates):
        v = 0.9 * v - lr * g
        params = params + (0.9 * v - lr * g if nesterov else v)
    ours, opt = np.zeros(5), _VelocitySGD(0.1, momentum=0.9, nesterov=nesterov)
    for g, lr in zip(grads, rates):
        opt.learning_rate = lr
        opt.step(ours, g.copy())
    np.testing.assert_allclose(ours, params, rtol=1e-13)
    same, plain = np.zeros(5), np.zeros(5)
    a, b = _VelocitySGD(0.1, momentum=0.9, nesterov=nesterov), \
        gn.SGD(0.1, momentum=0.9, nesterov=nesterov)
    for g in grads:
        a.step(same, g.copy())
        b.step(plain, g.copy())
    np.testing.assert_allclose(same, plain, rtol=1e-12)


def test_predicting_on_a_plain_array_gives_what_validated_input_gives():
    """The fast path for float arrays of the fitted width (a serving user's rows) answers as
    scikit-learn's validated path does, and refuses what that path refuses."""
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(120, 6, random_state=0)
    clf = NeuralNetClassifier((8,), max_iter=30, random_state=0).fit(X, y)
    expected = clf.predict_proba(X.tolist())                 # lists take the validated path
    np.testing.assert_array_equal(clf.predict_proba(X), expected)
    # One row is a matrix-vector product in the BLAS: the same to the last bit or so.
    np.testing.assert_allclose(clf.predict_proba(X[:1]), expected[:1], rtol=1e-14)
    np.testing.assert_allclose(clf.predict_proba(X.astype(np.float32)), expected, rtol=1e-6)
    bad = X[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.predict_proba(bad)
    with pytest.raises(ValueError, match="6 features"):
        clf.predict(X[:, :5])
    with pytest.raises(ValueError, match="0 sample"):
        clf.predict(X[:0])
    named = NeuralNetClassifier((8,), max_iter=30, random_state=0).fit(
        pd.DataFrame(X, columns=list("abcdef")), y)
    with pytest.warns(UserWarning, match="valid feature names"):
        named.predict(X)                                     # still warned, as scikit-learn does


def test_each_epochs_order_is_the_one_mlpclassifier_draws():
    """MLPClassifier reshuffles its last order every epoch with ``sklearn.utils.shuffle`` and
    its RandomState; the estimators draw the same orders from the same stream without calling
    it, and leave the stream where scikit-learn leaves it (for the draws that follow)."""
    from sklearn.utils import shuffle

    ours, theirs = np.random.RandomState(7), np.random.RandomState(7)
    next_order, order = NeuralNetClassifier._shuffler(ours), np.arange(301)
    for _ in range(4):
        order = shuffle(order, random_state=theirs)
        drawn = next_order(301)
        np.testing.assert_array_equal(drawn, order)
    assert ours.randint(10**9) == theirs.randint(10**9)
    assert sorted(drawn) == list(range(301))


# ----------------------------------------------------------------------------- the same model
def _quiet_fit(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(*args, **kwargs)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_sample_weights_with_mini_batches_stop_at_scikit_learns_epoch(solver):
    """The epoch loss averages batches by rows, as scikit-learn's loss_curve_ does, so its tol
    rule fires at the same epoch (it fired at 165 instead of 219 with weighted averaging)."""
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    counts = np.random.default_rng(0).multinomial(len(y), [1 / len(y)] * len(y)).astype(float)
    ours = _quiet_fit(NeuralNetClassifier(solver=solver, random_state=0, max_iter=400), X, y,
                      sample_weight=counts)
    theirs = _quiet_fit(MLPClassifier(solver=solver, random_state=0, max_iter=400), X, y,
                        sample_weight=counts)
    assert ours.n_iter_ == theirs.n_iter_ < 400
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)


def test_multi_output_regression_backpropagates_the_sum_over_outputs_as_scikit_learn():
    from sklearn.datasets import load_linnerud
    from sklearn.neural_network import MLPRegressor

    X, Y = load_linnerud(return_X_y=True)
    X, Y = StandardScaler().fit_transform(X), StandardScaler().fit_transform(Y)
    params = dict(hidden_layer_sizes=(8,), solver="sgd", random_state=0, max_iter=100)
    ours = _quiet_fit(NeuralNetRegressor(**params), X, Y)
    theirs = _quiet_fit(MLPRegressor(**params), X, Y)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), atol=1e-10)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)


def test_lbfgs_on_three_outputs_is_scikit_learns_model_to_the_last_bit():
    """L-BFGS amplifies any rounding difference: glassnet's old order (dividing by n before the
    products, BLAS's bias sums, one L2 sum over all layers) ended 200 iterations 5e-3 away."""
    from sklearn.datasets import load_linnerud
    from sklearn.neural_network import MLPRegressor

    X, Y = load_linnerud(return_X_y=True)
    X, Y = StandardScaler().fit_transform(X), StandardScaler().fit_transform(Y)
    params = dict(hidden_layer_sizes=(100,), solver="lbfgs", random_state=0, max_iter=200)
    ours = _quiet_fit(NeuralNetRegressor(**params), X, Y)
    theirs = _quiet_fit(MLPRegressor(**params), X, Y)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.loss_ == theirs.loss_
    for mine, sklearns in zip(ours.coefs_ + ours.intercepts_,
                              theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_array_equal(mine, sklearns)


def test_adam_is_scikit_learns_form_and_digits_stops_at_its_epoch():
    X, y = load_digits(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X, y, random_state=0, stratify=y)
    X_train = StandardScaler().fit_transform(X_train)
    ours = _quiet_fit(NeuralNetClassifier(random_state=0), X_train, y_train)
    theirs = _quiet_fit(MLPClassifier(random_state=0), X_train, y_train)
    assert ours.n_iter_ == theirs.n_iter_ == 145            # glassnet stopped at 148 before
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    # The library's own Adam keeps Kingma & Ba's (PyTorch's) form.
    assert gn.Adam().epsilon_corrected


@pytest.mark.parametrize("kind", ["object", "category", "string"])
def test_pandas_text_labels_give_classes_as_scikit_learn(kind):
    pd = pytest.importorskip("pandas")
    X = np.random.default_rng(0).normal(size=(40, 2))
    labels = pd.Series(np.where(X[:, 0] > 0, "yes", "no")).astype(kind)
    ours = _quiet_fit(NeuralNetClassifier(max_iter=5), X, labels)
    theirs = _quiet_fit(MLPClassifier(max_iter=5), X, labels)
    assert ours.classes_.dtype == theirs.classes_.dtype
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)


@pytest.mark.parametrize("make", [
    lambda: NeuralNetClassifier(hidden_layer_sizes=(6,), solver="sgd", momentum=0.9,
                                learning_rate="invscaling", dropout=0.2, max_iter=5),
    lambda: NeuralNetClassifier(hidden_layer_sizes=(6,), learning_rate="adaptive",
                                solver="sgd", max_iter=5),
    lambda: NeuralNetRegressor(hidden_layer_sizes=(6,), loss="poisson", max_iter=5)])
def test_skops_trusts_nothing_but_the_estimator_and_the_fit_goes_on_the_same(make):
    """A fitted estimator's state is plain data: skops lists only glassnet's own public
    class (it listed 12 types, _VelocitySGD and numpy.dtype among them)."""
    import pickle

    sio = pytest.importorskip("skops.io")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    model = make()
    y = (X[:, 0] > 0).astype(int) if isinstance(model, NeuralNetClassifier) else \
        np.abs(X[:, :2])
    _quiet_fit(model, X, y)
    data = sio.dumps(model)
    name = f"glassnet.sklearn.{type(model).__name__}"
    assert sio.get_untrusted_types(data=data) == [name]
    restored, pickled = sio.loads(data, trusted=[name]), pickle.loads(pickle.dumps(model))
    for m in (model, restored, pickled):          # the optimizer's and the RNGs' state too
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m.partial_fit(X, y)
    np.testing.assert_array_equal(restored.network_.params, model.network_.params)
    np.testing.assert_array_equal(pickled.network_.params, model.network_.params)


def test_the_html_repr_links_to_the_estimators_documentation():
    html = NeuralNetClassifier()._repr_html_()
    assert "https://pypi.org/project/glassnet/" in html and "#scikit-learn-estimators" in html
