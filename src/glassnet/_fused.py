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
``import glassnet``. Kernels are compiled on their first call for the dtype at hand (once; Numba
caches the machine code on disk when it can) and run single-threaded with the GIL released, so
they never compete with the BLAS threads.

The automatic choice (an optimizer's ``fused=None``, the default) weighs Numba's start in a
process, about a second (measured on the Intel Xeon: import 0.4-0.6 s, loading the cached code
0.5 s), against what the loop saves, about ``12 us + 5 ns x n_params`` a step (Adam, float64).
It takes the loop when Numba imports and any of: the buffer has ``MIN_SIZE`` parameters or more;
the fit ahead is long enough to pay for the start (``steps x (n_params + CALL_SIZE) >=
START_WORK``; ``fit`` tells the optimizer its number of steps); or a kernel already ran in this
process, when the start is paid and the loop is faster at any size (4 us against NumPy's 17 us
for Adam on 21 parameters). ``GLASSNET_FUSED=0`` in the environment turns the automatic choice
off; ``fused=True`` asks for the loop whatever the size, ``fused=False`` never.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

__all__ = ["MIN_SIZE", "START_WORK", "CALL_SIZE", "unavailable", "started", "usable", "adam",
           "momentum", "rmsprop", "add_scaled", "jit", "mark_started"]

#: Buffers this large take the loop from their first step: a few hundred steps pay for the start.
MIN_SIZE = 1 << 16
#: Numba's start (~1 s) in parameter-steps of NumPy time saved (~5 ns each) ...
START_WORK = 2 * 10**8
#: ... and NumPy's fixed cost of a step's dozen array operations (~12 us) in parameters.
CALL_SIZE = 2400

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_started = False       # a kernel ran in this process: Numba's start is paid


@lru_cache(maxsize=1)
def unavailable() -> str | None:
    """``None`` when the fused kernels can run, otherwise why not (for the error message)."""
    try:
        import numba  # noqa: F401
    except Exception as error:  # ImportError, or Numba refusing this NumPy at import
        return (f"Numba could not be imported ({type(error).__name__}: {error}); install it "
                "with `pip install glassnet[fast]`")
    return None


def started() -> bool:
    """Whether a kernel already ran in this process (Numba imported, machine code loaded)."""
    return _started


def usable(fused: bool | None, *arrays: np.ndarray, steps: int = 0) -> bool:
    """Whether to take the fused loop for these 1-D buffers: all of one float dtype, C-ordered;
    ``fused=False`` never; ``fused=True`` whenever the arrays allow it (the optimizer checked at
    construction that Numba is there); ``fused=None`` by the automatic choice in the module's
    docstring, ``steps`` being how many steps the fit ahead takes (0 when not known)."""
    first = arrays[0]
    if fused is False:
        return False
    # The cheap tests first: this runs every step (measured: 3.1 us of a 20 us Adam step on 21
    # parameters when the dtype and layout were tested before the size).
    if fused is None and ((first.size < MIN_SIZE and not _started
                           and steps * (first.size + CALL_SIZE) < START_WORK)
                          or os.environ.get("GLASSNET_FUSED", "").strip() == "0"):
        return False
    if first.dtype not in _DTYPES or any(
            a.ndim != 1 or a.dtype != first.dtype or not a.flags.c_contiguous for a in arrays):
        return False
    return unavailable() is None


def jit(function, **extra):
    """``function`` as a compile-on-first-call Numba dispatcher, its machine code cached on
    disk where writable; ``extra`` adds Numba options (``fastmath``)."""
    import numba

    options = dict(nogil=True, boundscheck=False, error_model="numpy", **extra)
    # error_model="numpy": x / 0 gives inf as in NumPy instead of raising; it is also what
    # lets LLVM vectorise the loop (Python's error model adds a zero test per division).
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError:           # no writable cache location: compile per process
        return numba.njit(**options)(function)


def mark_started() -> None:
    """A compiled kernel ran in this process (any module's): Numba's start is paid."""
    global _started
    _started = True


@lru_cache(maxsize=1)
def _kernels():
    """Compile-on-first-call dispatchers for the optimizer updates."""

    def adam_loop(params, grad, m, v, n_decay, decay, beta_1, one_minus_beta_1, beta_2,
                  one_minus_beta_2, epsilon, scale):
        # The first n_decay gradients get the L2 term first, written back as add_scaled does:
        # one pass where the penalty and the update took two. Measured, and kept this way:
        # the update written out in both loops (a shared per-element function, even jitted,
        # stops LLVM vectorising: 2-7x slower), and the second loop over views that start at
        # 0 (range(n_decay, size) keeps a negative-index test in the loop: 2-5x slower).
        for i in range(n_decay):
            g = grad[i] + params[i] * decay
            grad[i] = g
            m_i = m[i] * beta_1 + g * one_minus_beta_1
            v_i = v[i] * beta_2 + (g * g) * one_minus_beta_2
            m[i] = m_i
            v[i] = v_i
            params[i] -= (m_i / (np.sqrt(v_i) + epsilon)) * scale
        params, grad, m, v = params[n_decay:], grad[n_decay:], m[n_decay:], v[n_decay:]
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

    def add_scaled_loop(target, source, factor):
        for i in range(target.size):
            target[i] += source[i] * factor

    return jit(adam_loop), jit(momentum_loop), jit(rmsprop_loop), jit(add_scaled_loop)


def _kernel(index: int):
    global _started
    kernel = _kernels()[index]
    _started = True
    return kernel


def adam(params, grad, m, v, beta_1, beta_2, epsilon, scale, n_decay=0, decay=0.0) -> None:
    """``Adam._update`` in one pass: ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
    ``params -= (m / (sqrt(v) + epsilon)) * scale``, everything ``(n_params,)``, in place;
    with ``n_decay``, ``grad[:n_decay] += params[:n_decay] * decay`` first, in the same pass
    (``add_scaled``'s numbers: an L2 penalty's gradient). The scalars are rounded to the
    buffer's dtype first, as NumPy does with Python floats."""
    f = params.dtype.type
    _kernel(0)(params, grad, m, v, int(n_decay), f(decay), f(beta_1), f(1 - beta_1), f(beta_2),
               f(1 - beta_2), f(epsilon), f(scale))


def momentum(params, grad, velocity, mu, learning_rate, nesterov) -> None:
    """``SGD._update`` with momentum in one pass: ``v = mu v + g``; ``params += -lr * v`` (or
    ``-lr * (g + mu v)`` with Nesterov), everything ``(n_params,)``, in place."""
    f = params.dtype.type
    _kernel(1)(params, grad, velocity, f(mu), f(-learning_rate), bool(nesterov))


def rmsprop(params, grad, square_avg, rho, epsilon, learning_rate) -> None:
    """``RMSprop._update`` in one pass: ``s = rho s + (1 - rho) g^2``;
    ``params += -lr * g / (sqrt(s) + epsilon)``, everything ``(n_params,)``, in place."""
    f = params.dtype.type
    _kernel(2)(params, grad, square_avg, f(rho), f(1 - rho), f(epsilon), f(-learning_rate))


def add_scaled(target, source, factor) -> None:
    """``target += source * factor`` in one pass, both ``(n,)``, in place: NumPy's
    ``target += factor * source`` without its temporary (the L2 penalty's gradient)."""
    _kernel(3)(target, source, target.dtype.type(factor))
