"""Engines: how the steps of a fit are computed (see ``base`` for the protocol).

- ``"layered"``: mini-batch steps through the layers; runs every fit, and is the one to read.
- ``"tape"``: full-batch plain gradient descent replayed from one list of NumPy calls, for the
  small networks where a step is call overhead.
- ``"compiled"``: the same steps, a span of them compiled whole by Numba (the ``fast``
  extra), once Numba's start is paid.
- ``"rowspace"``: full-batch plain gradient descent in the row space of X, for inputs with many
  more features than samples; wraps the tape or the layered engine.

``fit(engine="auto")`` picks the first of rowspace, compiled, tape that can run the fit exactly
and pays off, else layered; naming an engine runs it or raises a ``ValueError`` with its reason.
"""

from __future__ import annotations

from .base import Engine, Plan, Span, penalize
from .compiled import CompiledEngine
from .layered import LayeredEngine
from .rowspace import RowSpaceEngine
from .tape import TapeEngine

__all__ = ["Engine", "Plan", "Span", "LayeredEngine", "TapeEngine", "CompiledEngine",
           "RowSpaceEngine", "choose", "NAMES", "penalize"]

_REGISTRY = {cls.name: cls for cls in (LayeredEngine, TapeEngine, CompiledEngine,
                                       RowSpaceEngine)}
NAMES = ("auto", *_REGISTRY)


def choose(plan: Plan, engine: str | Engine = "auto") -> Engine:
    """The engine that runs ``plan``: the fastest exact one for ``"auto"``, else the one named
    (or passed as an instance), refusing with its reason when it cannot run ``plan`` exactly."""
    if isinstance(engine, str) and engine == "auto":
        for candidate in (RowSpaceEngine(), CompiledEngine(), TapeEngine()):
            if candidate.refuses(plan) is None and candidate.pays_off(plan):
                return candidate
        return LayeredEngine()
    if isinstance(engine, str):
        if engine not in _REGISTRY:
            raise ValueError(f"unknown engine {engine!r}; valid engines are: {', '.join(NAMES)}")
        engine = _REGISTRY[engine]()
    elif not isinstance(engine, Engine):
        raise TypeError(f"engine must be a name ({', '.join(NAMES)}) or a glassnet Engine, got "
                        f"{type(engine).__name__}")
    reason = engine.refuses(plan)
    if reason is not None:
        raise ValueError(f"engine={engine.name!r} cannot run this fit exactly: {reason}. Use "
                         "engine='auto' (the fastest exact one) or 'layered' (runs every fit)")
    return engine
