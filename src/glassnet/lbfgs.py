"""Full-batch training by L-BFGS (SciPy's L-BFGS-B) over the flat parameter buffer.

scikit-learn's best solver for small data sets is a natural fit for glassnet: the loss and its
gradient are one function of one vector, ``net.params``. Each evaluation is one
``net.backpropagate`` over all of ``X`` plus the L2 term ``0.5 * l2 * ||W||^2 / n``, in float64
whatever the network's dtype (SciPy works in float64). SciPy is installed with scikit-learn;
glassnet loads it only here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["minimize_lbfgs", "LBFGSResult"]


def _numpy_column_sum(dZ, out=None):
    """``dZ.sum(axis=0)`` as scikit-learn's ``np.sum``: BLAS's ``ones @ dZ`` adds in another
    order, and L-BFGS turns that last-bit difference into another model within 200
    iterations (linnerud's three outputs)."""
    return np.sum(dZ, axis=0, out=out)


@dataclass
class LBFGSResult:
    loss: float
    n_iter: int
    n_evaluations: int
    converged: bool
    message: str


def minimize_lbfgs(net, X, y, sample_weight=None, *, l2: float = 0.0, max_iter: int = 200,
                   max_fun: int = 15000, tol: float = 1e-4, verbose: bool = False) -> LBFGSResult:
    """Minimise ``net``'s loss on checked ``(X, y)`` from its current weights; the network
    keeps the result, and ``net.grads`` the gradient at it."""
    from scipy.optimize import minimize

    params, grads, n_w = net.params, net.grads, net.n_weights
    total = len(X) if sample_weight is None else float(sample_weight.sum())
    # Where each layer's weights end in ``params``: the L2 term sums each layer's squares,
    # then adds the layers, as scikit-learn does.
    ends = np.cumsum([layer.W.size for layer in net.dense_layers])

    def loss_and_grad(theta):
        params[...] = theta
        # scikit-learn's order of operations: the gradient of the summed loss first (a
        # grad_scale of ``total`` makes the loss's own 1 / total factor exactly 1), then the L2
        # term, then one division. Dividing before the products rounds differently, and
        # L-BFGS amplifies a last-bit difference into another model within 200 iterations.
        with np.errstate(over="ignore", invalid="ignore"):
            loss, _ = net.backpropagate(X, y, sample_weight, grad_scale=total)
        loss = float(loss)
        gradient = grads.astype(np.float64)
        if l2:
            W = params[:n_w].astype(np.float64)
            loss += 0.5 * l2 * sum(float(w @ w) for w in np.split(W, ends[:-1])) / total
            gradient[:n_w] += l2 * W
        gradient /= total
        if not np.isfinite(loss):
            loss = np.inf          # L-BFGS-B backs off from an infinite value
        return loss, gradient

    for layer in net.dense_layers:             # and its bias sums, NumPy's
        layer.column_sum = _numpy_column_sum
    try:
        result = minimize(loss_and_grad, params.astype(np.float64), jac=True,
                          method="L-BFGS-B", options={"maxfun": max_fun, "maxiter": max_iter,
                                                      "gtol": tol,
                                                      "iprint": 1 if verbose else -1})
        params[...] = result.x
        loss_and_grad(result.x)        # net.grads: the gradient at the weights it keeps
    finally:
        for layer in net.dense_layers:
            del layer.column_sum
        net.release_buffers()
    return LBFGSResult(float(result.fun), int(result.nit), int(result.nfev),
                       result.status == 0, str(result.message))
