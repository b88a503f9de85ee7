"""Optimizers over the network's flat parameter buffer, in order of increasing complexity.

Each one implements only ``_update(params, grad, lr)``, a handful of whole-array operations on
1-D arrays; the base class does the rest (learning-rate schedule, L2 weight decay, state).
State (momentum, moment estimates, scratch space) lives in the optimizer, never on the layers.
``grad`` is read, never written: after ``fit`` the network's gradient buffer still holds the
last step's gradient.

``fused``: ``None`` (the default) runs the update as one compiled loop (``_fused``, with Numba)
when Numba is installed and the work pays for Numba's start (large buffers, long fits, or Numba
already running: the rule is in ``_fused``), ``True`` always (an error if Numba is missing),
``False`` never. The fused loop computes the same numbers bit for bit, so ``fused`` changes
speed only; it is not part of ``get_config``.

``weight_decay`` is classic L2 regularisation: ``grad + weight_decay * W`` for the weights
(not the biases), as in PyTorch's SGD. ``AdamW`` decays the weights directly instead
(Loshchilov & Hutter, decoupled weight decay).
"""

from __future__ import annotations

import math

import numpy as np

from . import _fused
from ._checks import check_number
from .schedules import Schedule, constant

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "get", "NAMES"]


class Optimizer:
    """Base class. ``learning_rate`` is a float or a schedule ``epoch -> learning rate``."""

    name = ""
    _steps_ahead = 0       # what `expect_steps` was told; also for subclasses that skip __init__

    def __init__(self, learning_rate=0.01, weight_decay: float = 0.0, *,
                 fused: bool | None = None):
        if fused not in (None, True, False):
            raise ValueError(f"fused must be None, True or False, not {fused!r}")
        if fused and _fused.unavailable():
            raise ImportError(f"fused=True needs Numba: {_fused.unavailable()}")
        self.fused = fused
        if isinstance(learning_rate, Schedule):
            self.schedule = learning_rate
        else:
            self.schedule = constant(check_number(learning_rate, "learning_rate", 0.0, False))
        self.weight_decay = check_number(weight_decay, "weight_decay")
        self.learning_rate = self.schedule(0)
        self.iterations = 0
        self.state: dict[str, np.ndarray] = {}
        self._work: dict[str, np.ndarray] = {}    # scratch space: not state, not saved

    def expect_steps(self, n_steps: int) -> None:
        """Say how many steps the fit ahead takes (``fit`` does; 0 when it ends), so that the
        automatic ``fused=None`` can tell whether a fit pays for Numba's start. Speed only."""
        self._steps_ahead = int(n_steps)

    def fuses(self, *buffers: np.ndarray) -> bool:
        """Whether a pass over these 1-D buffers takes a fused loop (``_fused.usable``)."""
        return _fused.usable(self.fused, *buffers, steps=self._steps_ahead)

    def add_l2_gradient(self, dW: np.ndarray, W: np.ndarray, factor: float) -> None:
        """``dW += factor * W`` in place, both ``(n_weights,)``: an L2 penalty's gradient (this
        optimizer's ``weight_decay``, or ``fit``'s ``l2``), one fused pass when ``fuses`` says
        so (the same numbers, without NumPy's temporary)."""
        if self.fuses(dW, W):
            _fused.add_scaled(dW, W, factor)
        else:
            dW += factor * W

    def set_epoch(self, epoch: int) -> None:
        """Set the learning rate the schedule gives for ``epoch`` (0-based)."""
        self.learning_rate = self.schedule(epoch)

    def _slot(self, name, like, store=None):
        """A state array (zeros at first), created on the first step."""
        store = self.state if store is None else store
        slot = store.get(name)
        if slot is None or slot.shape != like.shape or slot.dtype != like.dtype:
            slot = store[name] = np.zeros_like(like)
        return slot

    def _scratch(self, name, like):
        """A work array kept between steps so the update allocates nothing."""
        return self._slot(name, like, self._work)

    #: whether ``step(..., l2=)`` hands the L2 gradient to ``_update(..., l2=(n_weights,
    #: factor))``, which adds it within its own pass where that pass is fused
    folds_l2 = False

    def step(self, params: np.ndarray, grad: np.ndarray, n_weights: int | None = None,
             l2: float = 0.0) -> None:
        """Update ``params`` in place from ``grad`` (both 1-D).

        ``n_weights``: the length of the weight prefix of the buffer that weight decay and
        ``l2`` apply to (all of it when None). ``l2``: first add ``l2 * params`` to that prefix
        of ``grad``, in place (``fit``'s L2 penalty, whose gradient the caller keeps); ``grad``
        is otherwise left unchanged. Where the update is a fused loop that can, the two are
        one pass (the same numbers).
        """
        k = params.size if n_weights is None else n_weights
        # With weight decay the update reads a copy of grad, and the L2 term belongs in both.
        hand_over = bool(l2) and self.folds_l2 and not self.weight_decay
        if l2 and not hand_over:
            self.add_l2_gradient(grad[:k], params[:k], l2)
        if self.weight_decay:
            decayed = self._scratch("decayed_grad", grad)
            np.copyto(decayed, grad)
            self.add_l2_gradient(decayed[:k], params[:k], self.weight_decay)
            grad = decayed
        self.iterations += 1
        if hand_over:
            self._update(params, grad, self.learning_rate, l2=(k, l2))
        else:
            self._update(params, grad, self.learning_rate)

    def _update(self, params, grad, lr):
        raise NotImplementedError

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
                 weight_decay: float = 0.0, *, fused: bool | None = None):
        super().__init__(learning_rate, weight_decay, fused=fused)
        self.momentum = check_number(momentum, "momentum", 0.0, True, 1.0)
        if nesterov and not self.momentum:
            raise ValueError("nesterov=True needs momentum > 0")
        self.nesterov = bool(nesterov)

    def _update(self, params, grad, lr):
        if self.momentum:
            v = self._slot("velocity", params)
            if self.fuses(params, grad, v):
                _fused.momentum(params, grad, v, self.momentum, lr, self.nesterov)
                return
        step = self._scratch("step", params)
        if self.momentum:
            v *= self.momentum
            v += grad
            if self.nesterov:            # g + momentum * v
                np.multiply(v, self.momentum, out=step)
                step += grad
                step *= -lr
            else:
                np.multiply(v, -lr, out=step)
        else:
            np.multiply(grad, -lr, out=step)
        params += step

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
                 weight_decay: float = 0.0, *, fused: bool | None = None):
        super().__init__(learning_rate, weight_decay, fused=fused)
        self.rho = check_number(rho, "rho", 0.0, True, 1.0)
        self.epsilon = check_number(epsilon, "epsilon", 0.0, False)

    def _update(self, params, grad, lr):
        s = self._slot("square_avg", params)
        if self.fuses(params, grad, s):
            _fused.rmsprop(params, grad, s, self.rho, self.epsilon, lr)
            return
        tmp = self._scratch("step", params)
        s *= self.rho
        np.multiply(grad, grad, out=tmp)
        tmp *= 1 - self.rho
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += self.epsilon
        np.divide(grad, tmp, out=tmp)
        tmp *= -lr
        params += tmp

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adam(Optimizer):
    """Kingma & Ba 2015, with bias correction:
    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
    ``params -= lr * m_hat / (sqrt(v_hat) + eps)``.
    """

    name = "adam"
    #: epsilon added to ``sqrt(v_hat)`` (Kingma & Ba, PyTorch, Keras); False: to ``sqrt(v)``
    #: before the bias correction, as scikit-learn's MLP (its estimators here use that form)
    epsilon_corrected = True

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, weight_decay: float = 0.0, *,
                 fused: bool | None = None):
        super().__init__(learning_rate, weight_decay, fused=fused)
        self.beta_1 = check_number(beta_1, "beta_1", 0.0, True, 1.0)
        self.beta_2 = check_number(beta_2, "beta_2", 0.0, True, 1.0)
        self.epsilon = check_number(epsilon, "epsilon", 0.0, False)

    @property
    def folds_l2(self):
        # Not for a subclass with a step or an _update of its own, which may know nothing of
        # l2 (AdamW's step adds it before its decay, which shrinks the weights it reads).
        return type(self)._update is Adam._update and type(self).step is Optimizer.step

    def _update(self, params, grad, lr, l2=None):
        m, v = self._slot("m", params), self._slot("v", params)
        t = self.iterations
        # lr * m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - b1^t), sqrt(v_hat) = sqrt(v) / c2,
        # c2 = sqrt(1 - b2^t): multiplied through by c2, that is
        # (lr c2 / (1 - b1^t)) * m / (sqrt(v) + eps c2), the corrections in two scalars and one
        # pass fewer over the buffers (measured: Adam at batch 32, 784-512-512-10, ~5 % faster).
        correction_2 = math.sqrt(1 - self.beta_2 ** t)
        epsilon = self.epsilon * correction_2 if self.epsilon_corrected else self.epsilon
        scale = lr * correction_2 / (1 - self.beta_1 ** t)
        if self.fuses(params, grad, m, v):
            n_decay, decay = l2 or (0, 0.0)
            _fused.adam(params, grad, m, v, self.beta_1, self.beta_2, epsilon, scale,
                        n_decay, decay)
            return
        if l2:                  # NumPy's passes: the L2 term first, as step() adds it
            n_decay, decay = l2
            self.add_l2_gradient(grad[:n_decay], params[:n_decay], decay)
        tmp = self._scratch("step", params)
        m *= self.beta_1
        np.multiply(grad, 1 - self.beta_1, out=tmp)
        m += tmp
        v *= self.beta_2
        np.multiply(grad, grad, out=tmp)
        tmp *= 1 - self.beta_2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= scale
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
                 epsilon: float = 1e-8, weight_decay: float = 0.01, *,
                 fused: bool | None = None):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay=0.0, fused=fused)
        self.decoupled_weight_decay = check_number(weight_decay, "weight_decay")

    def step(self, params, grad, n_weights=None, l2=0.0):
        k = params.size if n_weights is None else n_weights
        if l2:
            self.add_l2_gradient(grad[:k], params[:k], l2)
        if self.decoupled_weight_decay:
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
