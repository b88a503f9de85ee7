"""The NumPy floor of an MLP fit: scikit-learn's ``MLPClassifier``/``MLPRegressor`` training
(one hidden ReLU layer, Adam, L2 ``alpha``, shuffled mini-batches, the loss computed every
batch for the tolerance rule) written as the fewest NumPy calls, with no checks, no callbacks
and no generality.

It is a measuring stick, not a library: whatever glassnet or any other library built on NumPy's
matrix products does, a step costs at least this much on the same machine. Where scikit-learn's
fit takes less than twice this floor, no NumPy-based estimator can fit 2x faster than
scikit-learn with the same arguments.

The floor is generous to itself: Adam's update, with the L2 term folded in, is glassnet's own
(``Adam.step``): its compiled one-pass loop (``fused=True``, Numba), warmed before the clock
starts so that Numba's start is measured apart, or NumPy's fewest passes (``fused=False``).
"""

from __future__ import annotations

import importlib.util
import math
import time

import numpy as np

from glassnet import Adam


def fit_seconds(X, y, X_test, y_test, task: str, epochs: int, hidden: int = 100,
                batch_size: int = 200, learning_rate: float = 1e-3, alpha: float = 1e-4,
                seed: int = 0, fused: bool | None = None) -> dict:
    """Train ``epochs`` epochs on ``X (n, d)``, ``y (n,)`` (class labels for ``task=
    "classification"``, values for ``"regression"``); returns the seconds of the loop, the
    seconds per epoch, the held-out score (accuracy or R^2), which shows the loop trains, and
    Numba's start in this process (import and loading the compiled update; 0 without it).
    ``fused``: Adam's compiled loop (True), NumPy's passes (False), or the loop when Numba is
    installed (None)."""
    dtype = X.dtype
    rng = np.random.default_rng(seed)
    n, d = X.shape
    if task == "classification":
        classes, y = np.unique(y, return_inverse=True)
        k = len(classes)
    else:
        k = 1
        y = y.astype(dtype).reshape(-1, 1)

    def glorot(fan_in, fan_out):          # scikit-learn's initialisation for ReLU
        bound = math.sqrt(6 / (fan_in + fan_out))
        return rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype)

    # One flat buffer, as glassnet keeps its parameters: the update is one call.
    sizes = [(d, hidden), (hidden, k), (hidden,), (k,)]
    params = np.zeros(sum(math.prod(s) for s in sizes), dtype)
    grads = np.zeros_like(params)
    views, offset = [], 0
    for shape in sizes:
        size = math.prod(shape)
        views.append((params[offset:offset + size].reshape(shape),
                      grads[offset:offset + size].reshape(shape)))
        offset += size
    (W1, dW1), (W2, dW2), (b1, db1), (b2, db2) = views
    W1[...], W2[...] = glorot(d, hidden), glorot(hidden, k)
    b1[...], b2[...] = rng.uniform(-1, 1, hidden) * math.sqrt(6 / (d + hidden)), 0
    n_weights = W1.size + W2.size
    if fused is None:
        fused = importlib.util.find_spec("numba") is not None
    start = time.perf_counter()                       # Numba's start in this process
    Adam(learning_rate, fused=fused).step(params.copy(), grads.copy(), n_weights, l2=alpha)
    numba_start = time.perf_counter() - start if fused else 0.0
    adam = Adam(learning_rate, fused=fused)           # the one above warmed the loop

    Xb = np.empty((batch_size, d), dtype)
    H = np.empty((batch_size, hidden), dtype)
    Z2 = np.empty((batch_size, k), dtype)
    dH = np.empty((batch_size, hidden), dtype)
    ones, ones_k = np.ones(batch_size, dtype), np.ones(k, dtype)
    rows = np.arange(batch_size)
    start = time.perf_counter()
    for _ in range(epochs):
        order = rng.permutation(n)
        loss_sum = 0.0
        for first in range(0, n, batch_size):
            idx = order[first:first + batch_size]
            b = len(idx)
            if b < batch_size:                  # the last, short batch: views
                Xb, H, Z2, dH, ones, rows = (a[:b] for a in (Xb, H, Z2, dH, ones, rows))
            np.take(X, idx, axis=0, out=Xb, mode="clip")
            yb = y[idx]
            np.matmul(Xb, W1, out=H)
            H += b1
            np.maximum(H, 0, out=H)
            np.matmul(H, W2, out=Z2)
            Z2 += b2
            if task == "classification":      # softmax cross-entropy; Z2 becomes dL/dZ2
                Z2 -= Z2.max(axis=1, keepdims=True)
                picked = Z2[rows, yb]
                np.exp(Z2, out=Z2)
                total = Z2 @ ones_k
                loss = float(np.log(total).sum() - picked.sum())
                Z2 /= total[:, None]
                Z2[rows, yb] -= 1
            else:                               # half squared error
                Z2 -= yb
                loss = 0.5 * float(Z2.ravel() @ Z2.ravel())
            loss_sum += loss + 0.5 * alpha * float(params[:n_weights] @ params[:n_weights])
            Z2 *= 1 / b
            np.matmul(H.T, Z2, out=dW2)
            np.matmul(ones, Z2, out=db2)
            np.matmul(Z2, W2.T, out=dH)
            dH *= H > 0
            np.matmul(Xb.T, dH, out=dW1)
            np.matmul(ones, dH, out=db1)
            adam.step(params, grads, n_weights, l2=alpha / b)
        if b < batch_size:                      # whole buffers again for the next epoch
            Xb, H, Z2, dH, ones, rows = (a.base for a in (Xb, H, Z2, dH, ones, rows))
    seconds = time.perf_counter() - start

    H = np.maximum(X_test @ W1 + b1, 0)
    out = H @ W2 + b2
    if task == "classification":
        score = float(np.mean(classes[out.argmax(axis=1)] == y_test))
    else:
        residual = y_test - out[:, 0]
        score = float(1 - residual @ residual / ((y_test - y_test.mean()) ** 2).sum())
    return {"seconds": seconds, "per_epoch": seconds / max(epochs, 1), "score": score,
            "loss": loss_sum, "numba_start": numba_start}
