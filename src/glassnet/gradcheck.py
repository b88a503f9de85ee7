"""Gradient checking: central finite differences against the float64 ``loss_and_grad``.

For every parameter ``p``: ``(L(p + h) - L(p - h)) / 2h``. Each parameter tensor (a layer's
``W`` or ``b``) is compared with its analytic gradient by the norm-wise relative error
``max|g - g_num| / max(max|g|, max|g_num|)``: entry-wise ratios blow up on entries that are
~0 (where finite differences are pure rounding noise), norm-wise ones do not. A tensor whose
gradient is ~0 on both sides counts as exact. The report gives both errors per tensor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._checks import check_sample_weight
from .layers import Dropout

__all__ = ["gradcheck", "GradcheckReport"]


@dataclass
class GradcheckReport:
    rows: list[dict] = field(default_factory=list)
    tolerance: float = 1e-6

    @property
    def max_rel_error(self) -> float:
        return max((r["max_rel_error"] for r in self.rows), default=0.0)

    @property
    def passed(self) -> bool:
        return self.max_rel_error <= self.tolerance

    def __str__(self) -> str:
        header = f"{'parameter':<16}{'shape':<16}{'max |g - g_num|':>18}{'max rel error':>16}  ok"
        lines = [header, "-" * len(header)]
        for r in self.rows:
            ok = "yes" if r["max_rel_error"] <= self.tolerance else "NO"
            lines.append(f"{r['name']:<16}{str(r['shape']):<16}{r['max_abs_error']:>18.3e}"
                         f"{r['max_rel_error']:>16.3e}  {ok}")
        verdict = "PASSED" if self.passed else "FAILED"
        lines.append(f"{verdict}: max relative error {self.max_rel_error:.3e} "
                     f"(tolerance {self.tolerance:.0e})")
        return "\n".join(lines)


def gradcheck(net, X, y, sample_weight=None, epsilon: float = 1e-6,
              tolerance: float = 1e-6) -> GradcheckReport:
    """Check ``net``'s analytic gradient on ``(X, y)`` against finite differences.

    The check runs on a float64 copy of the parameters (a float32 network is checked in float64,
    then left unchanged). Dropout layers are switched off for the check: a random mask would make
    the loss a different function at every evaluation.
    """
    if not net.built:
        net.build(np.asarray(X).shape[1])
    probe = net.clone(dtype="float64")
    for layer in probe.layers:
        if isinstance(layer, Dropout):
            layer.rate = 0.0

    _, analytic = probe.loss_and_grad(X, y, sample_weight)
    X = probe.check_input(X)

    # The differences are taken in extended precision where the platform has it (80-bit on
    # x86): rounding noise in the loss, amplified by 1/(2 epsilon), then stays far below the
    # gradients being checked, even tiny ones.
    wide = np.dtype(np.longdouble)
    probe = probe.clone(dtype=wide)
    X = X.astype(wide)
    y = probe.loss.prepare_targets(y, probe.output_dim, wide)
    sample_weight = check_sample_weight(sample_weight, len(X), wide)

    params = probe.params
    numeric = np.empty(params.size, dtype=np.float64)
    for i in range(params.size):
        original = params[i]
        params[i] = original + epsilon
        plus, _ = probe.backpropagate(X, y, sample_weight, train=False)
        params[i] = original - epsilon
        minus, _ = probe.backpropagate(X, y, sample_weight, train=False)
        params[i] = original
        numeric[i] = (plus - minus) / (2 * wide.type(epsilon))

    abs_err = np.abs(analytic - numeric)
    report = GradcheckReport(tolerance=tolerance)
    for index, (layer, slices) in enumerate(zip(probe.layers, probe.param_slices)):
        for pname, sl in slices.items():
            err = float(abs_err[sl].max())
            scale = max(float(np.abs(analytic[sl]).max()), float(np.abs(numeric[sl]).max()))
            report.rows.append({
                "name": f"layers[{index}].{pname}", "shape": tuple(getattr(layer, pname).shape),
                "max_abs_error": err, "max_rel_error": err / scale if scale > 1e-12 else 0.0})
    return report
