"""Learning-rate schedules: ``schedule(epoch) -> learning rate`` (epochs count from 0).

Pass one as ``learning_rate`` to any optimizer; the training loop sets the rate each epoch.
"""

from __future__ import annotations

import math

__all__ = ["Schedule", "constant", "StepDecay", "ExponentialDecay", "CosineDecay"]


class Schedule:
    def __call__(self, epoch: int) -> float:
        raise NotImplementedError


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
            or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


class constant(Schedule):  # noqa: N801 - reads like a function at the call site
    def __init__(self, learning_rate: float):
        self.learning_rate = float(learning_rate)

    def __call__(self, epoch):
        return self.learning_rate

    def __repr__(self):
        return f"constant({self.learning_rate})"


class StepDecay(Schedule):
    """``initial * gamma ** (epoch // step_size)``."""

    def __init__(self, initial: float, step_size: int, gamma: float = 0.1):
        self.initial = _positive(initial, "initial")
        self.step_size = int(_positive(step_size, "step_size"))
        self.gamma = _positive(gamma, "gamma")

    def __call__(self, epoch):
        return self.initial * self.gamma ** (epoch // self.step_size)


class ExponentialDecay(Schedule):
    """``initial * gamma ** epoch``."""

    def __init__(self, initial: float, gamma: float):
        self.initial = _positive(initial, "initial")
        self.gamma = _positive(gamma, "gamma")

    def __call__(self, epoch):
        return self.initial * self.gamma ** epoch


class CosineDecay(Schedule):
    """Half a cosine from ``initial`` at epoch 0 to ``minimum`` at ``epochs`` (then flat)."""

    def __init__(self, initial: float, epochs: int, minimum: float = 0.0):
        self.initial = _positive(initial, "initial")
        self.epochs = int(_positive(epochs, "epochs"))
        if isinstance(minimum, bool) or not isinstance(minimum, (int, float)) \
                or not 0 <= minimum <= self.initial:
            # A negative rate would turn descent into ascent.
            raise ValueError(f"minimum must be a number from 0 to initial ({self.initial}), "
                             f"got {minimum!r}")
        self.minimum = float(minimum)

    def __call__(self, epoch):
        t = min(epoch, self.epochs) / self.epochs
        return self.minimum + 0.5 * (self.initial - self.minimum) * (1 + math.cos(math.pi * t))
