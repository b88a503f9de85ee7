"""glassnet: a neural-network library you can see through, written from scratch on NumPy.

>>> import glassnet as gn
>>> net = gn.Network([gn.Dense(5, "relu"), gn.Dense(1, "sigmoid")], input_dim=2, seed=0)
>>> net.params.shape
(21,)
"""

from __future__ import annotations

from . import activations, initializers, losses, optimizers, schedules
from .gradcheck import gradcheck
from .layers import Dense, Dropout
from .network import Network
from .optimizers import SGD, Adam, AdamW, RMSprop
from .version import VERSION

__version__ = VERSION

__all__ = [
    "Network", "Dense", "Dropout", "SGD", "RMSprop", "Adam", "AdamW", "gradcheck",
    "activations", "initializers", "losses", "optimizers", "schedules", "save", "load",
    "DivergenceError", "ModelFileError", "export_onnx", "__version__",
]


def __getattr__(name):
    # Modules that pull in heavier dependencies load on first use, keeping `import glassnet` cheap.
    if name in ("save", "load"):
        from . import io

        return getattr(io, name)
    if name == "export_onnx":
        from .export import export_onnx

        return export_onnx
    if name in ("DivergenceError", "ModelFileError"):
        from . import errors

        return getattr(errors, name)
    if name in ("training", "datasets", "plotting", "sklearn", "io", "callbacks", "engines",
                "checkpoints", "errors", "tutorials", "export", "explain", "diagnostics",
                "notebook"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
