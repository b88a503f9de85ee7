"""Bad input gets a clean, useful error; extreme but valid input gets finite output."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import ConvergenceWarning

import glassnet as gn
from glassnet.io import ModelFileError
from glassnet.sklearn import NeuralNetClassifier, NeuralNetRegressor


def trained(dtype="float64"):
    net = gn.Network([gn.Dense(4, "relu"), gn.Dense(1, "sigmoid")], input_dim=3, seed=0,
                     dtype=dtype)
    net.fit(np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2, epochs=2)
    return net


GOOD_X = np.ones((4, 3))
GOOD_Y = np.array([0, 1, 0, 1])

BAD_X = [
    ("NaN", np.array([[np.nan, 1, 2]] * 4), ValueError, "NaN or infinity"),
    ("inf", np.array([[np.inf, 1, 2]] * 4), ValueError, "NaN or infinity"),
    ("empty", np.empty((0, 3)), ValueError, "0 samples"),
    ("1-D", np.ones(3), ValueError, "must be 2-D.*reshape"),
    ("3-D", np.ones((4, 3, 1)), ValueError, "must be 2-D"),
    ("strings", np.array([["a", "b", "c"]] * 4), TypeError, "must hold numbers"),
    ("objects", np.array([[object()] * 3] * 4), TypeError, "must hold numbers"),
    ("wrong features", np.ones((4, 5)), ValueError, "has 5 features but the network expects 3"),
    ("too large for float32", np.full((4, 3), 1e300), ValueError, "too large for float32"),
]


@pytest.mark.parametrize("label,X,exc,message", BAD_X, ids=[r[0] for r in BAD_X])
@pytest.mark.parametrize("entry", ["forward", "predict", "predict_proba", "evaluate", "fit",
                                   "loss_and_grad"])
def test_network_entry_points_reject_bad_X(label, X, exc, message, entry):
    net = trained("float32" if label == "too large for float32" else "float64")
    call = {"forward": lambda: net.forward(X), "predict": lambda: net.predict(X),
            "predict_proba": lambda: net.predict_proba(X),
            "evaluate": lambda: net.evaluate(X, GOOD_Y),
            "fit": lambda: net.fit(X, GOOD_Y),
            "loss_and_grad": lambda: net.loss_and_grad(X, GOOD_Y)}
    with pytest.raises(exc, match=message):
        call[entry]()


@pytest.mark.parametrize("y,exc,message", [
    (np.array([0, 1, 0]), ValueError, "different numbers of samples: 4 and 3"),
    (np.array([0, 1, 2, 1]), ValueError, r"must lie in \[0, 1\]"),
    (np.array([0, 1, np.nan, 1]), ValueError, "NaN or infinity"),
    (np.array(["a", "b", "a", "b"]), TypeError, "must be numeric"),
    (np.ones((4, 2)), ValueError, r"shape \(n_samples, 1\)"),
])
def test_network_rejects_bad_targets(y, exc, message):
    with pytest.raises(exc, match=message):
        trained().fit(GOOD_X, y)


def test_softmax_network_rejects_labels_outside_its_classes():
    net = gn.Network([gn.Dense(3, "softmax")], input_dim=3)
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 2\]"):
        net.fit(GOOD_X, [0, 1, 3, 1])
    with pytest.raises(TypeError, match="must be integers"):
        net.fit(GOOD_X, [0.5, 1, 2, 1])


@pytest.mark.parametrize("kwargs,message", [
    ({"sample_weight": [1, 1, 1]}, r"shape \(4,\)"),
    ({"sample_weight": [1, -1, 1, 1]}, "non-negative"),
    ({"sample_weight": [0, 0, 0, 0]}, "sums to zero"),
    ({"validation_data": (GOOD_X, GOOD_Y[:3])}, "different numbers of samples"),
    ({"validation_data": GOOD_X}, "tuple"),
])
def test_fit_rejects_bad_extras(kwargs, message):
    with pytest.raises(ValueError, match=message):
        trained().fit(GOOD_X, GOOD_Y, **kwargs)


@pytest.mark.parametrize("make,message", [
    (lambda: gn.Network([]), "at least one layer"),
    (lambda: gn.Network([gn.Dense(2), gn.Dropout(0.5)]), "last layer must be a Dense"),
    (lambda: gn.Network(["dense"]), "must be a glassnet layer"),
    (lambda: gn.Network([gn.Dense(1)], dtype="float16"), "dtype must be"),
    (lambda: gn.Network([gn.Dense(1)], seed=-1), "seed must be"),
    (lambda: gn.Network([gn.Dense(1)], input_dim=0), "input_dim must be a positive integer"),
    (lambda: gn.Dropout(1.0), r"rate must be a number in \[0, 1\)"),
    (lambda: gn.initializers.Normal(-1), "std >= 0"),
])
def test_invalid_construction_is_refused(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extreme_but_valid_inputs_give_finite_outputs(dtype):
    big = 1e30 if dtype == "float64" else 1e15
    rng = np.random.default_rng(0)
    for head, n_out in (("sigmoid", 1), ("softmax", 3), ("identity", 2), ("tanh", 1)):
        net = gn.Network([gn.Dense(8, "relu"), gn.Dense(8, "tanh"), gn.Dense(n_out, head)],
                         input_dim=3, seed=0, dtype=dtype)
        for X in (rng.normal(size=(5, 3)) * big, np.ones((1, 3)), -np.ones((1, 3)) * big):
            assert np.all(np.isfinite(net.forward(X))), (head, X)
            assert np.all(np.isfinite(net.predict(X)))
    one_feature = gn.Network([gn.Dense(1, "sigmoid")], input_dim=1, seed=0)
    history = one_feature.fit(np.array([[1e3]]), np.array([1]), epochs=3)  # one sample
    assert np.all(np.isfinite(history["loss"]))
    # A batch holding a single class is fine.
    net = gn.Network([gn.Dense(3, "softmax")], input_dim=2, seed=0)
    net.fit(np.ones((4, 2)), np.zeros(4, dtype=int), epochs=2, batch_size=2)
    assert np.all(np.isfinite(net.params))


ESTIMATOR_BAD = [
    ("NaN", np.array([[np.nan, 1.0]] * 6), "NaN"),
    ("1-D", np.ones(6), "Expected a 2-dimensional container|2D array"),
    ("empty", np.empty((0, 2)), "0 sample"),
    ("strings", np.array([["a", "b"]] * 6), "could not convert|numeric"),
]


@pytest.mark.parametrize("label,X,message", ESTIMATOR_BAD, ids=[r[0] for r in ESTIMATOR_BAD])
@pytest.mark.parametrize("Estimator", [NeuralNetClassifier, NeuralNetRegressor])
def test_estimators_reject_bad_X(Estimator, label, X, message):
    with pytest.raises(ValueError, match=message):
        Estimator(max_iter=2).fit(X, np.arange(len(X)) % 2)


def test_estimators_predict_with_the_wrong_number_of_features():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = NeuralNetClassifier(max_iter=2).fit(X, np.arange(20) % 2)
    with pytest.raises(ValueError, match="X has 4 features.*expecting 3"):
        model.predict(np.ones((2, 4)))


def test_classifier_fits_a_single_class_and_rejects_continuous_targets():
    X = np.ones((6, 2))
    # As scikit-learn's MLPClassifier: one class is a valid (if dull) problem.
    one = NeuralNetClassifier(max_iter=5).fit(X, np.full(6, 7))
    assert one.predict(X).tolist() == [7] * 6
    np.testing.assert_array_equal(one.predict_proba(X), np.ones((6, 1)))
    with pytest.raises(ValueError, match="Unknown label type"):
        NeuralNetClassifier().fit(X, np.linspace(0, 1, 6))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(X=hnp.arrays(dtype=st.sampled_from([np.float64, np.float32, np.int64, np.bool_]),
                    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6)),
       kind=st.sampled_from(["classifier", "regressor"]))
def test_estimators_take_random_input_cleanly(X, kind):
    """Random shapes, dtypes and values: either a clean error, or finite predictions."""
    n = X.shape[0] if X.ndim else 0
    y = np.arange(n) % 2
    model = (NeuralNetClassifier if kind == "classifier" else NeuralNetRegressor)(
        hidden_layer_sizes=(3,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.fit(X, y)
        except (ValueError, TypeError) as exc:
            assert str(exc)
            return
        pred = model.predict(X)
    assert np.all(np.isfinite(np.asarray(pred, dtype=float)))


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=600))
def test_loader_takes_random_bytes_cleanly(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "m.safetensors"
    path.write_bytes(data)
    with pytest.raises(ModelFileError):
        gn.load(path)


@settings(max_examples=150, deadline=None)
@given(position=st.integers(0, 10**6), value=st.integers(0, 255))
def test_loader_takes_corrupted_model_files_cleanly(tmp_path_factory, position, value):
    """One byte of a real model file changed: a clean error, or a working finite network."""
    path = tmp_path_factory.mktemp("corrupt") / "m.safetensors"
    gn.save(trained(), path)
    data = bytearray(path.read_bytes())
    data[position % len(data)] = value
    path.write_bytes(bytes(data))
    try:
        net = gn.load(path)
    except ModelFileError as exc:
        assert str(exc)
        return
    with np.errstate(over="ignore"):  # a corrupted weight may be huge: finite is the promise
        assert np.all(np.isfinite(net.forward(np.ones((2, net.input_dim)))))


@pytest.mark.parametrize("where", [0, 5, 9_999])
def test_a_single_nan_is_found_in_any_block_of_a_large_X(where):
    """The finiteness check reads X in blocks: a NaN in the last row is found as surely as one
    in the first."""
    from glassnet._checks import all_finite, check_X

    X = np.ones((10_000, 30))
    assert all_finite(X, block=1000)
    X[where, 29] = np.nan
    assert not all_finite(X, block=1000)
    with pytest.raises(ValueError, match="NaN or infinity"):
        check_X(X, np.float64)


def test_ready_arrays_pass_through_and_others_are_made_ready():
    """An array already 2-D, C-ordered, of the dtype asked for takes the short path and comes
    back as itself; any other form comes back converted, and bad values are refused either way."""
    from glassnet._checks import check_X

    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    assert check_X(X, np.float64, n_features=3) is X
    fortran = np.asfortranarray(X)
    out = check_X(fortran, np.float64, n_features=3)
    assert out.flags.c_contiguous and np.array_equal(out, X)
    assert check_X(X, np.float32).dtype == np.float32
    X[2, 1] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        check_X(X, np.float64, n_features=3)


_CELLS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(
        lambda v: str(v).replace(".", ",")),                       # a decimal comma
    st.integers(-10**6, 10**6).map(str),
    st.sampled_from(["", "NA", "nan", "?", "-", "null", " ", "inf", "1e400", "1.234,5", "a,b",
                     "x;y", '"q"', "Ä", "true"]),
    st.text(alphabet="ab ,;\t|.\"09-", max_size=5))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(delimiter=st.sampled_from([",", ";", "\t", "|"]), header=st.booleans(),
       width=st.integers(1, 4), label=st.sampled_from(["-1", "0", "c0"]),
       drop=st.booleans(), data=st.data())
def test_a_csv_of_random_cells_loads_cleanly_or_says_why(tmp_path_factory, delimiter, header,
                                                         width, label, drop, data):
    """Any table a spreadsheet could write (numbers with dots or decimal commas, missing
    tokens, quotes, delimiters inside cells): a ValueError that says what is wrong, or a
    split whose preprocessed rows are finite numbers."""
    import csv
    import io

    from glassnet import datasets
    from glassnet.recipe import Preprocessor

    rows = data.draw(st.lists(st.lists(_CELLS, min_size=width, max_size=width), min_size=1,
                              max_size=20))
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter)
    if header:
        writer.writerow([f"c{j}" for j in range(width)])
    writer.writerows(rows)
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    path.write_text(text.getvalue())
    try:
        ds = datasets.load(path, label=label, drop_missing_labels=drop)
        pre = Preprocessor().fit(ds.X_train, ds.feature_names)
        inputs = pre.transform(ds.X_test)
    except ValueError as exc:
        assert str(exc)
        return
    assert inputs.shape[0] == len(ds.X_test) and np.isfinite(inputs).all()
