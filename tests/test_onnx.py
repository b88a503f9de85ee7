"""ONNX export against glassnet itself, run in onnxruntime: random networks drawn by
hypothesis (every activation, every kind of head, both dtypes, dropout, scaling) and fitted
estimators with string labels."""

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import glassnet as gn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler, StandardScaler  # noqa: E402

from glassnet.sklearn import NeuralNetClassifier, NeuralNetRegressor  # noqa: E402

# exp is an output activation (Poisson regression): stacked, it overflows.
HIDDEN = [a for a in gn.activations.NAMES if a not in ("softmax", "exp")]
HEADS = {"binary": ("sigmoid", 1), "multiclass": ("softmax", 4), "multilabel": ("sigmoid", 3),
         "regression": ("identity", 2)}
TOL = {"float32": 1e-5, "float64": 1e-10}


def run(proto_or_path, X):
    data = proto_or_path.SerializeToString() if hasattr(proto_or_path, "SerializeToString") \
        else str(proto_or_path)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"X": X})))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hidden=st.lists(st.tuples(st.integers(1, 9), st.sampled_from(HIDDEN),
                                 st.sampled_from([0.0, 0.3])), min_size=0, max_size=3),
       head=st.sampled_from(sorted(HEADS)), dtype=st.sampled_from(["float32", "float64"]),
       seed=st.integers(0, 2 ** 16), n_features=st.integers(1, 6))
def test_random_networks_run_in_onnxruntime_as_in_glassnet(hidden, head, dtype, seed,
                                                            n_features):
    layers = []
    for units, activation, dropout in hidden:
        layers.append(gn.Dense(units, activation))
        if dropout:
            layers.append(gn.Dropout(dropout))
    activation, n_out = HEADS[head]
    net = gn.Network(layers + [gn.Dense(n_out, activation)], input_dim=n_features, seed=seed,
                     dtype=dtype)
    X = (np.random.default_rng(seed).normal(size=(17, n_features)) * 3).astype(dtype)
    out = run(gn.export.to_onnx(net), X)
    expected = net.predict_proba(X)
    if head == "regression":
        assert set(out) == {"variable"}
        np.testing.assert_allclose(out["variable"], expected, rtol=TOL[dtype], atol=TOL[dtype])
        return
    assert list(out) == ["label", "probabilities"]
    if head == "binary":
        expected = np.hstack([1 - expected, expected])
    assert out["probabilities"].dtype == np.dtype(dtype)
    np.testing.assert_allclose(out["probabilities"], expected, rtol=TOL[dtype], atol=TOL[dtype])
    np.testing.assert_array_equal(out["label"], net.predict(X))


@pytest.mark.parametrize("scaler", [StandardScaler, MinMaxScaler])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_fitted_pipeline_with_string_labels_exports_its_scaler_and_classes(scaler, dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(loc=5, scale=[1, 10, 100], size=(120, 3))
    y = np.array(["cat", "dog", "emu"])[(X[:, 0] > 5).astype(int) + (X[:, 1] > 5)]
    model = make_pipeline(scaler(), NeuralNetClassifier(
        hidden_layer_sizes=(8, 6), activation=["gelu", "elu"], dropout=0.1, max_iter=60,
        random_state=0, dtype=dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    proto = gn.export.to_onnx(model)
    out = run(proto, X.astype(dtype))
    np.testing.assert_allclose(out["probabilities"], model.predict_proba(X),
                               rtol=TOL[dtype], atol=TOL[dtype])
    np.testing.assert_array_equal(out["label"], model.predict(X))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["classes"]) == ["cat", "dog", "emu"]
    assert meta["glassnet_version"] == gn.__version__


def test_binary_estimator_with_integer_labels_and_a_regressor(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 2))
    y = np.where(X[:, 0] > 0, 7, -3)                       # labels that are not indices
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = NeuralNetClassifier(hidden_layer_sizes=(5,), max_iter=50, random_state=0).fit(X, y)
        reg = NeuralNetRegressor(hidden_layer_sizes=(5,), max_iter=50, random_state=0).fit(
            X, np.c_[X[:, 0], X[:, 1] ** 2])
    out = run(gn.export_onnx(clf, tmp_path / "clf.onnx"), X)
    assert out["label"].dtype == np.int64
    np.testing.assert_array_equal(out["label"], clf.predict(X))
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X), rtol=1e-10)
    out = run(gn.export_onnx(reg, tmp_path / "reg.onnx"), X)
    np.testing.assert_allclose(out["variable"], reg.predict(X), rtol=1e-10, atol=1e-12)


def test_a_poisson_regressor_exports_its_exponential_output():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(80, 2))
    y = rng.poisson(np.exp(0.5 * X[:, 0] + 0.2))
    reg = NeuralNetRegressor(loss="poisson", hidden_layer_sizes=(4,), solver="lbfgs",
                             random_state=0).fit(X, y)
    assert reg.out_activation_ == "exp"
    out = run(gn.export.to_onnx(reg), X)
    np.testing.assert_allclose(out["variable"][:, 0], reg.predict(X), rtol=1e-10)


def test_multilabel_estimator_exports_0_1_labels():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 3))
    Y = np.c_[X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 2] > 0].astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = NeuralNetClassifier(hidden_layer_sizes=(6,), max_iter=40, random_state=0).fit(X, Y)
    out = run(gn.export.to_onnx(clf), X)
    np.testing.assert_array_equal(out["label"], clf.predict(X))
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X), rtol=1e-10)


@pytest.mark.parametrize("opset", [13, 17, 21])
def test_opset_and_ir_version_are_set_for_older_runtimes_and_the_checker_passes(opset):
    net = gn.Network([gn.Dense(3, "silu"), gn.Dense(1, "sigmoid")], input_dim=2, seed=0)
    proto = gn.export.to_onnx(net, opset=opset)
    assert proto.opset_import[0].version == opset
    assert proto.ir_version == {13: 7, 17: 8, 21: 10}[opset]
    onnx.checker.check_model(proto, full_check=True)
    assert not any(node.op_type == "Dropout" for node in proto.graph.node)


def test_export_refuses_what_it_cannot_represent():
    with pytest.raises(ValueError, match="not built"):
        gn.export.to_onnx(gn.Network([gn.Dense(1)], seed=0))
    with pytest.raises(TypeError, match="cannot export"):
        gn.export.to_onnx(object())
    with pytest.raises(ValueError, match="opset must be an integer >= 13"):
        gn.export.to_onnx(gn.Network([gn.Dense(1)], input_dim=2, seed=0), opset=11)


def test_the_command_exports_a_saved_model(tmp_path):
    net = gn.Network([gn.Dense(4, "relu"), gn.Dense(3, "softmax")], input_dim=2, seed=3)
    gn.save(net, tmp_path / "m.safetensors", {"classes": ["a", "b", "c"]})
    result = subprocess.run([sys.executable, "-m", "glassnet", "export",
                             str(tmp_path / "m.safetensors"), str(tmp_path / "m.onnx"),
                             "--dtype", "float32"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "one input X [N, 2]" in result.stdout
    X = np.random.default_rng(0).normal(size=(9, 2)).astype(np.float32)
    out = run(tmp_path / "m.onnx", X)
    np.testing.assert_array_equal(out["label"], np.array(["a", "b", "c"])[net.predict(X)])
    np.testing.assert_allclose(out["probabilities"], net.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_a_command_line_model_exports_the_scaling_it_stores(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.normal(loc=[10, -3], scale=[5, 0.1], size=(100, 2))
    lines = ["a,b,label"] + [f"{a:.5f},{b:.5f},{int(a > 10)}" for a, b in X]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    result = subprocess.run([sys.executable, "-m", "glassnet", "train", "--data",
                             str(tmp_path / "d.csv"), "--epochs", "30", "--out",
                             str(tmp_path / "r"), "--quiet", "--allow-poor"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    net = gn.load(tmp_path / "r" / "model.safetensors")
    stored = net.metadata["preprocessing"]
    assert stored["scale"] == "standard"
    out = run(gn.export.to_onnx(net), X)                   # raw, unscaled rows in
    # The scaling written independently: the training split's mean and deviation.
    train = gn.datasets.load(tmp_path / "d.csv", seed=0).X_train.astype(float)
    np.testing.assert_allclose(stored["offset"], train.mean(axis=0), rtol=1e-12)
    expected = net.predict_proba((X - train.mean(axis=0)) / train.std(axis=0))
    np.testing.assert_allclose(out["probabilities"][:, 1:], expected, rtol=1e-9)
    assert list(out["label"]) == ["1" if p > 0.5 else "0" for p in expected[:, 0]]


def test_a_clipping_min_max_scaler_keeps_its_clip():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    from glassnet.sklearn import NeuralNetRegressor

    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(80, 3)), rng.normal(size=80)
    model = make_pipeline(MinMaxScaler(clip=True), NeuralNetRegressor(
        hidden_layer_sizes=(5,), max_iter=30, random_state=0)).fit(X, y)
    far = X * 10                                       # far outside the training range
    out = run(gn.export.to_onnx(model), far)
    np.testing.assert_allclose(out["variable"][:, 0], model.predict(far), rtol=1e-9)


def test_what_cannot_be_exported_is_refused_with_its_reason():
    with pytest.raises(ValueError, match="not built"):
        gn.export.to_onnx(gn.Network([gn.Dense(3), gn.Dense(1, "sigmoid")]))
    net = gn.Network([gn.Dense(3, "softmax")], input_dim=2, seed=0)
    net.metadata = {"classes": ["a", "b"]}
    with pytest.raises(ValueError, match="names 2 classes but its network has 3 outputs"):
        gn.export.to_onnx(net)
    with pytest.raises(ValueError, match="opset must be at most 21"):
        gn.export.to_onnx(gn.Network([gn.Dense(1)], input_dim=2, seed=0), opset=99)
    with pytest.raises(TypeError, match="feature_names must be a list of strings"):
        gn.export.to_onnx(gn.Network([gn.Dense(1)], input_dim=2, seed=0), feature_names=5)


# ----------------------------------------------------------------------------- skl2onnx
def test_skl2onnx_converts_a_column_transformer_pipeline_with_a_glassnet_estimator():
    pd = pytest.importorskip("pandas")
    pytest.importorskip("skl2onnx")
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    from glassnet.sklearn import NeuralNetClassifier, register_skl2onnx

    register_skl2onnx()
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"size": rng.normal(size=120), "colour": rng.choice(["r", "g", "b"],
                                                                            120)})
    frame.loc[::7, "size"] = np.nan
    y = np.where(frame["colour"] == "r", "hot", "cold")
    model = make_pipeline(ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["size"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["colour"])]),
        NeuralNetClassifier(hidden_layer_sizes=(8,), max_iter=60, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(frame, y)
    onnx_model = convert_sklearn(
        model, initial_types=[("size", FloatTensorType([None, 1])),
                              ("colour", StringTensorType([None, 1]))],
        options={id(model.steps[-1][1]): {"zipmap": False}})
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(onnx_model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    feeds = {"size": frame[["size"]].to_numpy(np.float32),
             "colour": frame[["colour"]].to_numpy(object)}
    label, proba = session.run(None, feeds)
    np.testing.assert_array_equal(label, model.predict(frame))
    np.testing.assert_allclose(proba, model.predict_proba(frame), atol=1e-5)
    # export_onnx delegates such a pipeline to skl2onnx, reading the types from rows.
    path = gn.export_onnx(model, _tmp("pipe.onnx"), X=frame)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    label, proba = session.run(None, feeds)          # numbers as float32, as skl2onnx's
    np.testing.assert_array_equal(label, model.predict(frame))


def _tmp(name):
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp()) / name


def test_skl2onnx_converts_a_regressor_and_importing_skl2onnx_first_registers_it():
    code = """
import numpy as np, warnings
import skl2onnx
from skl2onnx.common.data_types import DoubleTensorType
from glassnet.sklearn import NeuralNetRegressor
warnings.simplefilter("ignore")
X = np.random.default_rng(0).normal(size=(50, 3)); y = X @ [1.0, -2.0, 0.5]
model = NeuralNetRegressor(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(X, y)
onx = skl2onnx.convert_sklearn(model, initial_types=[("X", DoubleTensorType([None, 3]))])
import onnxruntime as ort
out = ort.InferenceSession(onx.SerializeToString()).run(None, {"X": X})[0]
print(abs(out.ravel() - model.predict(X)).max())
"""
    pytest.importorskip("skl2onnx")
    pytest.importorskip("onnxruntime")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.strip()) < 1e-10


@pytest.mark.parametrize("input_dtype,values", [("int64", [[1, 0], [0, 3]]),
                                                ("bool", [[True, False], [False, True]])])
def test_int64_and_bool_inputs_are_cast_first(input_dtype, values):
    net = gn.Network([gn.Dense(3, "relu"), gn.Dense(1, "sigmoid")], input_dim=2, seed=0)
    X = np.array(values, dtype=input_dtype)
    proto = gn.export.to_onnx(net, input_dtype=input_dtype)
    out = run(proto, X)
    np.testing.assert_allclose(out["probabilities"][:, 1], net.predict_proba(
        X.astype(float))[:, 0], rtol=1e-12)


def test_the_readmes_onnxruntime_snippet_runs_on_the_export_it_shows(tmp_path):
    """The README's three lines, as written, on `glassnet export ... --dtype float32`."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    snippet = re.search(r"and to run it.*?```python\n(.*?)```", readme, re.S).group(1)
    assert 'session.run(None, {"X": X.astype("float32")})' in snippet
    net = gn.Network([gn.Dense(4, "relu"), gn.Dense(1, "sigmoid")], input_dim=3, seed=0)
    gn.save(net, tmp_path / "m.safetensors")
    result = subprocess.run([sys.executable, "-m", "glassnet", "export",
                             str(tmp_path / "m.safetensors"), str(tmp_path / "cats.onnx"),
                             "--dtype", "float32"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    X = np.random.default_rng(0).normal(size=(5, 3))
    scope = {"X": X}
    exec(snippet.replace('"cats.onnx"', repr(str(tmp_path / "cats.onnx"))), scope)
    np.testing.assert_allclose(scope["probabilities"][:, 1], net.predict_proba(X)[:, 0],
                               rtol=1e-5)
