"""Optimizers over the network's flat parameter buffer, in order of increasing complexity.

Each one implements only ``_update(params, grad, lr)``, a handful of whole-array operations on
1-D arrays; the base class does the rest (learning-rate schedule, L2 weight decay, state).
State (momentum, moment estimates) lives in the optimizer, never on the layers.

``weight_decay`` is classic L2 regularisation: ``grad += weight_decay * W`` for the weights
(not the biases), as in PyTorch's SGD. ``AdamW`` decays the weights directly instead
(Loshchilov & Hutter, decoupled weight decay).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .schedules import Schedule, constant

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "get", "NAMES"]


def axpy(a: float, x: np.ndarray, y: np.ndarray) -> None:
    """``y += a * x`` in place; ``x`` is overwritten (it holds ``a * x`` afterwards).

    Two passes and no temporary. (SciPy's BLAS ``axpy`` would be one pass, but it brings a
    second OpenBLAS thread pool that fights NumPy's for the cores and slows every matrix
    product: measured 2x slower steps on 2 cores.)
    """
    x *= a
    y += x


def _check_number(value, name, low=0.0, low_inclusive=True, high=None):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = value >= low if low_inclusive else value > low
        if high is not None:
            ok = ok and value < high
    if not ok:
        bound = f"{'>=' if low_inclusive else '>'} {low}" + (f" and < {high}" if high else "")
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)


class Optimizer:
    """Base class. ``learning_rate`` is a float or a schedule ``epoch -> learning rate``."""

    name = ""

    def __init__(self, learning_rate=0.01, weight_decay: float = 0.0):
        if isinstance(learning_rate, Schedule):
            self.schedule = learning_rate
        else:
            self.schedule = constant(_check_number(learning_rate, "learning_rate", 0.0, False))
        self.weight_decay = _check_number(weight_decay, "weight_decay")
        self.learning_rate = self.schedule(0)
        self.iterations = 0
        self.state: dict[str, np.ndarray] = {}

    def set_epoch(self, epoch: int) -> None:
        """Set the learning rate the schedule gives for ``epoch`` (0-based)."""
        self.learning_rate = self.schedule(epoch)

    def _slot(self, name, like):
        """A state array (zeros at first), created on the first step."""
        slot = self.state.get(name)
        if slot is None or slot.shape != like.shape or slot.dtype != like.dtype:
            slot = self.state[name] = np.zeros_like(like)
        return slot

    def step(self, params: np.ndarray, grad: np.ndarray, n_weights: int | None = None) -> None:
        """Update ``params`` in place from ``grad`` (both 1-D). ``grad`` may be modified.

        ``n_weights``: the length of the weight prefix of the buffer that weight decay applies to
        (all of it when None).
        """
        if self.weight_decay:
            k = params.size if n_weights is None else n_weights
            grad[:k] += self.weight_decay * params[:k]
        self.iterations += 1
        self._update(params, grad, self.learning_rate)

    def _update(self, params, grad, lr):
        raise NotImplementedError

    def reset(self) -> None:
        self.state.clear()
        self.iterations = 0

    def get_config(self) -> dict:
        return {"name": self.name, "learning_rate": self.learning_rate,
                "weight_decay": self.weight_decay}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum, in PyTorch's form.

    ``v = momentum * v + g``; step along ``v`` (or ``g + momentum * v`` with Nesterov):
    ``params -= learning_rate * step``. With ``momentum=0`` it is the tutorials' plain
    ``W = W - learning_rate * dW``.
    """

    name = "sgd"

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        super().__init__(learning_rate, weight_decay)
        self.momentum = _check_number(momentum, "momentum", 0.0, True, 1.0)
        if nesterov and not self.momentum:
            raise ValueError("nesterov=True needs momentum > 0")
        self.nesterov = bool(nesterov)

    def _update(self, params, grad, lr):
        if self.momentum:
            v = self._slot("velocity", params)
            v *= self.momentum
            v += grad
            if self.nesterov:
                grad += self.momentum * v
            else:
                np.copyto(grad, v)  # grad is scratch space: the step along v
        axpy(-lr, grad, params)

    @property
    def plain(self) -> bool:
        """No momentum and no weight decay: the tutorials' ``W = W - learning_rate * dW``."""
        return not self.momentum and not self.weight_decay

    def step_scaled(self, params: np.ndarray, scaled_grad: np.ndarray) -> None:
        """The plain step from a gradient already multiplied by the learning rate:
        ``params -= scaled_grad``, one pass instead of ``step``'s two. Only for ``plain``."""
        self.iterations += 1
        params -= scaled_grad

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """``s = rho * s + (1 - rho) * g^2``; ``params -= lr * g / (sqrt(s) + eps)``."""

    name = "rmsprop"

    def __init__(self, learning_rate=0.001, rho: float = 0.9, epsilon: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(learning_rate, weight_decay)
        self.rho = _check_number(rho, "rho", 0.0, True, 1.0)
        self.epsilon = _check_number(epsilon, "epsilon", 0.0, False)

    def _update(self, params, grad, lr):
        s = self._slot("square_avg", params)
        s *= self.rho
        s += (1 - self.rho) * grad * grad
        denom = np.sqrt(s)
        denom += self.epsilon
        grad /= denom
        grad *= lr
        params -= grad

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adam(Optimizer):
    """Kingma & Ba 2015, with bias correction:
    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
    ``params -= lr * m_hat / (sqrt(v_hat) + eps)``.
    """

    name = "adam"

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(learning_rate, weight_decay)
        self.beta_1 = _check_number(beta_1, "beta_1", 0.0, True, 1.0)
        self.beta_2 = _check_number(beta_2, "beta_2", 0.0, True, 1.0)
        self.epsilon = _check_number(epsilon, "epsilon", 0.0, False)

    def _update(self, params, grad, lr):
        m, v = self._slot("m", params), self._slot("v", params)
        tmp = self._slot("scratch", params)
        t = self.iterations
        m *= self.beta_1
        np.multiply(grad, 1 - self.beta_1, out=tmp)
        m += tmp
        v *= self.beta_2
        np.multiply(grad, grad, out=tmp)
        tmp *= 1 - self.beta_2
        v += tmp
        # lr * m_hat / (sqrt(v_hat) + eps), with both bias corrections folded into scalars
        correction_2 = math.sqrt(1 - self.beta_2 ** t)
        np.sqrt(v, out=tmp)
        tmp *= 1 / correction_2
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= lr / (1 - self.beta_1 ** t)
        params -= tmp

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class AdamW(Adam):
    """Adam with decoupled weight decay: ``W -= lr * weight_decay * W`` before the Adam step,
    on the weights only (not biases), instead of adding ``weight_decay * W`` to the gradient.
    """

    name = "adamw"

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, weight_decay: float = 0.01):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay=0.0)
        self.decoupled_weight_decay = _check_number(weight_decay, "weight_decay")

    def step(self, params, grad, n_weights=None):
        if self.decoupled_weight_decay:
            k = params.size if n_weights is None else n_weights
            params[:k] *= 1 - self.learning_rate * self.decoupled_weight_decay
        super().step(params, grad, n_weights)

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.decoupled_weight_decay}


_REGISTRY: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, RMSprop, Adam, AdamW)}
NAMES = tuple(_REGISTRY)


def get(optimizer, **kwargs) -> Optimizer:
    """Resolve an optimizer by name (``"sgd"``, ``"adam"``, ...), with keyword arguments."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str):
        key = "sgd" if optimizer.lower() == "gd" else optimizer.lower()
        if key in _REGISTRY:
            return _REGISTRY[key](**kwargs)
    raise ValueError(f"unknown optimizer {optimizer!r}; valid optimizers are: {', '.join(NAMES)}")
