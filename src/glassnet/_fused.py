"""Optimizer updates fused into one compiled loop, used when Numba is installed.

NumPy runs Adam's update as twelve whole-array operations, each a pass over the parameter buffer
and its moments: on a 670k-parameter network that is ~100 MB of memory traffic a step for ~19 MB
of data. Each loop here reads every element once and does, on that element, the same IEEE
operations in the same order and in the buffer's own dtype as the NumPy formulas in
``optimizers.py``, so the two give *bit-identical* parameters and state (tested); the NumPy
formulas stay the readable definition and the fallback.

Measured (``bench/optimizers.py``; Intel Xeon, AVX-512, 670k float32 parameters): an Adam
update 3.2 ms in NumPy, 0.6 ms here.

Numba is optional (``pip install glassnet[fast]``) and imported on first use only, never by
``import glassnet``. Kernels are compiled on their first call for the dtype at hand (about a
second, once; Numba caches the machine code on disk when it can) and run single-threaded with
the GIL released, so they never compete with the BLAS threads. An optimizer's ``fused=None``
(the default) takes them for buffers of ``MIN_SIZE`` or more when Numba imports, and
``GLASSNET_FUSED=0`` in the environment turns that automatic choice off; ``fused=True`` asks for
them whatever the size, ``fused=False`` never.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

__all__ = ["MIN_SIZE", "unavailable", "usable", "adam", "momentum", "rmsprop"]

#: Buffers smaller than this stay in NumPy unless ``fused=True``: importing Numba costs ~0.4 s a
#: process, which a small network's whole fit may not win back.
MIN_SIZE = 1 << 16

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


@lru_cache(maxsize=1)
def unavailable() -> str | None:
    """``None`` when the fused kernels can run, otherwise why not (for the error message)."""
    try:
        import numba  # noqa: F401
    except Exception as error:  # ImportError, or Numba refusing this NumPy at import
        return (f"Numba could not be imported ({type(error).__name__}: {error}); install it "
                "with `pip install glassnet[fast]`")
    return None


def usable(fused: bool | None, *arrays: np.ndarray) -> bool:
    """Whether to take the fused loop for these 1-D buffers: all of one float dtype, C-ordered,
    and for ``fused=None`` (automatic) at least ``MIN_SIZE`` long, with ``GLASSNET_FUSED=0``
    not set; ``fused=False`` never; ``fused=True`` whenever the arrays allow it (the optimizer
    checked at construction that Numba is there)."""
    first = arrays[0]
    if fused is False:
        return False
    # The size first: it is what turns small networks away, and this runs every step
    # (measured: 3.1 us of a 20 us Adam step on 21 parameters when the size came last).
    if fused is None and (first.size < MIN_SIZE
                          or os.environ.get("GLASSNET_FUSED", "").strip() == "0"):
        return False
    if first.dtype not in _DTYPES or any(
            a.ndim != 1 or a.dtype != first.dtype or not a.flags.c_contiguous for a in arrays):
        return False
    return unavailable() is None


@lru_cache(maxsize=1)
def _kernels():
    """Compile-on-first-call dispatchers; the machine code is cached on disk where writable."""
    import numba

    def jit(function):
        options = dict(nogil=True, boundscheck=False, error_model="numpy")
        # error_model="numpy": x / 0 gives inf as in NumPy instead of raising; it is also what
        # lets LLVM vectorise the loop (Python's error model adds a zero test per division).
        try:
            return numba.njit(cache=True, **options)(function)
        except RuntimeError:           # no writable cache location: compile per process
            return numba.njit(**options)(function)

    def adam_loop(params, grad, m, v, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2,
                  epsilon, scale):
        for i in range(params.size):
            g = grad[i]
            m_i = m[i] * beta_1 + g * one_minus_beta_1
            v_i = v[i] * beta_2 + (g * g) * one_minus_beta_2
            m[i] = m_i
            v[i] = v_i
            params[i] -= (m_i / (np.sqrt(v_i) + epsilon)) * scale

    def momentum_loop(params, grad, velocity, mu, minus_lr, nesterov):
        for i in range(params.size):
            v_i = velocity[i] * mu + grad[i]
            velocity[i] = v_i
            if nesterov:
                params[i] += (v_i * mu + grad[i]) * minus_lr
            else:
                params[i] += v_i * minus_lr

    def rmsprop_loop(params, grad, square_avg, rho, one_minus_rho, epsilon, minus_lr):
        for i in range(params.size):
            g = grad[i]
            s_i = square_avg[i] * rho + (g * g) * one_minus_rho
            square_avg[i] = s_i
            params[i] += (g / (np.sqrt(s_i) + epsilon)) * minus_lr

    return jit(adam_loop), jit(momentum_loop), jit(rmsprop_loop)


def adam(params, grad, m, v, beta_1, beta_2, epsilon, scale) -> None:
    """``Adam._update`` in one pass: ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
    ``params -= (m / (sqrt(v) + epsilon)) * scale``, everything ``(n_params,)``, in place.
    The scalars are rounded to the buffer's dtype first, as NumPy does with Python floats."""
    f = params.dtype.type
    _kernels()[0](params, grad, m, v, f(beta_1), f(1 - beta_1), f(beta_2), f(1 - beta_2),
                  f(epsilon), f(scale))


def momentum(params, grad, velocity, mu, learning_rate, nesterov) -> None:
    """``SGD._update`` with momentum in one pass: ``v = mu v + g``; ``params += -lr * v`` (or
    ``-lr * (g + mu v)`` with Nesterov), everything ``(n_params,)``, in place."""
    f = params.dtype.type
    _kernels()[1](params, grad, velocity, f(mu), f(-learning_rate), bool(nesterov))


def rmsprop(params, grad, square_avg, rho, epsilon, learning_rate) -> None:
    """``RMSprop._update`` in one pass: ``s = rho s + (1 - rho) g^2``;
    ``params += -lr * g / (sqrt(s) + epsilon)``, everything ``(n_params,)``, in place."""
    f = params.dtype.type
    _kernels()[2](params, grad, square_avg, f(rho), f(1 - rho), f(epsilon),
                  f(-learning_rate))
