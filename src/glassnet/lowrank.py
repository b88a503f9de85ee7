"""Exact full-batch gradient descent for wide inputs (many more features than samples).

Under full-batch gradient descent every update of the first layer's weights is
``dW1 = X.T @ dZ1``: a combination of the rows of ``X``, so ``W1`` only ever moves inside the
row space of ``X``, of dimension ``r <= n_samples``. Factor ``X.T = Q R`` (thin QR; ``Q`` is
``(n_features, r)`` with orthonormal columns, ``R`` is ``(r, n_samples)``). Then

    X @ W1 = R.T @ (Q.T @ W1) = R.T @ K,      Q.T @ dW1 = R @ dZ1 = dK,

so training ``K = Q.T @ W1`` on the inputs ``R.T`` gives the same losses, gradients and
iterates as training ``W1`` on ``X``, and at the end ``W1 = W1_0 + Q @ (K - K_0)``. For the
cat tutorial (209 images of 12288 pixels) a step's first layer shrinks 60-fold. The result is
the same computation in other coordinates: equal up to floating-point rounding (a test checks).
"""

from __future__ import annotations

import numpy as np

__all__ = ["applies", "fit_reduced"]

#: use the reduced coordinates when n_features >= MIN_RATIO * n_samples
MIN_RATIO = 4.0


def applies(net, X) -> bool:
    """Whether the reduction pays for this network and data. ``fit`` asks only when the run is
    plain full-batch gradient descent with nothing that needs the full weights between steps
    (``training._plain_full_batch``), which is what makes it exact."""
    from .layers import Dense

    return isinstance(net.layers[0], Dense) and X.shape[1] >= MIN_RATIO * X.shape[0]


def fit_reduced(net, X, y, fit, **kwargs):
    """Run ``fit`` on the reduced problem and write the result back into ``net``."""
    from .io import network_from_config

    # QR in float64 whatever the network's dtype: Q must be orthonormal to working precision.
    Q, R = np.linalg.qr(np.asarray(X, dtype=np.float64).T)
    X_red = np.ascontiguousarray(R.T, dtype=net.dtype)
    config = net.get_config()
    config["input_dim"] = X_red.shape[1]
    reduced = network_from_config(config)
    for small, full in zip(reduced.layers, net.layers):
        if hasattr(full, "activation"):
            small.activation = full.activation  # the very object (custom slopes and the like)
        if hasattr(full, "rng"):
            small.rng = full.rng  # dropout continues the network's own stream
    W0 = net.layers[0].W.astype(np.float64)
    K0 = Q.T @ W0
    reduced.layers[0].W[...] = K0
    _copy_all_but_first_weights(net, reduced)
    reduced._shuffle_rng = net._shuffle_rng
    try:
        history = fit(reduced, X_red, y, **kwargs)
    finally:
        # Also after a DivergenceError: the reduced network holds its last finite weights.
        net.layers[0].W[...] = W0 + Q @ (reduced.layers[0].W.astype(np.float64) - K0)
        _copy_all_but_first_weights(reduced, net)
        net.history = reduced.history
    return history


def _copy_all_but_first_weights(source, target):
    """Every parameter but layer 0's W, which is the only one whose shape differs."""
    for i, (src, dst) in enumerate(zip(source.layers, target.layers)):
        for name in target.param_slices[i]:
            if (i, name) != (0, "W"):
                getattr(dst, name)[...] = getattr(src, name)
