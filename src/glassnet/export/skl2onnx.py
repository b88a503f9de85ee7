"""glassnet's estimators as citizens of skl2onnx: a registered converter and shape calculator.

``glassnet.sklearn.register_skl2onnx()`` (automatic when skl2onnx is imported before
``glassnet.sklearn``; ``export_onnx`` registers what it converts) tells skl2onnx how to convert
``NeuralNetClassifier`` and ``NeuralNetRegressor``, so that
``skl2onnx.convert_sklearn`` / ``skl2onnx.to_onnx`` convert any pipeline scikit-learn's own
converters cover with a glassnet estimator in it (a ``ColumnTransformer`` of imputers,
encoders and scalers, say). The estimator's part is glassnet's own graph (``onnx.to_onnx``),
inlined: its input renamed to the variable skl2onnx feeds it, a ``Cast`` first when that is not
the graph's float type, its outputs to the ``label`` and ``probabilities`` (or ``variable``)
skl2onnx expects; the classifier option ``zipmap`` works as for MLPClassifier (``nocl``, the
class index as the label, is not offered: the label is always the class itself).
Needs ``pip install 'glassnet[onnx]' skl2onnx``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["register", "convert_pipeline"]

_REGISTERED: set = set()


def register(classifier=None, regressor=None) -> None:
    """Register estimator classes with skl2onnx (each once). ``glassnet.sklearn`` passes its
    ``NeuralNetClassifier`` and ``NeuralNetRegressor`` (``glassnet.sklearn.register_skl2onnx``);
    subclasses may be registered the same way."""
    try:
        from skl2onnx import update_registered_converter
        from skl2onnx.common.shape_calculator import (
            calculate_linear_classifier_output_shapes,
            calculate_linear_regressor_output_shapes,
        )
    except ImportError:
        raise ImportError("converting pipelines needs skl2onnx: pip install skl2onnx") \
            from None
    if classifier is not None and classifier not in _REGISTERED:
        update_registered_converter(classifier, f"Glassnet{classifier.__name__}",
                                    calculate_linear_classifier_output_shapes, _convert,
                                    options={"zipmap": [True, False, "columns"],
                                             "nocl": [False]})
        _REGISTERED.add(classifier)
    if regressor is not None and regressor not in _REGISTERED:
        update_registered_converter(regressor, f"Glassnet{regressor.__name__}",
                                    calculate_linear_regressor_output_shapes, _convert)
        _REGISTERED.add(regressor)


def convert_pipeline(model, X, opset: int):
    """A pipeline with steps glassnet does not convert itself, converted by skl2onnx with its
    estimator registered; the classifier's probabilities as an array (``zipmap=False``). ``X``:
    rows to read the input types from; numbers go in as float32 (onnxruntime runs skl2onnx's
    imputers and scalers on floats)."""
    if X is None:
        raise ValueError("exporting a pipeline with a ColumnTransformer, imputer or encoder "
                         "goes through skl2onnx, which reads the input types from data: pass "
                         "X=some_rows (a DataFrame for named columns)")
    from skl2onnx import to_onnx as skl_to_onnx

    last = model.steps[-1][1]
    classifier = hasattr(last, "classes_")
    register(**{"classifier" if classifier else "regressor": type(last)})
    options = {id(last): {"zipmap": False}} if classifier else None
    if hasattr(X, "iloc"):
        sample = X.iloc[:1].astype({c: np.float32 for c in X.columns
                                    if X[c].dtype == np.float64})
    else:
        sample = np.asarray(X)[:1]
        sample = sample.astype(np.float32) if sample.dtype == np.float64 else sample
    return skl_to_onnx(model, sample, options=options, target_opset=opset)


def _convert(scope, operator, container) -> None:
    """Inline glassnet's graph of ``operator.raw_operator`` into skl2onnx's ``container``."""
    import onnx
    from onnx import helper, numpy_helper

    from .onnx import MAX_OPSET, to_onnx

    model = operator.raw_operator
    if getattr(model, "_multilabel", False):
        raise NotImplementedError("a multi-label NeuralNetClassifier has no skl2onnx form "
                                  "(skl2onnx's classifier outputs are one label per row); "
                                  "export it alone with glassnet.export_onnx")
    source = operator.inputs[0]
    elem = source.type.to_onnx_type().tensor_type.elem_type
    dtype = np.float32 if elem != onnx.TensorProto.DOUBLE else np.float64
    opset = max(13, min(container.target_opset or 17, MAX_OPSET))
    graph = to_onnx(model, dtype=dtype, opset=opset).graph
    prefix = scope.get_unique_variable_name(f"{operator.full_name}_")
    names = {"X": source.full_name}
    if elem not in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE):
        names["X"] = prefix + "X"
        container.add_node("Cast", [source.full_name], [names["X"]],
                           name=scope.get_unique_operator_name("Cast"),
                           to=helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
    outputs = ["label", "probabilities"] if len(operator.outputs) == 2 else ["variable"]
    for ours, theirs in zip(outputs, operator.outputs):
        names[ours] = theirs.full_name

    def rename(name):
        return names.setdefault(name, prefix + name) if name else name

    for tensor in graph.initializer:
        array = numpy_helper.to_array(tensor)
        container.add_initializer(rename(tensor.name), tensor.data_type, list(array.shape),
                                  array.ravel().tolist() if array.dtype != object
                                  else [v.encode() if isinstance(v, str) else v
                                        for v in array.ravel()])
    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        container.add_node(node.op_type, [rename(n) for n in node.input],
                           [rename(n) for n in node.output], op_domain=node.domain,
                           name=scope.get_unique_operator_name(node.op_type), **attrs)
