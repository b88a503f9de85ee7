"""Losses, each paired with the output activation it is computed from.

A cross-entropy takes the *logits* ``Z`` of the last layer, never probabilities: sigmoid + binary
cross-entropy and softmax + categorical cross-entropy are fused, so ``log(0)`` and ``exp``
overflow cannot happen, and the gradient at the output is the tutorials' ``dZ = A - Y``, averaged:
``(A - Y) / n_samples``. Mean squared error takes the output activations.

Averaging follows PyTorch's defaults: cross-entropies are summed over the outputs and averaged
over samples; MSE is averaged over every element. With ``sample_weight`` (shape ``(n_samples,)``)
the average over samples becomes ``sum(w_i * loss_i) / sum(w)``, so an integer weight is the same
as repeating the sample.
"""

from __future__ import annotations

import numpy as np

from ._kernels import row_max, row_sum
from .activations import Sigmoid

_SIGMOID = Sigmoid()

__all__ = ["Loss", "BinaryCrossentropy", "CategoricalCrossentropy", "MeanSquaredError",
           "HalfSquaredError", "PoissonLoss", "get", "NAMES", "class_indices"]


def class_indices(probabilities: np.ndarray) -> np.ndarray:
    """The predicted class of each row of ``probabilities (n_samples, n_outputs)``: the argmax
    of a softmax head, or ``p > 0.5`` for one sigmoid output. Shape ``(n_samples,)``, ints."""
    if probabilities.shape[1] > 1:
        return probabilities.argmax(axis=1)
    return (probabilities[:, 0] > 0.5).astype(np.intp)


class Loss:
    name: str = ""
    #: the output activation this loss is fused with, or None when it takes activations
    head: str | None = None
    #: whether the loss is a classification loss (has an accuracy)
    is_classification = False

    def prepare_targets(self, y, n_out: int, dtype) -> np.ndarray:
        """Check ``y`` and bring it to the layout ``value_and_grad`` expects."""
        raise NotImplementedError

    def value_and_grad(self, out, y, sample_weight=None, grad=None, scale=1.0):
        """Loss (a scalar of ``out``'s dtype) and its gradient w.r.t. ``out``, shape
        ``(n_samples, n_out)``, multiplied by ``scale``.

        ``grad`` is an optional buffer of ``out``'s shape to write the gradient into. The
        training loop passes plain SGD's learning rate as ``scale``: it costs nothing here
        (the gradient is scaled by ``1 / n_samples`` anyway) and saves a pass over every
        parameter in the update.
        """
        raise NotImplementedError

    def value(self, out, y, sample_weight=None) -> float:
        return float(self.value_and_grad(out, y, sample_weight)[0])

    def per_sample(self, out, y) -> np.ndarray:
        """Each sample's loss, shape ``(..., n_samples)``, for ``out`` of shape
        ``(..., n_samples, n_out)``: the leading axes let many steps' outputs be scored in one
        call. The loss is the (weighted) mean of these."""
        raise NotImplementedError

    def correct(self, out, y) -> np.ndarray:
        """Whether each sample is classified right, booleans of shape ``(..., n_samples)``
        (classification losses only)."""
        raise NotImplementedError

    def n_correct(self, out, y) -> int:
        """How many samples ``out`` classifies right (classification losses only)."""
        return int(self.correct(out, y).sum())

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _weights_and_norm(sample_weight, n):
    """Per-sample weights as a column, and the denominator of the average."""
    if sample_weight is None:
        return None, n
    total = float(sample_weight.sum())
    # A batch whose samples all weigh 0 contributes nothing: loss and gradient 0, not 0 / 0.
    return sample_weight[:, None], total if total > 0 else 1.0


def _weighted_mean_grad(grad, w, norm, scale):
    """Turn per-element gradients into ``scale`` times those of the (weighted) mean:
    ``grad * w * scale / norm``."""
    if w is not None:
        grad *= w
    grad *= scale / norm
    return grad


def _as_2d_targets(y, n_out, dtype, what):
    y = np.asarray(y)
    if y.ndim == 1 and n_out == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[1] != n_out:
        raise ValueError(
            f"{what} targets must have shape (n_samples, {n_out})"
            + (" or (n_samples,)" if n_out == 1 else "")
            + f" to match the network's {n_out} output unit(s); got shape {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.number) and y.dtype != bool:
        raise TypeError(f"{what} targets must be numeric; got dtype {y.dtype}")
    y = y.astype(dtype, copy=False)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{what} targets contain NaN or infinity; remove or impute them")
    return y


def _softplus(z):
    """``log(1 + exp(z))`` as ``max(z, 0) + log1p(exp(-|z|))``, a new array: exact, never
    overflows, and about half the cost of ``logaddexp(0, z)``."""
    softplus = np.abs(z)
    np.negative(softplus, out=softplus)
    np.exp(softplus, out=softplus)
    np.log1p(softplus, out=softplus)
    softplus += np.maximum(z, 0)
    return softplus


class BinaryCrossentropy(Loss):
    """``-[y log p + (1 - y) log(1 - p)]`` with ``p = sigmoid(z)``, on logits ``z``.

    Written as ``softplus(z) - y * z``, which is exact and finite for any finite ``z``.
    Targets are 0/1 (or probabilities), shape ``(n_samples, n_out)``; several outputs are
    independent labels (multi-label).
    """

    name, head, is_classification = "binary_crossentropy", "sigmoid", True

    def prepare_targets(self, y, n_out, dtype):
        y = _as_2d_targets(y, n_out, dtype, "binary_crossentropy")
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError(
                "binary_crossentropy targets must lie in [0, 1] (class labels 0/1); "
                f"got values from {y.min()} to {y.max()}"
            )
        return y

    def value_and_grad(self, out, y, sample_weight=None, grad=None, scale=1.0):
        w, norm = _weights_and_norm(sample_weight, out.shape[0])
        softplus = _softplus(out)
        if w is None:
            loss = (softplus.sum() - np.vdot(y, out)) / norm
        else:
            softplus -= y * out
            softplus *= w
            loss = softplus.sum() / norm
        # dL/dz = sigmoid(z) - y
        grad = _SIGMOID.forward(out, out=grad)
        grad -= y
        return loss, _weighted_mean_grad(grad, w, norm, scale)

    def per_sample(self, out, y):
        softplus = _softplus(out)
        softplus -= y * out
        return softplus.sum(axis=-1)

    def correct(self, out, y):
        # sigmoid(z) > 0.5 exactly when z > 0.
        return ((out > 0) == (y > 0.5)).all(axis=-1)


class CategoricalCrossentropy(Loss):
    """``-log softmax(z)[y]`` on logits ``z``, shape ``(n_samples, n_classes)``.

    Targets are integer class indices ``(n_samples,)`` or one-hot / probability rows
    ``(n_samples, n_classes)``.
    """

    name, head, is_classification = "categorical_crossentropy", "softmax", True

    def prepare_targets(self, y, n_out, dtype):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == n_out:
            return _as_2d_targets(y, n_out, dtype, "categorical_crossentropy")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(
                "categorical_crossentropy targets must be class indices of shape (n_samples,) "
                f"or one-hot rows of shape (n_samples, {n_out}); got shape {y.shape}"
            )
        if y.size and not np.issubdtype(y.dtype, np.integer) and (
                not np.issubdtype(y.dtype, np.number) or not np.all(np.mod(y, 1) == 0)):
            raise TypeError(
                f"categorical_crossentropy class indices must be integers; got dtype {y.dtype}")
        labels = y.astype(np.intp)
        if labels.size and (labels.min() < 0 or labels.max() >= n_out):
            raise ValueError(
                f"class indices must lie in [0, {n_out - 1}] for a network with {n_out} output "
                f"units; got values from {labels.min()} to {labels.max()}"
            )
        return labels

    def value_and_grad(self, out, y, sample_weight=None, grad=None, scale=1.0):
        n = out.shape[0]
        w, norm = _weights_and_norm(sample_weight, n)
        # log-sum-exp with the row maximum taken out: exp() never sees a positive argument.
        shifted = np.subtract(out, row_max(out), out=grad)
        probs = np.exp(shifted)
        sum_exp = row_sum(probs)
        log_norm = np.log(sum_exp)
        if y.ndim == 1:
            rows = np.arange(n)
            per_sample = log_norm[:, 0] - shifted[rows, y]
        else:
            row_mass = y.sum(axis=1, keepdims=True)
            per_sample = log_norm[:, 0] * row_mass[:, 0] - (shifted * y).sum(axis=1)
        loss = (per_sample @ sample_weight if w is not None else per_sample.sum()) / norm
        # dL/dz = softmax(z) - y (times the row's mass, 1 for one-hot or probability rows)
        grad = np.divide(probs, sum_exp, out=shifted)
        if y.ndim == 1:
            grad[rows, y] -= 1
        else:
            grad *= row_mass
            grad -= y
        return loss, _weighted_mean_grad(grad, w, norm, scale)

    def per_sample(self, out, y):
        shifted = out - out.max(axis=-1, keepdims=True)
        log_norm = np.log(np.exp(shifted).sum(axis=-1))
        if y.ndim == 1:
            index = np.broadcast_to(y[:, None], shifted.shape[:-1] + (1,))
            return log_norm - np.take_along_axis(shifted, index, axis=-1)[..., 0]
        return log_norm * y.sum(axis=-1) - (shifted * y).sum(axis=-1)

    def correct(self, out, y):
        truth = y if y.ndim == 1 else y.argmax(axis=-1)
        return out.argmax(axis=-1) == truth


class MeanSquaredError(Loss):
    """``mean((a - y)^2)`` over every element, on the output activations ``a``."""

    name, head, is_classification = "mse", None, False

    def prepare_targets(self, y, n_out, dtype):
        return _as_2d_targets(y, n_out, dtype, "mse")

    def value_and_grad(self, out, y, sample_weight=None, grad=None, scale=1.0):
        w, norm = _weights_and_norm(sample_weight, out.shape[0])
        norm *= out.shape[1]
        diff = np.subtract(out, y, out=grad)
        loss = self._mean(diff * diff, sample_weight, norm)
        return loss, _weighted_mean_grad(diff, w, norm, 2.0 * scale)

    @staticmethod
    def _mean(squares, sample_weight, norm):
        """The loss from the squared errors ``(n_samples, n_out)``: their (weighted) sum over
        ``norm``. A subclass may average in another order."""
        if sample_weight is not None:
            squares *= sample_weight[:, None]
        return squares.sum() / norm

    def per_sample(self, out, y):
        diff = out - y
        return (diff * diff).mean(axis=-1)


class HalfSquaredError(MeanSquaredError):
    """``mean((a - y)^2) / 2``: scikit-learn's regression loss (its ``loss_curve_`` values),
    whose gradient ``(a - y) / (n_samples n_out)`` is half of ``mse``'s."""

    name = "half_squared_error"

    def value_and_grad(self, out, y, sample_weight=None, grad=None, scale=1.0):
        loss, grad = super().value_and_grad(out, y, sample_weight, grad, 0.5 * scale)
        return 0.5 * loss, grad

    def per_sample(self, out, y):
        return 0.5 * super().per_sample(out, y)


class PoissonLoss(Loss):
    """Half the Poisson deviance, ``mean(y log(y / mu) - y + mu)`` with ``mu = exp(z)``, on the
    logits ``z`` of an ``exp`` head: stable (no log of a rate that underflows), and its
    gradient is ``(mu - y) / (n_samples n_out)``. Targets are counts or rates ``>= 0``."""

    name, head = "poisson", "exp"

    def prepare_targets(self, y, n_out, dtype):
        y = _as_2d_targets(y, n_out, dtype, "poisson")
        if y.size and y.min() < 0:
            raise ValueError(f"poisson targets must be >= 0 (counts or rates); got {y.min()}")
        return y

    def value_and_grad(self, out, y, sample_weight=None, grad=None, scale=1.0):
        w, norm = _weights_and_norm(sample_weight, out.shape[0])
        norm *= out.shape[1]
        per_element = self._per_element(out, y)
        if w is not None:
            per_element *= w
        loss = per_element.sum() / norm
        grad = np.exp(out, out=grad)        # d/dz (exp(z) - y z) = exp(z) - y
        grad -= y
        return loss, _weighted_mean_grad(grad, w, norm, scale)

    @staticmethod
    def _per_element(out, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1)), 0.0)
        return ylogy - y * out - y + np.exp(out)

    def per_sample(self, out, y):
        return self._per_element(out, y).mean(axis=-1)


_REGISTRY: dict[str, type[Loss]] = {
    cls.name: cls for cls in (BinaryCrossentropy, CategoricalCrossentropy, MeanSquaredError,
                              HalfSquaredError, PoissonLoss)
}
_ALIASES = {"bce": "binary_crossentropy", "log_loss": "binary_crossentropy",
            "cross_entropy": "categorical_crossentropy", "mean_squared_error": "mse"}
NAMES = tuple(_REGISTRY)

#: the loss each output activation implies when none is named
DEFAULT_FOR_HEAD = {"sigmoid": "binary_crossentropy", "softmax": "categorical_crossentropy",
                    "exp": "poisson"}


def get(loss: str | Loss) -> Loss:
    """Resolve a loss by name (``"binary_crossentropy"``, ...) or pass an instance through."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str):
        key = _ALIASES.get(loss.lower(), loss.lower())
        if key in _REGISTRY:
            return _REGISTRY[key]()
    raise ValueError(f"unknown loss {loss!r}; valid losses are: {', '.join(NAMES)}")
