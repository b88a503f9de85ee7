"""The estimators end to end: ``NeuralNetClassifier``/``NeuralNetRegressor`` against
scikit-learn's ``MLPClassifier``/``MLPRegressor`` with the same arguments, on tabular data of
10^3 to 10^5 rows and 10 to 500 features and on MNIST; and the ``glassnet`` command against
the library for the same training.

    python bench/estimators.py --out bench/estimators.md [--smoke]

Each fit runs in its own process; the table gives the fit time, the iterations run and the
score on a held-out quarter (accuracy, or R^2 for the regressor). Both libraries get the same
arguments (scikit-learn's defaults: Adam, one hidden layer of 100, batches of 200, the
tolerance rule) and float64 data, as a user calls them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(HERE))

# (name, task, rows, features, max_iter)
TABULAR = [("classification 10^3 x 10", "classification", 1_000, 10, 200),
           ("classification 10^4 x 100", "classification", 10_000, 100, 200),
           ("classification 10^5 x 10", "classification", 100_000, 10, 50),
           ("classification 10^5 x 500", "classification", 100_000, 500, 20),
           ("regression 10^4 x 100", "regression", 10_000, 100, 200)]
#: epochs the NumPy floor runs to time one (its fit time is that times scikit-learn's epochs)
FLOOR_EPOCHS = 20


def data(task, rows, features, seed=0):
    from sklearn.datasets import make_classification, make_regression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    if task == "classification":
        X, y = make_classification(rows, features, n_informative=min(features, 10),
                                   n_redundant=0, n_classes=3, n_clusters_per_class=2,
                                   flip_y=0.02, random_state=seed)
    else:
        X, y = make_regression(rows, features, n_informative=min(features, 10), noise=5.0,
                               random_state=seed)
        y = y / y.std()
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def worker(framework, spec) -> dict:
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)
    if spec["task"] == "mnist":
        from glassnet.datasets import load_mnist

        ds = load_mnist(spec["data"], limit=spec.get("limit"))
        X_train, X_test, y_train, y_test = ds.X_train, ds.X_test, ds.y_train, ds.y_test
        task = "classification"
    else:
        task = spec["task"]
        X_train, X_test, y_train, y_test = data(task, spec["rows"], spec["features"])
    if framework == "NumPy floor":
        import floor

        # Compiled Adam first, so that Numba's start is timed in a fresh process; then NumPy's.
        epochs, hidden = min(spec["max_iter"], FLOOR_EPOCHS), spec.get("hidden", (100,))[0]
        numba = importlib.util.find_spec("numba") is not None
        runs = {fused: floor.fit_seconds(X_train, y_train, X_test, y_test, task, epochs,
                                         hidden=hidden, fused=fused)
                for fused in ((True, False) if numba else (False,))}
        # "seconds" (both loops) picks the least disturbed of the repeats, as for the others.
        return {"seconds": sum(run["seconds"] for run in runs.values()),
                "per_epoch_fused": runs[True]["per_epoch"] if numba else None,
                "numba_start": runs[True]["numba_start"] if numba else None,
                "per_epoch_numpy": runs[False]["per_epoch"], "score": runs[False]["score"]}
    if framework.startswith("glassnet"):
        from glassnet.sklearn import NeuralNetClassifier as Classifier
        from glassnet.sklearn import NeuralNetRegressor as Regressor
    else:
        from sklearn.neural_network import MLPClassifier as Classifier
        from sklearn.neural_network import MLPRegressor as Regressor
    Model = Classifier if task == "classification" else Regressor
    # "glassnet float32": the one argument scikit-learn's MLP has no counterpart for (it
    # computes in X's dtype), to show what it buys; every other cell uses the same arguments.
    extra = {"dtype": "float32"} if framework == "glassnet float32" else {}
    model = Model(hidden_layer_sizes=tuple(spec.get("hidden", (100,))),
                  max_iter=spec["max_iter"], random_state=0, **extra)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "iterations": int(model.n_iter_),
            "score": float(model.score(X_test, y_test))}


def command_against_library(rows: int, features: int, epochs: int) -> dict:
    """``glassnet train`` on a CSV, timed as a user runs it, beside the library doing the
    same training in one process (read the CSV, scale, fit)."""
    import numpy as np
    from sklearn.datasets import make_classification

    X, y = make_classification(rows, features, random_state=0)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        table = folder / "data.csv"
        header = ",".join(f"f{i}" for i in range(features)) + ",target"
        np.savetxt(table, np.column_stack([X, y]), delimiter=",", header=header, comments="",
                   fmt="%.6g")
        args = ["--data", str(table), "--label", "target", "--layers", "64",
                "--optimizer", "adam", "--epochs", str(epochs), "--batch-size", "128",
                "--validation-split", "0", "--quiet"]
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "glassnet", "train", *args, "--out",
                        str(folder / "run")], check=True, capture_output=True, env=env)
        command = time.perf_counter() - start
        script = f"""
import time
start = time.perf_counter()
import pandas as pd
import glassnet as gn
from glassnet.recipe import Preprocessor
frame = pd.read_csv({str(table)!r})
X, y = frame.drop(columns="target").to_numpy(), frame["target"].to_numpy()
X = Preprocessor("standard").fit(X).transform(X)
net = gn.Network([gn.Dense(64, "relu"), gn.Dense(1, "sigmoid")], seed=0)
net.fit(X, y, optimizer=gn.Adam(0.001), epochs={epochs}, batch_size=128)
print(time.perf_counter() - start)
"""
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                             text=True, env=env)
        library_process = time.perf_counter() - start
        library_inside = float(out.stdout.strip().splitlines()[-1])
    return {"command": command, "library_process": library_process,
            "library_inside": library_inside}


def floor_seconds(floor: dict, epochs: int) -> tuple[list[float], float]:
    """The NumPy floor's fit of ``epochs`` epochs from its per-epoch times: ``[compiled Adam,
    NumPy's Adam]`` (NumPy's alone without Numba), and the one a fresh process finishes first,
    which pays Numba's start before its first compiled step."""
    fits = [floor["per_epoch_numpy"] * epochs]
    if floor["per_epoch_fused"] is not None:
        fits.insert(0, floor["per_epoch_fused"] * epochs)
    return fits, min(fits[-1], fits[0] + (floor["numba_start"] or 0.0))


def run(framework, specs) -> list[dict]:
    """``worker`` for each of ``specs``, in one new process."""
    from run import in_process

    return in_process(Path(__file__).resolve(), [framework, specs], timeout=7200)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: seconds, not results")
    parser.add_argument("--mnist", type=Path, default=DATA / "mnist")
    parser.add_argument("--repeats", type=int, default=1,
                        help="fits per framework and cell, alternating; the fastest is kept")
    parser.add_argument("--only", default="", help="run the cells whose name contains this")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        framework, specs = json.loads(args.worker)
        print(json.dumps([worker(framework, spec) for spec in specs]))
        return
    from run import emit, machine, versions

    specs = [{"name": name, "task": task, "rows": rows // (100 if args.smoke else 1),
              "features": features, "max_iter": 3 if args.smoke else max_iter}
             for name, task, rows, features, max_iter in TABULAR]
    if (args.mnist / "train-images-idx3-ubyte.gz").exists() or \
            (args.mnist / "train-images-idx3-ubyte").exists():
        specs.append({"name": "MNIST 60000 x 784", "task": "mnist", "data": str(args.mnist),
                      "max_iter": 2 if args.smoke else 20,
                      "limit": 2000 if args.smoke else None})
    specs = [spec for spec in specs if args.only in spec["name"]]
    frameworks = ("glassnet", "sklearn", "glassnet float32", "NumPy floor")
    # A smoke run checks the code, not the speed: one process per framework for every fit.
    smoke = {f: run(f, specs) for f in frameworks} if args.smoke else None
    rows = []
    for i, spec in enumerate(specs):
        if smoke:
            fits = [{f: smoke[f][i] for f in frameworks}]
        else:
            # Alternating the two, so that a slow spell of a shared machine hits both.
            fits = [{f: run(f, [spec])[0] for f in frameworks} for _ in range(args.repeats)]
        result = {f: min((fit[f] for fit in fits), key=lambda r: r["seconds"])
                  for f in frameworks}
        # Each repeat's own ratios too: its fits ran back to back, so the ratios' spread over
        # the repeats shows how far the machine's speed moved while the cell ran.
        paired = [(fit["sklearn"]["seconds"] / fit["glassnet"]["seconds"],
                   fit["sklearn"]["seconds"] /
                   floor_seconds(fit["NumPy floor"], fit["sklearn"]["iterations"])[1])
                  for fit in fits]
        rows.append((spec, result, paired))
        g, s = result["glassnet"], result["sklearn"]
        print(f"{spec['name']}: glassnet {g['seconds']:.2f} s ({g['iterations']} it, "
              f"{g['score']:.3f}), sklearn {s['seconds']:.2f} s ({s['iterations']} it, "
              f"{s['score']:.3f})", flush=True)
    lines = ["# The estimators against scikit-learn's MLP, and the command against the library",
             "", f"- machine: {machine()}",
             "- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
             f"- method: {args.repeats} fit(s) per framework and cell, alternating, each in "
             "its own process, the fastest kept; both estimators get the "
             "same arguments (`hidden_layer_sizes=(100,)`, `random_state=0`, the `max_iter` "
             "shown, the rest scikit-learn's defaults: Adam at 0.001, batches of 200, stop "
             "after 10 epochs without a 1e-4 gain); float64 data, standardised; score on a "
             "held-out quarter (accuracy; R^2 for the regressor)."
             + (" SMOKE RUN: too short to mean anything." if args.smoke else ""), "",
             "| data | max_iter | fit glassnet | fit scikit-learn | speed-up | speed-up in each "
             "repeat: glassnet, NumPy floor | iterations "
             "glassnet / sklearn | score glassnet / sklearn | NumPy floor: fit with compiled / "
             "NumPy Adam, most speed-up in a fresh process, score after its epochs | glassnet "
             "`dtype=\"float32\"`: "
             "fit, speed-up, iterations, score |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    starts = [r["NumPy floor"]["numba_start"] for _, r, _ in rows
              if r["NumPy floor"]["numba_start"] is not None]
    for spec, result, paired in rows:
        g, s, g32 = result["glassnet"], result["sklearn"], result["glassnet float32"]
        floor = result["NumPy floor"]
        fits, fresh = floor_seconds(floor, s["iterations"])
        each = "; ".join(f"{mine:.2f}x, {least:.2f}x" for mine, least in paired)
        lines.append(f"| {spec['name']} | {spec['max_iter']} | {g['seconds']:.2f} s | "
                     f"{s['seconds']:.2f} s | {s['seconds'] / g['seconds']:.2f}x | {each} | "
                     f"{g['iterations']} / {s['iterations']} | {g['score']:.3f} / "
                     f"{s['score']:.3f} | {' / '.join(f'{fit:.2f}' for fit in fits)} s, "
                     f"{s['seconds'] / fresh:.2f}x, {floor['score']:.3f} | {g32['seconds']:.2f} s, "
                     f"{s['seconds'] / g32['seconds']:.2f}x, {g32['iterations']}, "
                     f"{g32['score']:.3f} |")
    lines += ["", "The speed-up compares the fastest fit of each; the next column gives each "
              "repeat's own ratios (its fits ran back to back): their spread shows how far the "
              "machine's speed moved while the cell ran.",
              "", "Time per iteration differs from time to fit where the two stop after "
              "different numbers of iterations. The last column is not the same arguments: "
              "`dtype=\"float32\"` has glassnet compute in float32 whatever X's dtype "
              "(scikit-learn computes in X's; MNIST is float32 for both already).",
              "", "The NumPy floor (`bench/floor.py`) is the same training written as the "
              f"fewest NumPy calls, with no checks, run for {FLOOR_EPOCHS} epochs (fewer where "
              "`max_iter` is) and scaled to scikit-learn's number of epochs, twice: with "
              "glassnet's compiled Adam update (Numba's start left out of the fit) and with "
              "NumPy's passes. The speed-up is the better of the two as a fresh process pays "
              "it, the compiled one with Numba's start added" + (
                  f" ({statistics.median(starts):.2f} s here)" if starts else
                  " (Numba is not installed: NumPy's only)")
              + ". A library built on NumPy's products that takes the same steps cannot fit "
              "much faster than the floor on this machine: its speed-up is about the most any "
              "could show here. Its score, after its own epochs, shows that it trains."]
    if args.only:                   # a few cells, for a closer look: not the whole report
        emit(lines, args.out)
        return
    cli = command_against_library(2000 if args.smoke else 20_000, 20, 2 if args.smoke else 20)
    lines += ["", "## The command against the library", "",
              "`glassnet train` on a CSV (20 features, one hidden layer of 64, Adam, batches of "
              "128) timed as a user runs it, beside a script that does the same training with "
              "the library (read the CSV with pandas, scale, fit):", "",
              "| | seconds |", "|---|---|",
              f"| `glassnet train ...` (whole process) | {cli['command']:.2f} |",
              f"| the library script (whole process) | {cli['library_process']:.2f} |",
              f"| the library script (inside, after start-up) | {cli['library_inside']:.2f} |",
              "", "The command's extra time is its start-up (most of it importing scikit-learn "
              "and SciPy for the stratified split, profiled), its checks of the table, its "
              "test-split evaluation, the plots and the run folder it writes."]
    emit(lines, args.out)


if __name__ == "__main__":
    main()
