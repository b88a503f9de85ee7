"""Raw public tables in, predictions out: glassnet's defaults against scikit-learn's.

Each table ships inside a package (palmerpenguins, statsmodels' datasets, scikit-learn's bundled
sets; nothing is downloaded) and is written out as the raw CSV a user would have: text columns,
empty cells. Then, on the same train/test split (glassnet's: seeded, stratified):

- **glassnet**: the recipe the command runs (``glassnet train --data T.csv --label L`` with no
  other option: raw columns preprocessed and stored, Adam at 1e-3, early stopping), timed
  in-process from the raw rows to a trained model; the whole command's wall time beside it;
- **scikit-learn MLP**: ``MLPClassifier`` / ``MLPRegressor`` with their defaults, after a
  ``ColumnTransformer`` of median imputation with missing indicators + ``StandardScaler`` for
  numbers and ``OneHotEncoder(handle_unknown="ignore")`` for text, the regression target
  standardised (``TransformedTargetRegressor``): what a careful user builds by hand;
- **HistGradientBoosting**, scikit-learn's gradient-boosted trees (text as categories), the
  strong baseline for tables.

Scores are test accuracy (classification) or R^2 (regression). Run: ``python bench/tables.py
--out bench/tables.md``; ``--smoke`` runs two small tables.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _penguins():
    import palmerpenguins

    return palmerpenguins.load_penguins()


def _statsmodels(name):
    def load():
        import statsmodels.api as sm

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(sm.datasets, name).load_pandas().data
    return load


def _sklearn(name):
    def load():
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{name}")(as_frame=True)
        return bunch.frame
    return load


#: (name, loader of a pandas DataFrame, label column, extra command options)
TABLES = [
    ("penguins species", _penguins, "species", []),
    ("penguins sex", _penguins, "sex", ["--drop-missing-labels"]),
    ("penguins body mass", _penguins, "body_mass_g", ["--drop-missing-labels"]),
    ("anes96 vote", _statsmodels("anes96"), "vote", []),
    ("modechoice choice", _statsmodels("modechoice"), "choice", []),
    ("star98 NABOVE", _statsmodels("star98"), "NABOVE", []),
    ("grunfeld invest", _statsmodels("grunfeld"), "invest", []),
    ("fair affairs", _statsmodels("fair"), "affairs", []),
    ("randhie mdvis", _statsmodels("randhie"), "mdvis", []),
    ("iris", _sklearn("iris"), "target", []),
    ("wine", _sklearn("wine"), "target", []),
    ("breast cancer", _sklearn("breast_cancer"), "target", []),
    ("diabetes", _sklearn("diabetes"), "target", []),
]
SMOKE = ("penguins species", "diabetes")


def write_csv(frame, path: Path) -> None:
    """The table as a user's CSV: missing cells empty, numbers as pandas writes them."""
    frame.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)


def glassnet_fit(path: Path, label: str, extra: list[str], seed: int = 0):
    """The command's recipe in-process: load, preprocess, train; ``(seconds, score, ds,
    epochs)``. ``seed`` draws the split and the weights, as ``--seed`` does."""
    from glassnet import datasets
    from glassnet.recipe import TrainOptions
    from glassnet.recipe.train import prepare, train

    options = TrainOptions(data=str(path), label=label, seed=seed,
                           drop_missing_labels="--drop-missing-labels" in extra)
    start = time.perf_counter()
    ds = datasets.load(path, label=label, seed=options.seed,
                       drop_missing_labels=options.drop_missing_labels)
    result = train(options, prepare(options, ds))
    seconds = time.perf_counter() - start
    scores = result.model.evaluate(ds.X_test, ds.named(ds.y_test))
    return seconds, scores["r2"] if ds.task == "regression" else scores["accuracy"], ds, \
        len(result.history)


def frame_of(ds, X):
    """glassnet's raw cells as the DataFrame scikit-learn's pipeline takes: numbers as floats
    with NaN, text as strings (None where missing)."""
    import pandas as pd

    from glassnet.recipe.columns import missing_mask, parse_numbers

    columns = {}
    for j, name in enumerate(ds.feature_names):
        numbers = parse_numbers(ds.X_train[:, j])
        cells = X[:, j]
        if numbers is not None:
            columns[name] = parse_numbers(cells)
        else:
            columns[name] = pd.Series([None if m else str(c).strip() for c, m in
                                       zip(cells, missing_mask(cells))], dtype="object")
    return pd.DataFrame(columns)


def sklearn_fits(ds, seed: int = 0, with_trees: bool = True) -> dict:
    """The MLP pipeline and (``with_trees``) HistGradientBoosting on glassnet's split:
    ``{name: (s, score)}``."""
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    train, test = frame_of(ds, ds.X_train), frame_of(ds, ds.X_test)
    text = [c for c in train.columns if train[c].dtype == object]
    numeric = [c for c in train.columns if c not in text]
    regression = ds.task == "regression"
    y_train = ds.y_train.astype(float) if regression else ds.named(ds.y_train).astype(str)
    y_test = ds.y_test.astype(float) if regression else ds.named(ds.y_test).astype(str)
    columns = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median", add_indicator=True),
                                  StandardScaler()), numeric),
        ("text", make_pipeline(SimpleImputer(strategy="constant", fill_value="?"),
                               OneHotEncoder(handle_unknown="ignore")), text)])
    mlp = make_pipeline(columns, TransformedTargetRegressor(MLPRegressor(random_state=seed),
                                                            transformer=StandardScaler())
                        if regression else MLPClassifier(random_state=seed))
    trees = make_pipeline(ColumnTransformer([
        ("text", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                encoded_missing_value=-2), text)],
        remainder="passthrough", verbose_feature_names_out=False).set_output(
            transform="pandas"),
        (HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier)(
            categorical_features=[f"{c}" for c in text] or None, random_state=seed))
    out = {}
    models = {"mlp": mlp, "trees": trees} if with_trees else {"mlp": mlp}
    for name, model in models.items():
        y = y_train.reshape(-1, 1).ravel()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # the MLP's ConvergenceWarning
            start = time.perf_counter()
            model.fit(train, y)
            seconds = time.perf_counter() - start
        out[name] = (seconds, float(model.score(test, y_test)))
    return out


def command_seconds(path: Path, label: str, extra: list[str], folder: Path) -> float:
    """``glassnet train`` as a user runs it: a fresh process, every file written."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "glassnet", "train", "--data", str(path), "--label",
                    label, *extra, "--out", str(folder), "--quiet", "--allow-poor"],
                   check=True, capture_output=True,
                   env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    return time.perf_counter() - start


#: what the mean paired difference must resolve: 1 point of accuracy, 0.02 of R^2
TARGET = {"classification": 0.01, "regression": 0.02}


def splits_needed(gaps: np.ndarray, task: str, at_least: int, at_most: int) -> int:
    """How many splits resolve ``TARGET`` for a table whose paired differences so far are
    ``gaps``: enough that their standard error is at most half the target, so that a model
    as good as scikit-learn's lands within the target at two standard errors. Ten splits do
    that on most tables; on star98 (61 test rows, R^2 moving from -0.3 to 0.8 between splits)
    the standard deviation of the difference is about 0.2, and it takes about 400."""
    if len(gaps) < 2:
        return at_least
    half = TARGET[task] / 2
    return int(min(at_most, max(at_least, np.ceil((gaps.std(ddof=1) / half) ** 2))))


def run(tables, folder: Path, seeds: int, max_seeds: int) -> list[dict]:
    """Each table over ``seeds`` splits (seed 0, 1, ...) or more, up to ``max_seeds``, until
    the paired difference resolves the target (``splits_needed``): mean scores and seconds."""
    warm = folder / "warm.csv"                 # imports and first calls, not measured
    warm.write_text("a,b,y\n" + "\n".join(f"{i},{i % 3},{i % 2}" for i in range(40)))
    glassnet_fit(warm, "y", [])
    rows = []
    for name, load, label, extra in tables:
        try:
            frame = load()
        except ImportError as error:
            print(f"{name}: skipped ({error.name} is not installed)", file=sys.stderr)
            continue
        path = folder / (name.replace(" ", "_") + ".csv")
        write_csv(frame, path)
        runs, needed = [], seeds
        while len(runs) < needed:
            seed = len(runs)
            seconds, score, ds, epochs = glassnet_fit(path, label, extra, seed)
            others = sklearn_fits(ds, seed)
            # scikit-learn against itself on the same split, another random_state: the
            # noise a difference between two equally good networks shows.
            again = sklearn_fits(ds, seed + 10_000, with_trees=False)["mlp"][1]
            runs.append((score, seconds, epochs, *others["mlp"][::-1], *others["trees"][::-1],
                         again))
            if len(runs) % 10 == 0 or len(runs) == needed:
                gaps = np.array([r[0] - r[3] for r in runs])
                needed = splits_needed(gaps, ds.task, seeds, max_seeds)
        mean = np.mean(runs, axis=0)
        # Each split scores both models: the paired difference and its standard error say
        # whether a gap is the model's or the split's.
        gaps = np.array([r[0] - r[3] for r in runs])
        noise = np.array([r[7] - r[3] for r in runs])
        command = command_seconds(path, label, extra, folder / "runs" / path.stem)
        rows.append({"table": name, "task": ds.task, "rows": len(ds.X_train) + len(ds.X_test),
                     "columns": ds.n_features, "text columns": sum(p is None for p in _kinds(ds)),
                     "with missing": _with_missing(ds), "glassnet": mean[0],
                     "glassnet s": mean[1], "epochs": mean[2], "command s": command,
                     "mlp": mean[3], "mlp s": mean[4], "trees": mean[5], "trees s": mean[6],
                     "splits": len(runs), "gap": float(gaps.mean()), "gap se": _se(gaps),
                     "noise": float(noise.mean()), "noise se": _se(noise)})
        print(rows[-1], flush=True)
    return rows


def _se(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")


def _with_missing(ds) -> int:
    from glassnet.recipe.columns import missing_mask

    return int(sum(missing_mask(ds.X_train[:, j]).any() for j in range(ds.n_features)))


def _kinds(ds):
    from glassnet.recipe.columns import parse_numbers

    return [parse_numbers(ds.X_train[:, j]) for j in range(ds.n_features)]


def report(rows, machine: str, seeds: int, max_seeds: int) -> str:
    lines = ["# Raw tables: glassnet's defaults against scikit-learn", "",
             f"Machine: {machine}.", "",
             f"Each row is the mean over seeded splits (seeds 0, 1, ...: the split, glassnet's "
             "weights and scikit-learn's `random_state`), a stratified fifth held out, the same "
             "rows for all three. Scores on that test split: accuracy for classification, R^2 "
             f"for regression. At least {seeds} splits a table, and more (up to {max_seeds}) "
             "where the paired difference varies so much between splits that its standard "
             "error is above half the target (1 point of accuracy, 0.02 of R^2). `MLP again - "
             "MLP` is scikit-learn's pipeline against itself with another `random_state` on "
             "the same splits: the difference two equally good networks show. Seconds: from "
             "the raw rows to a trained model, in one process after a warm-up fit; `command s` "
             "is `glassnet train` as a user runs it once (a new process: start, read, train, "
             "write the run folder).",
             "",
             "| table | task | rows | columns (text, missing) | glassnet | scikit-learn MLP "
             "pipeline | glassnet - MLP (s.e.) | MLP again - MLP (s.e.) | "
             "HistGradientBoosting | glassnet s | MLP s | trees s | command s | "
             "glassnet epochs | splits |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['table']} | {r['task']} | {r['rows']} | {r['columns']} "
                     f"({r['text columns']}, {r['with missing']}) | {r['glassnet']:.3f} | "
                     f"{r['mlp']:.3f} | {r['gap']:+.3f} ({r['gap se']:.3f}) | "
                     f"{r['noise']:+.3f} ({r['noise se']:.3f}) | "
                     f"{r['trees']:.3f} | {r['glassnet s']:.2f} | "
                     f"{r['mlp s']:.2f} | {r['trees s']:.2f} | {r['command s']:.2f} | "
                     f"{r['epochs']:.0f} | {r['splits']} |")
    within = [r for r in rows if r["gap"] >= -TARGET[r["task"]]]
    # Below the target by more than two standard errors of the paired difference: a gap the
    # splits' noise does not explain.
    clearly = [r["table"] for r in rows if r["gap"] + 2 * r["gap se"] < -TARGET[r["task"]]]
    faster = [r for r in rows if r["glassnet s"] <= r["mlp s"]]
    lines += ["", f"Within 1 point of accuracy (0.02 of R^2) of the MLP pipeline or better: "
              f"{len(within)} of {len(rows)} tables; below it by more than two standard "
              f"errors: {len(clearly)} ({', '.join(clearly) or 'none'}); no slower than it: "
              f"{len(faster)} of {len(rows)}."]
    return "\n".join(lines) + "\n"


def main():
    from run import machine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--seeds", type=int, default=10, help="the fewest splits a table")
    parser.add_argument("--max-seeds", type=int, default=400,
                        help="the most splits a table, where ten do not resolve the target")
    parser.add_argument("--smoke", action="store_true", help="two small tables, one split")
    args = parser.parse_args()
    tables = [t for t in TABLES if t[0] in SMOKE] if args.smoke else TABLES
    seeds = 1 if args.smoke else args.seeds
    max_seeds = seeds if args.smoke else max(seeds, args.max_seeds)
    with tempfile.TemporaryDirectory() as folder:
        rows = run(tables, Path(folder), seeds, max_seeds)
    text = report(rows, machine(), seeds, max_seeds)
    if args.smoke:
        text = "**SMOKE RUN** (two tables, one split): not a measurement.\n\n" + text
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
