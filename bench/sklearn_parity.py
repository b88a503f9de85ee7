"""glassnet's estimators against scikit-learn's MLPClassifier / MLPRegressor with the same
arguments, for every solver x learning_rate x early_stopping, on four held-out classification
sets (digits, breast cancer, wine, iris; scaled, a stratified quarter held out), breast cancer
again with sample weights (bootstrap counts, as BaggingClassifier passes them), and a
multi-output regression (linnerud's three targets, scaled).

    python bench/sklearn_parity.py --out bench/sklearn_parity.md [--quick]

Each row: test accuracy, iterations and fit time of both, in the same process, alternating.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

COMBINATIONS = [("lbfgs", "constant", False)] + [
    (solver, rate, stop) for solver, rates in (("sgd", ("constant", "invscaling", "adaptive")),
                                               ("adam", ("constant",)))
    for rate in rates for stop in (False, True)]


def datasets(quick):
    """``(name, kind, X_train, X_test, y_train, y_test, sample_weight)``."""
    import numpy as np
    from sklearn.datasets import (
        load_breast_cancer,
        load_digits,
        load_iris,
        load_linnerud,
        load_wine,
    )
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    loaders = {"digits": load_digits, "breast cancer": load_breast_cancer, "wine": load_wine,
               "iris": load_iris}
    for name, load in list(loaders.items())[:1 if quick else None]:
        X, y = load(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
        scaler = StandardScaler().fit(X_train)
        yield name, "classifier", scaler.transform(X_train), scaler.transform(X_test), \
            y_train, y_test, None
        if name == "breast cancer":
            counts = np.random.default_rng(0).multinomial(len(y_train), [1 / len(y_train)] *
                                                          len(y_train)).astype(float)
            yield "breast cancer, weighted", "classifier", scaler.transform(X_train), \
                scaler.transform(X_test), y_train, y_test, counts
    if not quick:
        X, Y = load_linnerud(return_X_y=True)
        X_train, X_test, Y_train, Y_test = train_test_split(X, Y, random_state=0)
        x, t = StandardScaler().fit(X_train), StandardScaler().fit(Y_train)
        yield "linnerud, 3 outputs", "regressor", x.transform(X_train), x.transform(X_test), \
            t.transform(Y_train), t.transform(Y_test), None


def run(quick=False):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    from glassnet.sklearn import NeuralNetClassifier, NeuralNetRegressor

    estimators = {"classifier": (NeuralNetClassifier, MLPClassifier),
                  "regressor": (NeuralNetRegressor, MLPRegressor)}
    rows = []
    for name, kind, X_train, X_test, y_train, y_test, weight in datasets(quick):
        for solver, rate, stop in COMBINATIONS[:3 if quick else None]:
            params = dict(hidden_layer_sizes=(100,), solver=solver, learning_rate=rate,
                          early_stopping=stop, random_state=0, max_iter=50 if quick else 200)
            result = {}
            for label, Estimator in zip(("glassnet", "sklearn"), estimators[kind]):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    start = time.perf_counter()
                    model = Estimator(**params).fit(X_train, y_train, sample_weight=weight)
                    seconds = time.perf_counter() - start
                result[label] = (model.score(X_test, y_test), model.n_iter_, seconds)
            rows.append((name, solver, rate, stop, result))
    return rows


def render(rows) -> str:
    lines = ["# glassnet's estimators beside scikit-learn's MLPClassifier and MLPRegressor", "",
             "Same arguments (`hidden_layer_sizes=(100,)`, `random_state=0`, `max_iter=200`, "
             "the rest scikit-learn's defaults); test score (accuracy, or R^2 for linnerud's "
             "three outputs) on a quarter held out (stratified for classes); the weighted rows "
             "pass bootstrap counts as `sample_weight`. Written by `bench/sklearn_parity.py`.",
             "", "| data | solver | learning_rate | early_stopping | score glassnet / sklearn "
             "| iterations glassnet / sklearn | fit time glassnet / sklearn |",
             "|---|---|---|---|---|---|---|"]
    same_score = same_iterations = 0
    for name, solver, rate, stop, r in rows:
        (ga, gi, gt), (sa, si, st) = r["glassnet"], r["sklearn"]
        same_score += abs(ga - sa) <= 1e-9
        same_iterations += gi == si
        lines.append(f"| {name} | {solver} | {rate} | {stop} | {ga:.4f} / {sa:.4f} | "
                     f"{gi} / {si} | {gt:.2f} s / {st:.2f} s ({st / gt:.1f}x) |")
    lines += ["", f"The same test score (to 1e-9) in {same_score} of {len(rows)} rows; the same "
              f"iteration count in {same_iterations} of {len(rows)}."]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    text = render(run(args.quick))
    if args.out:
        from glassnet.checkpoints import atomic_write_bytes

        atomic_write_bytes(args.out, text.encode())
    print(text)


if __name__ == "__main__":
    main()
