"""Explain mode: a user's own network on one real batch, step by step, in the tutorials'
notation, with the live shapes and numbers.

``net.explain(X, y)`` runs the forward pass layer by layer (``Z1 = A0 @ W1 + b1``, then
``A1 = relu(Z1)``), the loss, and, when ``y`` is given, the backward pass as the tutorials
write it (``dZ2 = A2 - Y``, ``dW2 = A1.T @ dZ2 / m``, ``db2 = sum(dZ2) / m``,
``dA1 = dZ2 @ W2.T``, ``dZ1 = dA1 * relu'(Z1)``). Dense layers are numbered from 1 as in the
tutorials; ``A0`` is the input. Inference mode: Dropout is the identity, as in ``predict``.

The result, an ``Explanation``, prints as a report in a terminal (Rich), renders as HTML in a
notebook and converts to plain data (``to_dict``). It also holds per-layer statistics (mean and
std of ``Z`` and ``A``, dead ReLU units, saturated sigmoid/tanh units, weight and gradient
norms, the update-to-weight ratio) and names the first layer where a NaN or infinity appears.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, field

import numpy as np

from ._checks import check_positive_int

__all__ = ["explain", "Explanation", "Step", "layer_statistics"]


@dataclass
class Step:
    """One line of the report: ``equation`` with ``shapes``, and the first rows of ``value``."""

    phase: str            # "forward", "loss" or "backward"
    equation: str
    shapes: str
    value: np.ndarray | float


@dataclass
class Explanation:
    steps: list[Step]
    loss_name: str
    loss: float | None
    statistics: list[dict]
    samples: int
    first_nonfinite: str | None = None
    notes: list[str] = field(default_factory=list)

    # ---------------------------------------------------------------- plain data
    def to_dict(self) -> dict:
        def plain(value):
            return value.tolist() if isinstance(value, np.ndarray) else value

        return {"loss_name": self.loss_name, "loss": self.loss, "samples": self.samples,
                "first_nonfinite": self.first_nonfinite, "notes": list(self.notes),
                "steps": [{"phase": s.phase, "equation": s.equation, "shapes": s.shapes,
                           "value": plain(_head(s.value, self.samples))} for s in self.steps],
                "statistics": [dict(row) for row in self.statistics]}

    # ---------------------------------------------------------------- terminal
    def __rich_console__(self, console, options):
        from rich.table import Table
        from rich.text import Text

        if self.first_nonfinite:
            yield Text(f"NaN or infinity first appears at {self.first_nonfinite}",
                       style="bold red")
        for note in self.notes:
            yield Text(note, style="dim")
        for phase in ("forward", "loss", "backward"):
            steps = [s for s in self.steps if s.phase == phase]
            if not steps:
                continue
            table = Table(title=f"{phase} ({self.samples} of the batch's rows shown)"
                          if phase != "loss" else "loss", title_justify="left",
                          show_lines=phase != "loss")
            for column in ("equation", "shapes", "values"):
                table.add_column(column, overflow="fold")
            for s in steps:
                table.add_row(Text(s.equation), Text(s.shapes), Text(_format(s.value,
                                                                             self.samples)))
            yield table
        stats = Table(title="per layer", title_justify="left")
        for column in _STAT_COLUMNS:
            stats.add_column(column, justify="right" if column != "layer" else "left")
        for row in self.statistics:
            stats.add_row(*(_stat(row.get(c)) for c in _STAT_COLUMNS))
        yield stats

    def __str__(self) -> str:
        from rich.console import Console

        console = Console(file=io.StringIO(), width=120, color_system=None, highlight=False,
                          markup=False)
        console.print(self)
        return console.file.getvalue()

    # ---------------------------------------------------------------- notebook
    def _repr_html_(self) -> str:
        parts = ['<div class="glassnet-explain">']
        if self.first_nonfinite:
            parts.append(f'<p style="color:#b00"><b>NaN or infinity first appears at '
                         f'{html.escape(self.first_nonfinite)}</b></p>')
        parts += [f"<p><i>{html.escape(n)}</i></p>" for n in self.notes]
        parts.append("<table><tr><th>phase</th><th>equation</th><th>shapes</th>"
                     "<th>values</th></tr>")
        for s in self.steps:
            parts.append(f"<tr><td>{s.phase}</td><td><code>{html.escape(s.equation)}</code></td>"
                         f"<td><code>{html.escape(s.shapes)}</code></td><td><pre>"
                         f"{html.escape(_format(s.value, self.samples))}</pre></td></tr>")
        parts.append("</table><table><tr>"
                     + "".join(f"<th>{c}</th>" for c in _STAT_COLUMNS) + "</tr>")
        for row in self.statistics:
            parts.append("<tr>" + "".join(f"<td>{html.escape(_stat(row.get(c)))}</td>"
                                          for c in _STAT_COLUMNS) + "</tr>")
        parts.append("</table></div>")
        return "".join(parts)


_STAT_COLUMNS = ("layer", "Z mean", "Z std", "A mean", "A std", "dead", "saturated", "|W|",
                 "|dW|", "update/weight")


def _stat(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return f"{value:.3g}"


def _head(value, samples):
    """The first ``samples`` rows of a matrix (vectors and numbers whole)."""
    if isinstance(value, np.ndarray) and value.ndim == 2 and len(value) > samples:
        return value[:samples]
    return value


def _format(value, samples) -> str:
    if not isinstance(value, np.ndarray):
        return f"{value:.6g}"
    shown = _head(value, samples)
    with np.printoptions(precision=4, suppress=True, threshold=60, edgeitems=3, linewidth=72):
        text = np.array2string(shown)
    if isinstance(value, np.ndarray) and value.ndim == 2 and len(value) > samples:
        text += f"\n... ({len(value) - samples} more rows)"
    return text


def _shape(a) -> str:
    return str(tuple(a.shape)).replace(",)", ")") if a.ndim != 1 else f"({a.shape[0]},)"


def explain(net, X, y=None, *, samples: int = 3) -> Explanation:
    """Explain ``net`` on the batch ``X (m, n_features)`` (and ``y``): see the module's
    docstring. ``samples``: how many rows of each array the report shows."""
    samples = check_positive_int(samples, "samples")
    # A NaN or infinity is reported (first_nonfinite), not warned about at every operation.
    with np.errstate(all="ignore"):
        return _explain(net, X, y, samples)


def _explain(net, X, y, samples):
    if y is None:
        X = net.check_input(X)
    else:
        X, y, _ = net.check_data(X, y)
    m = len(X)
    steps, notes, forward = [], [], []
    first_bad = None
    A = X
    steps.append(Step("forward", "A0 = X", _shape(X), X))
    for layer in net.layers:
        if not hasattr(layer, "W"):
            notes.append(f"{layer!r} after A{len(forward)}: the identity at inference, as in "
                         "predict")
            continue
        number = len(forward) + 1
        Z = A @ layer.W + layer.b
        act = layer.activation
        A_next = act.forward(Z.copy())
        steps.append(Step("forward", f"Z{number} = A{number - 1} @ W{number} + b{number}",
                          f"{_shape(A)} @ {_shape(layer.W)} + {_shape(layer.b)} -> {_shape(Z)}",
                          Z))
        steps.append(Step("forward", f"A{number} = {act.name}(Z{number})", _shape(A_next),
                          A_next))
        if first_bad is None:
            if not np.isfinite(Z).all():
                first_bad = f"Z{number} (layer {number}, {layer!r})"
            elif not np.isfinite(A_next).all():
                first_bad = f"A{number} (layer {number}, {layer!r})"
        forward.append((layer, A, Z, A_next))
        A = A_next
    L = len(forward)

    loss_value, grads = None, {}
    if y is not None:
        fused = net.loss.head is not None
        out = forward[-1][2] if fused else forward[-1][3]
        loss_value, d_out = net.loss.value_and_grad(out, y)
        loss_value = float(loss_value)
        steps.append(Step("loss", f"{net.loss.name}(A{L}, Y)", f"{_shape(forward[-1][3])}",
                          loss_value))
        # glassnet's gradient is that of the mean loss; the tutorials keep 1/m for dW and db.
        layer, A_prev, Z, A_L = forward[-1]
        if fused:
            dZ = d_out * m
            steps.append(Step("backward", f"dZ{L} = A{L} - Y", _shape(dZ), dZ))
        else:
            dA = d_out * m
            steps.append(Step("backward", f"dA{L} = 2 (A{L} - Y) / n_out", _shape(dA), dA))
            dZ = layer.activation.backward(Z, A_L, dA.copy())
            steps.append(Step("backward", f"dZ{L} = dA{L} * {layer.activation.name}'(Z{L})",
                              _shape(dZ), dZ))
        for number in range(L, 0, -1):
            layer, A_prev, Z, A_l = forward[number - 1]
            if number < L:
                dZ = layer.activation.backward(Z, A_l, dA.copy())
                steps.append(Step("backward", f"dZ{number} = dA{number} * "
                                  f"{layer.activation.name}'(Z{number})", _shape(dZ), dZ))
            dW = A_prev.T @ dZ / m
            db = dZ.sum(axis=0) / m
            steps.append(Step("backward", f"dW{number} = A{number - 1}.T @ dZ{number} / m",
                              f"{_shape(A_prev.T)} @ {_shape(dZ)} / {m} -> {_shape(dW)}", dW))
            steps.append(Step("backward", f"db{number} = sum(dZ{number}, axis=0) / m",
                              _shape(db), db))
            grads[number] = (dW, db)
            if first_bad is None and not (np.isfinite(dZ).all() and np.isfinite(dW).all()):
                first_bad = f"dZ{number} (backward, layer {number}, {layer!r})"
            if number > 1:
                dA = dZ @ layer.W.T
                steps.append(Step("backward", f"dA{number - 1} = dZ{number} @ W{number}.T",
                                  f"{_shape(dZ)} @ {_shape(layer.W.T)} -> {_shape(dA)}", dA))

    rate = None
    history = getattr(net, "history", None)
    if history is not None and "learning_rate" in history and history["learning_rate"]:
        rate = history["learning_rate"][-1]
    statistics = [layer_statistics(number, layer, Z, A_l, *(grads.get(number, (None, None))),
                                   rate=rate)
                  for number, (layer, _, Z, A_l) in enumerate(forward, start=1)]
    if rate is not None and grads:
        notes.append(f"update/weight: learning_rate x |dW| / |W| at the last training rate "
                     f"{rate:g} (plain gradient descent's step; about 1e-3 is healthy)")
    return Explanation(steps, net.loss.name, loss_value, statistics, samples, first_bad, notes)


def layer_statistics(number, layer, Z, A, dW=None, db=None, rate=None) -> dict:
    """The statistics row of Dense layer ``number``: ``Z, A (m, units)``; ``dW`` optional."""
    name = layer.activation.name
    row = {"layer": f"{number}: {layer.units} {name}", "Z mean": float(Z.mean()),
           "Z std": float(Z.std()), "A mean": float(A.mean()), "A std": float(A.std()),
           "dead": None, "saturated": None, "|W|": float(np.linalg.norm(layer.W)),
           "|dW|": None if dW is None else float(np.linalg.norm(dW)), "update/weight": None}
    if name == "relu":
        # A unit is dead on this batch when it outputs 0 for every sample.
        row["dead"] = float((A <= 0).all(axis=0).mean())
    elif name == "sigmoid":
        row["saturated"] = float(((A < 0.01) | (A > 0.99)).mean())
    elif name == "tanh":
        row["saturated"] = float((np.abs(A) > 0.99).mean())
    if dW is not None and rate is not None and row["|W|"] > 0:
        row["update/weight"] = rate * row["|dW|"] / row["|W|"]
    return row
