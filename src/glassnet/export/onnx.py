"""ONNX export: a glassnet network (or a fitted estimator, or a scaler + estimator pipeline) as
an ONNX graph that onnxruntime, a C++ service, a phone or a browser can run.

The graph follows what skl2onnx writes for scikit-learn's MLPs with ``zipmap=False``, so tools
that consume those work unchanged:

- input ``X``, shape ``[N, n_features]``;
- a classifier: ``label`` (``[N]``, the class labels themselves: int64 indices, or the
  estimator's labels when they are strings or other integers) and ``probabilities``
  (``[N, n_classes]``; two columns for a sigmoid head, as ``predict_proba`` gives);
  multi-label: ``label`` ``[N, n_labels]`` of 0/1 and ``probabilities``;
- a regressor (any other head): ``variable``, ``[N, n_outputs]``.

Each ``Dense`` layer is one ``Gemm`` and its activation; Dropout layers vanish (inference is
the identity); GELU and SiLU, which opset 17 lacks, are built from primitive ops with the same
formulas as ``glassnet.activations``. The opset and IR version are set explicitly, so older
runtimes load the file, and the model's classes, feature names and glassnet version go into
``metadata_props``. Needs the ``onnx`` package (``pip install glassnet[onnx]``); glassnet
never needs it to train or predict.
"""

from __future__ import annotations

import json
import math

import numpy as np

__all__ = ["to_onnx", "needs_skl2onnx"]

#: the oldest opset whose Softmax works along one axis (13), the default, and the newest that
#: onnxruntime 1.18 (the oldest glassnet tests with) reads
MIN_OPSET, DEFAULT_OPSET, MAX_OPSET = 13, 17, 21


def to_onnx(model, *, dtype=None, opset: int = DEFAULT_OPSET, feature_names=None,
            input_dtype=None):
    """The ``onnx.ModelProto`` that ``export_onnx`` writes, checked."""
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'glassnet[onnx]'") \
            from None
    from .._checks import check_dtype, check_int
    from ..network import Network
    from ..recipe import Model
    from ..version import VERSION

    opset = check_int(opset, "opset", low=MIN_OPSET)
    if opset > MAX_OPSET:
        raise ValueError(f"opset must be at most {MAX_OPSET} (the newest onnxruntime reads); "
                         f"got {opset}")
    if isinstance(model, Network) and (getattr(model, "metadata", None) or {}).get(
            "preprocessing") is not None:
        model = Model.from_network(model)   # a model file's network: its whole recipe
    if isinstance(model, Network) and not model.built:
        raise ValueError("cannot export a network that is not built: fit it first")
    if isinstance(model, Model):
        net, kind, classes, recipe = model.network, "recipe", None, model
        scalers, estimator = [], model.network
    else:
        recipe = None
        scalers, estimator = _split_pipeline(model)
        net, kind, classes = _describe(estimator)
    if not net.built:
        raise ValueError("cannot export a network that is not built: fit it first")
    if classes is not None and len(classes) != (2 if net.output_dim == 1 else net.output_dim):
        raise ValueError(f"the model names {len(classes)} classes but its network has "
                         f"{net.output_dim} outputs; its class metadata is damaged")
    if feature_names is not None and (isinstance(feature_names, (str, bytes)) or not all(
            isinstance(n, str) for n in np.asarray(feature_names, dtype=object).ravel())):
        raise TypeError(f"feature_names must be a list of strings; got {feature_names!r}")
    dtype = net.dtype if dtype is None else check_dtype(dtype)
    builder = _Graph(dtype)
    if recipe is not None:
        inputs, x = builder.recipe_inputs(recipe.preprocessor)
    else:
        inputs, x = builder.plain_input(net.input_dim, input_dtype)
    for scaler in scalers:
        x = builder.scaler(x, scaler)
    for i, layer in enumerate(net.layers):
        if hasattr(layer, "W"):              # Dense; Dropout is the identity at inference
            x = builder.dense(x, layer, i)
    if recipe is not None:
        outputs = builder.recipe_outputs(x, recipe.target)
        kind = "regressor" if recipe.target.regression else "classifier"
        classes = recipe.target.classes
    else:
        outputs = builder.outputs(x, kind, classes, net.output_dim)

    graph = onnx.helper.make_graph(builder.nodes, "glassnet", inputs, outputs,
                                   builder.initializers)
    imports = [onnx.helper.make_opsetid("", opset)]
    if builder.uses_ml:
        imports.append(onnx.helper.make_opsetid("ai.onnx.ml", 2))
    proto = onnx.helper.make_model(graph, producer_name="glassnet", producer_version=VERSION,
                                   opset_imports=imports, ir_version=_ir_version(opset))
    names = feature_names if feature_names is not None else \
        recipe.preprocessor.names if recipe is not None else \
        getattr(estimator, "feature_names_in_", None)
    if names is None and scalers:
        names = getattr(scalers[0], "feature_names_in_", None)
    meta = {"glassnet_version": VERSION, "kind": kind,
            "architecture": json.dumps(net.get_config())}
    if classes is not None:
        meta["classes"] = json.dumps(_plain_list(classes))
    if names is not None:
        meta["feature_names"] = json.dumps([str(n) for n in names])
    onnx.helper.set_model_props(proto, meta)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def needs_skl2onnx(model) -> bool:
    """Whether ``model`` is a pipeline with a step glassnet does not convert itself (anything
    but StandardScaler and MinMaxScaler before the estimator)."""
    steps = getattr(model, "steps", None)
    if steps is None:
        return False
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    return any(not isinstance(step, (StandardScaler, MinMaxScaler)) and step not in (
        "passthrough", None) for _, step in steps[:-1])


def _ir_version(opset: int) -> int:
    """The IR version that came with ``opset``: the oldest a runtime for that opset reads."""
    import onnx

    versions = [ir for _, ir, ops, *_ in onnx.helper.VERSION_TABLE if ops >= opset]
    return min(versions) if versions else onnx.IR_VERSION


def _plain_list(values):
    return [v.item() if hasattr(v, "item") else v for v in np.asarray(values).tolist()]


def _split_pipeline(model):
    """``(scalers, estimator)`` from a Pipeline of scalers and one glassnet model."""
    steps = getattr(model, "steps", None)
    if steps is None:
        return [], model
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    *first, (_, last) = steps
    scalers = [step for _, step in first if step != "passthrough" and step is not None]
    for step in scalers:
        if not isinstance(step, (StandardScaler, MinMaxScaler)):
            raise TypeError(f"a pipeline step {type(step).__name__} cannot be exported: only "
                            "StandardScaler and MinMaxScaler before the glassnet estimator")
    return scalers, last


def _describe(model):
    """``(network, kind, classes)``: kind is "classifier", "multilabel" or "regressor";
    classes are the labels ``label`` gives (None for class indices or a regressor)."""
    from ..network import Network

    if isinstance(model, Network):
        head = model.layers[-1].activation.name
        if head not in ("sigmoid", "softmax"):
            return model, "regressor", None
        if head == "sigmoid" and model.output_dim > 1:
            return model, "multilabel", None
        classes = (getattr(model, "metadata", None) or {}).get("classes")
        return model, "classifier", classes
    net = getattr(model, "network_", None)
    if net is None:
        raise TypeError(f"cannot export {type(model).__name__}: pass a glassnet Network, a "
                        "fitted NeuralNetClassifier or NeuralNetRegressor, or a Pipeline "
                        "ending in one")
    if not hasattr(model, "classes_"):
        return net, "regressor", None
    if getattr(model, "_multilabel", False):
        return net, "multilabel", None
    classes = model.classes_
    if classes.dtype.kind in "iu" and np.array_equal(classes, np.arange(len(classes))):
        classes = None              # the indices are the labels
    return net, "classifier", classes


class _Graph:
    """Nodes and initialisers, with fresh names."""

    def __init__(self, dtype):
        import onnx

        self.onnx, self.dtype = onnx, np.dtype(dtype)
        self.elem = onnx.helper.np_dtype_to_tensor_dtype(self.dtype)
        self.nodes, self.initializers, self._count = [], [], 0
        self.uses_ml = False          # the ai.onnx.ml domain (LabelEncoder), for text columns

    def name(self, stem):
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, value, stem, dtype=None):
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        name = self.name(stem)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op, inputs, stem=None, output=None, domain=None, **attrs):
        output = output or self.name(stem or op.lower())
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], domain=domain,
                                                     **attrs))
        return output

    def plain_input(self, width, input_dtype=None):
        """The input ``X [N, width]``: of the graph's float type, or ``input_dtype`` (int64,
        bool, the other float) cast to it first. Returns ``(inputs, x)``."""
        kind = self.dtype if input_dtype is None else np.dtype(input_dtype)
        if kind not in (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64),
                        np.dtype(bool)):
            raise ValueError(f"input_dtype must be float32, float64, int64 or bool; got "
                             f"{input_dtype!r}")
        elem = self.onnx.helper.np_dtype_to_tensor_dtype(kind)
        inputs = [self.onnx.helper.make_tensor_value_info("X", elem, ["N", width])]
        if kind == self.dtype:
            return inputs, "X"
        return inputs, self.node("Cast", ["X"], "X_cast", to=self.elem)

    # -------------------------------------------------------------- the recipe
    def recipe_inputs(self, pre):
        """The raw columns in: one input ``X [N, n_columns]`` when every column is numeric,
        else one input per column named by it (``[N, 1]``; strings for text columns). The
        preprocessing as ``columns.Preprocessor`` computes it: a NaN is imputed with the
        median (and flagged where the column has an indicator), numbers scaled, text one-hot
        encoded with the unknown input last. Returns ``(inputs, x)``, ``x [N, n_inputs]``."""
        helper, columns = self.onnx.helper, pre.columns
        if pre.all_numeric:
            inputs = [helper.make_tensor_value_info("X", self.elem, ["N", len(columns)])]
            return inputs, self._numeric(["X"], columns)
        inputs, pieces = [], []
        for c in columns:
            text = c["kind"] == "categorical"
            inputs.append(helper.make_tensor_value_info(
                c["name"], self.onnx.TensorProto.STRING if text else self.elem, ["N", 1]))
            pieces.append(self._onehot(c["name"], c["categories"]) if text
                          else self._numeric([c["name"]], [c]))
        return inputs, self.node("Concat", pieces, "inputs", axis=1)

    def _numeric(self, x, columns):
        """``(x - offset) / scale`` after NaN -> median, each indicator after its value."""
        x = x[0]
        missing = self.node("IsNaN", [x])
        filled = self.node("Where", [missing, self.const([c["median"] for c in columns],
                                                         "median"), x])
        values = self.node("Div", [self.node("Sub", [filled, self.const(
            [c["offset"] for c in columns], "offset")]), self.const(
            [c["scale"] for c in columns], "scale")], "scaled")
        flagged = [j for j, c in enumerate(columns) if c["indicator"]]
        if not flagged:
            return values
        flags = self.node("Gather", [self.node("Cast", [missing], to=self.elem),
                                     self.const(flagged, "flagged", np.int64)], axis=1)
        # [values | indicators] reordered so each indicator follows its value.
        order, k = [], len(columns)
        for j in range(len(columns)):
            order.append(j)
            if j in flagged:
                order.append(k + flagged.index(j))
        both = self.node("Concat", [values, flags], axis=1)
        return self.node("Gather", [both, self.const(order, "order", np.int64)], axis=1)

    def _onehot(self, x, categories):
        """A text column ``[N, 1]`` as ``[N, len(categories) + 1]``: a 1 at its category, or
        in the last (unknown) input for a category never seen, a rare one, or a missing
        cell (missing tokens are never categories)."""
        self.uses_ml = True
        index = self.node("LabelEncoder", [x], domain="ai.onnx.ml",
                          keys_strings=list(categories) or ["\x00"],
                          values_int64s=list(range(len(categories))) or [-1],
                          default_int64=-1)
        # -1 (unknown) -> the last position; Equal against 0..K gives the one-hot row.
        known = self.node("Greater", [index, self.const(-1, "minus_one", np.int64)])
        position = self.node("Where", [known, index, self.const(len(categories), "unknown",
                                                                np.int64)])
        hot = self.node("Equal", [position, self.const(
            np.arange(len(categories) + 1)[None, :], "positions", np.int64)])
        return self.node("Cast", [hot], "onehot", to=self.elem)

    def recipe_outputs(self, p, target):
        """``label`` (class names) and ``probabilities``, or ``variable`` un-scaled."""
        helper, elem = self.onnx.helper, self.elem
        if target.regression:
            scaled = self.node("Mul", [p, self.const(target.scale, "target_scale")])
            self.node("Add", [scaled, self.const(target.offset, "target_offset")],
                      output="variable")
            return [helper.make_tensor_value_info("variable", elem, ["N", 1])]
        return self.outputs(p, "classifier", list(target.classes), len(target.classes)
                            if len(target.classes) > 2 else 1)

    # -------------------------------------------------------------- layers
    def scaler(self, x, scaler):
        """StandardScaler: (x - mean) / scale; MinMaxScaler: x * scale + min, clipped to its
        feature_range when ``clip=True``."""
        if hasattr(scaler, "data_min_"):
            x = self.node("Mul", [x, self.const(scaler.scale_, "minmax_scale")])
            x = self.node("Add", [x, self.const(scaler.min_, "minmax_min")], "scaled")
            if getattr(scaler, "clip", False):
                low, high = scaler.feature_range
                x = self.node("Max", [x, self.const(low, "clip_low")])
                x = self.node("Min", [x, self.const(high, "clip_high")], "clipped")
            return x
        if getattr(scaler, "mean_", None) is not None:
            x = self.node("Sub", [x, self.const(scaler.mean_, "mean")])
        if getattr(scaler, "scale_", None) is not None:
            x = self.node("Div", [x, self.const(scaler.scale_, "scale")], "scaled")
        return x

    def dense(self, x, layer, index):
        """Z = X @ W + b (one Gemm), then the activation."""
        z = self.node("Gemm", [x, self.const(layer.W, f"W{index}"),
                               self.const(layer.b, f"b{index}")], f"Z{index}")
        return self.activation(z, layer.activation, index)

    def activation(self, z, act, index):
        name, out = act.name, f"A{index}"
        if name == "identity":
            return z
        if name in ("relu", "sigmoid", "tanh", "exp"):
            op = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "exp": "Exp"}[name]
            return self.node(op, [z], output=self.name(out))
        if name == "softmax":
            return self.node("Softmax", [z], output=self.name(out), axis=-1)
        if name == "leaky_relu":     # max(z, a z), as glassnet computes it
            scaled = self.node("Mul", [z, self.const(act.negative_slope, "slope")])
            return self.node("Max", [z, scaled], output=self.name(out))
        if name == "elu":            # z > 0 ? z : alpha (exp(min(z, 0)) - 1)
            negative = self.node("Min", [z, self.const(0.0, "zero")])
            negative = self.node("Sub", [self.node("Exp", [negative]), self.const(1.0, "one")])
            negative = self.node("Mul", [negative, self.const(act.alpha, "alpha")])
            positive = self.node("Greater", [z, self.const(0.0, "zero")])
            return self.node("Where", [positive, z, negative], output=self.name(out))
        if name == "gelu":           # 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))
            cube = self.node("Mul", [self.node("Mul", [z, z]), z])
            inner = self.node("Add", [z, self.node("Mul", [cube, self.const(0.044715, "c")])])
            inner = self.node("Mul", [inner, self.const(math.sqrt(2 / math.pi), "k")])
            gate = self.node("Add", [self.node("Tanh", [inner]), self.const(1.0, "one")])
            half = self.node("Mul", [z, self.const(0.5, "half")])
            return self.node("Mul", [half, gate], output=self.name(out))
        if name == "silu":           # z sigmoid(z)
            return self.node("Mul", [z, self.node("Sigmoid", [z])], output=self.name(out))
        raise TypeError(f"activation {act!r} has no ONNX form; export supports glassnet's own "
                        "activations")

    # -------------------------------------------------------------- outputs
    def outputs(self, p, kind, classes, n_out):
        helper, elem = self.onnx.helper, self.elem
        if kind == "regressor":
            self.node("Identity", [p], output="variable")
            return [helper.make_tensor_value_info("variable", elem, ["N", n_out])]
        if kind == "multilabel":
            self.node("Identity", [p], output="probabilities")
            above = self.node("Greater", [p, self.const(0.5, "threshold")])
            self.node("Cast", [above], output="label", to=self.onnx.TensorProto.INT64)
            return [helper.make_tensor_value_info("label", self.onnx.TensorProto.INT64,
                                                  ["N", n_out]),
                    helper.make_tensor_value_info("probabilities", elem, ["N", n_out])]
        n_classes = 2 if n_out == 1 else n_out
        if n_out == 1:               # [1 - p, p], as predict_proba gives
            complement = self.node("Sub", [self.const(1.0, "one"), p])
            self.node("Concat", [complement, p], output="probabilities", axis=1)
        else:
            self.node("Identity", [p], output="probabilities")
        # ArgMax keeps the first maximum: p = 0.5 is class 0, as p > 0.5 decides in glassnet.
        index = self.node("ArgMax", ["probabilities"], "index", axis=1, keepdims=0)
        label_type = self.onnx.TensorProto.INT64
        if classes is None:
            self.node("Identity", [index], output="label")
        else:
            classes = np.asarray(classes)
            if classes.dtype.kind in "iub":
                table = self.const(classes.astype(np.int64), "classes", np.int64)
            elif classes.dtype.kind == "f":
                table = self.const(classes, "classes", np.float64)
                label_type = self.onnx.TensorProto.DOUBLE
            else:
                table = self.const(classes.astype(str).astype(object), "classes", object)
                label_type = self.onnx.TensorProto.STRING
            self.node("Gather", [table, index], output="label", axis=0)
        return [helper.make_tensor_value_info("label", label_type, ["N"]),
                helper.make_tensor_value_info("probabilities", elem, ["N", n_classes])]
