"""The exceptions glassnet raises for its own reasons (everything else is a plain
``ValueError`` or ``TypeError`` that names the argument and the fix)."""

from __future__ import annotations

__all__ = ["DivergenceError", "ModelFileError"]


class DivergenceError(ValueError):
    """Training produced a NaN or infinite loss; the network holds its last finite weights.

    ``epoch``: the epoch that diverged; ``kept``: which weights the network kept, in words
    (``"it started with"`` when its very first loss was not finite).
    """

    def __init__(self, message: str, epoch: int | None = None, kept: str | None = None):
        super().__init__(message)
        self.epoch, self.kept = epoch, kept


class ModelFileError(ValueError):
    """A file that is not a glassnet model, or is damaged, or comes from a newer glassnet."""
