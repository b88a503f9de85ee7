"""Feature scaling stored in the model file as plain data, so ``evaluate``, ``predict`` and the
ONNX export apply exactly what training applied.

``Scaler("standard")`` is scikit-learn's ``StandardScaler`` (mean 0, standard deviation 1; a
constant column is left unscaled), ``Scaler("minmax")`` its ``MinMaxScaler`` to [0, 1],
``Scaler("none")`` the identity. ``to_dict`` / ``from_dict`` make it JSON.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Scaler", "KINDS"]

KINDS = ("standard", "minmax", "none")


class Scaler:
    def __init__(self, kind: str = "standard"):
        if kind not in KINDS:
            raise ValueError(f"scale must be one of {', '.join(KINDS)}; got {kind!r}")
        self.kind = kind
        self.offset = self.scale = None

    def fit(self, X: np.ndarray) -> Scaler:
        """Learn the offset and scale from ``X (n_samples, n_features)`` (the training split)."""
        if self.kind == "none":           # the identity: no pass over the data
            n = np.shape(X)[1]
            self.offset, self.scale = np.zeros(n), np.ones(n)
            return self
        X = np.asarray(X, dtype=np.float64)
        if self.kind == "standard":
            self.offset, spread = X.mean(axis=0), X.std(axis=0)
        elif self.kind == "minmax":
            self.offset, spread = X.min(axis=0), X.max(axis=0) - X.min(axis=0)
        # A constant column stays as it is (scikit-learn's rule), rather than dividing by 0.
        self.scale = np.where(spread > 0, spread, 1.0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``(X - offset) / scale``."""
        if self.offset is None:
            raise RuntimeError("the scaler is not fitted")
        if self.kind == "none" and not (self.offset.any() or (self.scale != 1).any()):
            return X                          # the identity, without a copy of the data
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1] != len(self.offset):
            raise ValueError(f"the scaler was fitted on {len(self.offset)} features; got "
                             f"{X.shape[1]}")
        return (X - self.offset) / self.scale

    def to_dict(self) -> dict:
        return {"kind": self.kind, "offset": self.offset.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data) -> Scaler:
        """From ``to_dict`` output (e.g. a model file's metadata), checked."""
        if not isinstance(data, dict):
            raise ValueError(f"preprocessing must be an object, got {type(data).__name__}")
        scaler = cls(data.get("kind", "none"))
        try:
            scaler.offset = np.asarray(data["offset"], dtype=np.float64)
            scaler.scale = np.asarray(data["scale"], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            raise ValueError("preprocessing needs numeric 'offset' and 'scale' lists") from None
        if scaler.offset.ndim != 1 or scaler.offset.shape != scaler.scale.shape or \
                not (np.isfinite(scaler.offset).all() and np.isfinite(scaler.scale).all()
                     and (scaler.scale > 0).all()):
            raise ValueError("preprocessing 'offset' and 'scale' must be equal-length lists of "
                             "finite numbers, scales > 0")
        return scaler

    def __repr__(self):
        return f"Scaler({self.kind!r})"
