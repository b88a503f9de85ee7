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

    def loss_and_grad(theta):
        params[...] = theta
        with np.errstate(over="ignore", invalid="ignore"):
            loss, _ = net.backpropagate(X, y, sample_weight)
        loss = float(loss)
        gradient = grads.astype(np.float64)
        if l2:
            W = params[:n_w].astype(np.float64)
            loss += 0.5 * l2 * float(W @ W) / total
            gradient[:n_w] += l2 * W / total
        if not np.isfinite(loss):
            loss = np.inf          # L-BFGS-B backs off from an infinite value
        return loss, gradient

    result = minimize(loss_and_grad, params.astype(np.float64), jac=True, method="L-BFGS-B",
                      options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol,
                               "iprint": 1 if verbose else -1})
    params[...] = result.x
    loss_and_grad(result.x)        # net.grads: the gradient at the weights it keeps
    net.release_buffers()
    return LBFGSResult(float(result.fun), int(result.nit), int(result.nfev),
                       result.status == 0, str(result.message))
