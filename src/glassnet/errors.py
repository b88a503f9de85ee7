"""The exceptions glassnet raises for its own reasons (everything else is a plain
``ValueError`` or ``TypeError`` that names the argument and the fix)."""

from __future__ import annotations

__all__ = ["DivergenceError", "ModelFileError", "KEPT_INITIAL"]

#: what a DivergenceError says it kept when the very first loss was not finite
KEPT_INITIAL = "it started with"


class DivergenceError(ValueError):
    """Training produced a NaN or infinite loss; the network holds its last finite weights.

    ``epoch``: the epoch that diverged; ``kept``: which weights the network kept, in words;
    ``at_start``: whether the very first loss was already not finite (the initial weights are
    kept: the data or the scale of the inputs is the problem, not the learning).
    """

    def __init__(self, message: str, epoch: int | None = None, kept: str | None = None):
        super().__init__(message)
        self.epoch, self.kept = epoch, kept

    @property
    def at_start(self) -> bool:
        return self.kept == KEPT_INITIAL


class ModelFileError(ValueError):
    """A file that is not a glassnet model, or is damaged, or comes from a newer glassnet."""
