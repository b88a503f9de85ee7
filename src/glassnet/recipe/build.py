"""The network and the optimizer a set of options describes: one place for every front door."""

from __future__ import annotations

from collections.abc import Sequence

from .. import schedules
from ..layers import Dense, Dropout
from ..network import Network
from ..optimizers import Optimizer
from ..optimizers import get as get_optimizer

__all__ = ["build_network", "build_optimizer", "learning_rate_schedule"]


def build_network(hidden: Sequence[int], activation: str | Sequence, output: tuple[int, str],
                  *, input_dim: int | None = None, dropout: float = 0.0, seed=None,
                  dtype="float64", loss=None, init: str | None = None) -> Network:
    """Hidden ``Dense`` layers (each followed by ``Dropout(dropout)`` when it is > 0) and the
    output layer ``output = (units, activation)`` (``targets.output_layer``).

    ``activation``: one for every hidden layer, or one per hidden layer. ``init``: every
    layer's initial weights (None: each activation's default, He's after ReLU).
    """
    per_layer = [activation] * len(hidden) if isinstance(activation, (str, dict)) or \
        not isinstance(activation, Sequence) else list(activation)
    if len(per_layer) != len(hidden):
        raise ValueError(f"{len(per_layer)} activations for {len(hidden)} hidden layers; give "
                         "one, or one per hidden layer")
    layers = []
    for units, act in zip(hidden, per_layer):
        layers.append(Dense(units, act, init=init))
        if dropout:
            layers.append(Dropout(dropout))
    layers.append(Dense(*output, init=init))
    return Network(layers, input_dim=input_dim, seed=seed, dtype=dtype, loss=loss)


def learning_rate_schedule(rate: float, schedule: str = "none", epochs: int = 500,
                           step_size: int | None = None):
    """``rate`` (``"none"``), or a schedule over ``epochs``: ``"cosine"`` decays to 0 at
    ``epochs``, ``"step"`` tenfold every ``step_size`` epochs (default: a third of them),
    ``"exponential"`` a hundredfold over them."""
    if schedule in ("none", "constant"):
        return rate
    if schedule == "cosine":
        return schedules.CosineDecay(rate, epochs=epochs)
    if schedule == "step":
        return schedules.StepDecay(rate, step_size=step_size or max(1, epochs // 3),
                                   gamma=0.1)
    if schedule == "exponential":
        return schedules.ExponentialDecay(rate, gamma=0.01 ** (1 / epochs))
    raise ValueError(f"schedule must be none, cosine, step or exponential; got {schedule!r}")


def build_optimizer(name: str, learning_rate: float, *, momentum: float = 0.0,
                    schedule: str = "none", epochs: int = 500,
                    step_size: int | None = None) -> Optimizer:
    """An optimizer by name (``sgd``/``gd``, ``momentum`` (SGD with momentum 0.9 when none is
    given), ``adam``, ``adamw``, ``rmsprop``) with its learning-rate schedule."""
    rate = learning_rate_schedule(learning_rate, schedule, epochs, step_size)
    name = name.lower()
    if name == "momentum":
        name, momentum = "sgd", momentum or 0.9
    if momentum and name not in ("sgd", "gd"):
        raise ValueError(f"momentum applies to the sgd optimizer; got {name!r}")
    extra = {"momentum": momentum} if name in ("sgd", "gd") else {}
    return get_optimizer(name, learning_rate=rate, **extra)
