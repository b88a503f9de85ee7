"""Learning-rate schedules: ``schedule(epoch) -> learning rate`` (epochs count from 0).

Pass one as ``learning_rate`` to any optimizer; the training loop sets the rate each epoch.
"""

from __future__ import annotations

import math

from ._checks import check_number, check_positive_int

__all__ = ["Schedule", "constant", "StepDecay", "ExponentialDecay", "CosineDecay"]


class Schedule:
    def __call__(self, epoch: int) -> float:
        raise NotImplementedError


def _positive(value, name):
    return check_number(value, name, 0.0, low_inclusive=False)


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
        self.step_size = check_positive_int(step_size, "step_size")
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
        self.epochs = check_positive_int(epochs, "epochs")
        # A negative rate would turn descent into ascent.
        self.minimum = check_number(minimum, "minimum", 0.0, True, self.initial, True)

    def __call__(self, epoch):
        t = min(epoch, self.epochs) / self.epochs
        return self.minimum + 0.5 * (self.initial - self.minimum) * (1 + math.cos(math.pi * t))
