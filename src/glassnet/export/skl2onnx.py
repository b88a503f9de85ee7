"""glassnet's estimators as citizens of skl2onnx: a registered converter and shape calculator.

``register()`` (called by ``export_onnx`` when it needs skl2onnx, or by you) tells skl2onnx how
to convert ``NeuralNetClassifier`` and ``NeuralNetRegressor``, so that
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

__all__ = ["register"]

_REGISTERED = []


def register() -> None:
    """Register both estimators with skl2onnx (once; later calls do nothing)."""
    if _REGISTERED:
        return
    try:
        from skl2onnx import update_registered_converter
        from skl2onnx.common.shape_calculator import (
            calculate_linear_classifier_output_shapes,
            calculate_linear_regressor_output_shapes,
        )
    except ImportError:
        raise ImportError("converting pipelines needs skl2onnx: pip install skl2onnx") \
            from None
    from ..sklearn import NeuralNetClassifier, NeuralNetRegressor

    update_registered_converter(NeuralNetClassifier, "GlassnetNeuralNetClassifier",
                                calculate_linear_classifier_output_shapes, _convert,
                                options={"zipmap": [True, False, "columns"],
                                         "nocl": [False]})
    update_registered_converter(NeuralNetRegressor, "GlassnetNeuralNetRegressor",
                                calculate_linear_regressor_output_shapes, _convert)
    _REGISTERED.append(True)


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
