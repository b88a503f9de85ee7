"""The ``glassnet`` command: train, evaluate, predict, explain, export, info, runs, tune,
gradcheck, reproduce, playground.

A front door: it reads options and files and calls the recipe (``glassnet.recipe``), which owns
every rule (the output layer, the labels, the preprocessing, the options' checks). Every error
a user can cause (a missing file, a bad option, data of the wrong shape) prints one line,
``error: ...``, and exits with status 1; no traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None, context_settings={"help_option_names": ["-h", "--help"]},
                  help="glassnet: train, inspect and use neural networks you can see through.")


class CLIError(Exception):
    """An error whose message is all the user needs."""


def _console(width: int | None = None):
    """Rich output that never interprets what it prints: file names, CSV headers, class names
    and model metadata are untrusted text, so markup (``[link=...]``) and highlighting are off
    and control characters (terminal escapes) are shown, not sent. ``width``: the least width
    (a wide table piped to a file is not cut to 80 columns)."""
    from rich.console import Console

    console = Console(markup=False, highlight=False, emoji=False)
    if width and console.width < width:
        console.width = width
    return console


def _plain(value) -> str:
    """``value`` as one line of visible text: control characters become ``\\xNN``."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in str(value))


def _parse_layers(text: str) -> list[int]:
    from glassnet.recipe import parse_layers

    try:
        return list(parse_layers(text))
    except ValueError as exc:
        raise CLIError(f"--{exc}") from None


# ----------------------------------------------------------------------------- train
def _opt(help_text: str, kind=str, *flags):
    """A ``train`` option that defaults to None ("not given": a --config file or the recipe's
    default applies)."""
    return Annotated[kind | None, typer.Option(*flags, help=help_text)]


Data = _opt("Built-in (moons, circles, spirals, xor, blobs) or a path: .csv, .npz, cat/non-cat "
            "HDF5 folder, MNIST IDX folder, folder of class sub-folders. Default moons.")
Label = _opt("CSV label column: a name or an index (-1, the default: the last).")
Task = _opt("auto (default), classification or regression.")
Layers = _opt("Hidden layer sizes, e.g. 10,5 (default 100).")
Activation = _opt("Hidden activation (default relu).")
Init = _opt("Initial weights: auto (default: glorot_uniform for tables, lecun_normal for "
            "images), glorot_uniform, glorot_normal, he_normal, he_uniform or lecun_normal.")
Optimizer = _opt("adam (default), sgd, adamw or rmsprop.")
LearningRate = _opt("Learning rate (default 0.001).", float)
Momentum = _opt("SGD momentum (default 0).", float)
Schedule = _opt("none (default), cosine, step or exponential.")
Epochs = _opt("Most passes over the training data (default 300; early stopping usually "
              "ends sooner).", int)
BatchSize = _opt("Mini-batch size; 0 = full batch; auto (default) = min(200, n).")
Dropout = _opt("Dropout rate after each hidden layer (default 0).", float)
L2 = _opt("L2 penalty on the weights (default 0).", float)
L1 = _opt("L1 penalty on the weights (default 0).", float)
TestSize = _opt("Fraction held out for testing (default 0.2).", float)
ValidationSplit = _opt("Fraction of the training split held out for early stopping (default "
                       "auto: 0.1 when that is 100 rows or more; 0: none).")
ValidationFreq = _opt("Without a validation split: measure the test split every N epochs "
                      "for the loss plot (default 0: only at the end).", int)
EarlyStopping = _opt("Patience in epochs on the validation loss; the best weights are kept "
                     "(default auto: 20 epochs or 500 steps, the longer; without a validation "
                     "split, scikit-learn's rule on the training loss; 0 = off).")
Scale = _opt("auto (default: standard for tables, center for images), standard, minmax, "
             "center or none.")
MaxCategories = _opt("Most categories one-hot encoded per text column (default 50).", int)
ImageSize = _opt("Image side in pixels (default 64).", int)
Seed = _opt("Seed for the weights, shuffling and the split (default 0).", int)
Dtype = _opt("float64 (default) or float32.")
CheckpointEvery = _opt("Checkpoint every N epochs (default 0: at the end and on Ctrl-C).", int)
Flag = Annotated[bool, typer.Option()]


def _train_options(ctx_values: dict, config: Path | None):
    """``TrainOptions`` from the defaults, a TOML ``config`` and the options given (which
    win), checked before any data is read."""
    import tomllib

    from glassnet.recipe import TrainOptions

    base = TrainOptions()
    if config is not None:
        try:
            values = tomllib.loads(config.read_text())
        except FileNotFoundError:
            raise CLIError(f"--config {_plain(config)}: no such file") from None
        except tomllib.TOMLDecodeError as exc:
            raise CLIError(f"--config {_plain(config)} is not valid TOML: {exc}") from None
        try:
            base = TrainOptions.from_mapping(values)
        except (ValueError, TypeError) as exc:
            raise CLIError(f"--config {_plain(config)}: {exc}") from None
    given = {k: v for k, v in ctx_values.items() if v is not None and v is not False}
    try:
        return TrainOptions.from_mapping(given, base)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        field = message.split(" ", 1)[0]
        if field in given:                    # named as the user typed it: --learning-rate
            message = "--" + field.replace("_", "-") + message[len(field):]
        raise CLIError(message) from None


def _toml(options) -> str:
    lines = ["# glassnet train --config this-file repeats this run"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in options.to_dict().items()]
    return "\n".join(lines) + "\n"


def _load(o, **overrides):
    from glassnet import datasets

    args = {"label": o.label, "seed": o.seed, "test_size": o.test_size,
            "image_size": (o.image_size, o.image_size), "task": o.task,
            "drop_missing_labels": o.drop_missing_labels} | overrides
    return datasets.load(o.data, **args)


class _StopOnInterrupt:
    """Ctrl-C asks the fit to stop after the current epoch (a second one stops at once)."""

    def __init__(self):
        self.requested = False

    def __enter__(self):
        import signal

        def handler(signum, frame):
            self.requested = True
            signal.signal(signal.SIGINT, signal.default_int_handler)

        self.previous = signal.signal(signal.SIGINT, handler)
        return self

    def __exit__(self, *exc):
        import signal

        signal.signal(signal.SIGINT, self.previous)
        return False

    def callback(self):
        from glassnet.callbacks import Callback

        stopper = self

        class StopWhenAsked(Callback):
            reads_weights = False

            def on_epoch_end(self, epoch, logs, net, history):
                return stopper.requested

        return StopWhenAsked()


@app.command()
def train(data: Data = None, label: Label = None, task: Task = None, layers: Layers = None,
          activation: Activation = None, init: Init = None, optimizer: Optimizer = None,
          learning_rate: LearningRate = None, momentum: Momentum = None,
          schedule: Schedule = None, epochs: Epochs = None, batch_size: BatchSize = None,
          dropout: Dropout = None, l2: L2 = None, l1: L1 = None, test_size: TestSize = None,
          validation_split: ValidationSplit = None, validation_freq: ValidationFreq = None,
          early_stopping: EarlyStopping = None, scale: Scale = None,
          max_categories: MaxCategories = None, image_size: ImageSize = None,
          seed: Seed = None, dtype: Dtype = None, checkpoint_every: CheckpointEvery = None,
          drop_missing_labels: Annotated[bool, typer.Option(
              "--drop-missing-labels", help="Leave out rows without a label (counted) instead "
              "of refusing them.")] = False,
          config: Annotated[Path | None, typer.Option(help="A TOML file of these options.")]
          = None,
          tensorboard: Annotated[Path | None, typer.Option(
              help="Write TensorBoard event files (losses, metrics, learning rate, weight and "
                   "gradient histograms) into this folder.")] = None,
          out: Annotated[Path | None, typer.Option(help="Run folder (default: a new "
                                                   "runs/NAME-N).")] = None,
          overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the run in "
                                                  "--out.")] = False,
          resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out "
                                               "from its checkpoint.")] = False,
          allow_poor: Annotated[bool, typer.Option("--allow-poor", help="Exit 0 even if the "
                                                   "model diverged or beats no baseline.")]
          = False,
          quiet: Annotated[bool, typer.Option("--quiet", help="No progress output.")] = False):
    """Train a network on raw data; write the model (with its preprocessing), its history,
    metrics, config and plots into a run folder."""
    from glassnet import datasets, runs
    from glassnet.recipe.train import prepare

    given = {k: v for k, v in locals().items() if k not in (
        "config", "out", "overwrite", "resume", "allow_poor", "quiet", "datasets", "runs",
        "prepare", "tensorboard")}
    loggers = [] if tensorboard is None else [_tensorboard(tensorboard)]
    if resume and out is not None and config is None and (out / "config.toml").exists():
        config = out / "config.toml"          # a resumed run repeats its own options
    o = _train_options(given, config)
    name = o.data if o.data in datasets.BUILTINS else Path(o.data).stem
    folder = runs.plan_folder(out, name, overwrite, resume)
    ds = _load(o)
    prepared = prepare(o, ds)
    with runs.RunLock(folder, clear=overwrite and not resume) as lock:
        if lock.note:
            print(f"note: {lock.note}", file=sys.stderr)
        result, seconds, interrupted = _fit(o, ds, prepared, folder, quiet, loggers)
        metrics = _write_run(o, ds, prepared, result, seconds, folder)
    _finish(result, metrics, folder, seconds, interrupted, allow_poor)


def _tensorboard(folder: Path):
    try:
        from glassnet.tensorboard import TensorBoard

        return TensorBoard(folder)
    except ImportError as exc:
        raise CLIError(str(exc)) from None


def _fit(o, ds, prepared, folder: Path, quiet: bool, callbacks=()):
    import time

    model, console = prepared.model, _console()
    net, target = model.network, model.target
    what = "regression" if target.regression else f"{len(target.classes)} classes"
    dropped = f" ({ds.dropped} rows without a label left out)" if ds.dropped else ""
    console.print(f"glassnet {_plain(ds.name)}: {len(prepared.X_train)} train / "
                  f"{len(prepared.X_test)} test samples{dropped}, {ds.n_features} features, "
                  f"{what}; network {net.input_dim}-{'-'.join(map(str, o.layers))}"
                  f"{'-' if o.layers else ''}{net.output_dim}, {net.n_params} parameters; "
                  f"writing {_plain(folder)}/", soft_wrap=True)
    if ds.left_out:
        console.print(f"left out: {_plain('; '.join(ds.left_out))}", soft_wrap=True)
    if not model.preprocessor.is_identity:
        console.print(f"preprocessing: {_plain(model.preprocessor.summary())}", soft_wrap=True)
    interactive = sys.stdout.isatty() and not quiet
    from glassnet.recipe.train import train as run

    start = time.perf_counter()
    with _StopOnInterrupt() as interrupt:
        result = run(o, prepared, callbacks=[interrupt.callback(), *callbacks],
                     progress=interactive,
                     verbose=0 if interactive or quiet else max(1, o.epochs // 20),
                     checkpoint=folder)
    return result, time.perf_counter() - start, interrupt.requested


def _metrics(model, prepared) -> dict:
    """Train and test metrics on the splits as ``prepare`` preprocessed them (not again from
    the raw rows), the baseline they are compared with, and the report lines."""
    train = model.evaluate_inputs(prepared.X_train, prepared.y_train)
    test = model.evaluate_inputs(prepared.X_test, prepared.y_test)
    if model.target.regression:
        return {"train_r2": train["r2"], "test_r2": test["r2"], "test_mae": test["mae"],
                "test_loss": test["loss"], "baseline": "the mean (R^2 0)",
                "baseline_beaten": bool(test["r2"] > 0),
                "report": [f"train R^2: {train['r2']:.4f}",
                           f"test R^2: {test['r2']:.4f}, MAE {test['mae']:.4g} (predicting "
                           "the mean: R^2 0)"]}
    acc, majority = test["accuracy"], test["majority"]
    return {"train_accuracy": train["accuracy"], "test_accuracy": acc,
            "test_loss": test["loss"], "majority_baseline": majority,
            "baseline": "the most common class", "baseline_beaten": bool(acc > majority),
            "report": [f"train accuracy: {train['accuracy']:.4f}",
                       f"test accuracy: {acc:.4f} (test error {1 - acc:.2%}; the most common "
                       f"class alone: {majority:.4f})"]}


def _write_run(o, ds, prepared, result, seconds: float, folder: Path) -> dict:
    """The model, history, config and metrics (each written atomically), and the plots."""
    import glassnet as gn
    from glassnet import datasets, runs
    from glassnet.checkpoints import atomic_write_bytes

    model, history = result.model, result.history
    metrics = _metrics(model, prepared)
    source = ds.source if ds.source in datasets.BUILTINS else str(Path(ds.source).resolve())
    options = {**o.to_dict(), "data": source}
    meta = {"data": source, "data_sha256": runs.fingerprint(source), "label": ds.label_name,
            "options": options, "optimizer": result.optimizer.get_config(),
            **{k: v for k, v in metrics.items() if k != "report"},
            "training_seconds": seconds, "glassnet_version": gn.__version__}
    model.save(folder / "model.safetensors", meta)
    record = {**{k: v for k, v in meta.items() if k not in ("optimizer",)},
              "data_name": ds.name, "task": model.target.task, "layers": options["layers"],
              "optimizer": o.optimizer, "learning_rate": o.learning_rate,
              "epochs_run": len(history), "seconds": seconds, "dropped_rows": ds.dropped}
    atomic_write_bytes(folder / "metrics.json", json.dumps(record, indent=1).encode())
    atomic_write_bytes(folder / "history.json", json.dumps(history.to_dict(), indent=1).encode())
    atomic_write_bytes(folder / "config.toml", _toml(o).encode())
    _plots(ds, prepared, history, folder)
    return metrics


def _plots(ds, prepared, history, folder: Path) -> None:
    from types import SimpleNamespace

    import numpy as np

    from glassnet import plotting

    model = prepared.model
    net, target = model.network, model.target
    if len(history):
        plotting.save(plotting.loss_curve(history, title=f"{ds.name}: loss"),
                      folder / "loss.png")
    if target.regression:
        truth = prepared.y_test * target.scale + target.offset
        plotting.save(plotting.predicted_vs_true(target.decode(net.predict_proba(
            prepared.X_test)), truth, title=f"{ds.name}: test split"),
            folder / "predicted_vs_true.png")
    elif ds.image_shape is not None:
        wrong = np.flatnonzero(net.predict(prepared.X_test) != prepared.y_test)[:32]
        if len(wrong):
            # The pictures as loaded (not centred), the network's outputs through the model.
            outputs = SimpleNamespace(predict_proba=model.outputs)
            plotting.save(plotting.image_predictions(
                outputs, ds.X_test[wrong], prepared.y_test[wrong], image_shape=ds.image_shape,
                class_names=target.classes, max_images=32,
                title=f"{ds.name}: misclassified test images"), folder / "misclassified.png")
    elif net.input_dim == 2 and ds.n_features == 2:
        plotting.save(plotting.decision_boundary(
            net, np.vstack([prepared.X_train, prepared.X_test]),
            np.concatenate([prepared.y_train, prepared.y_test]),
            title=f"{ds.name}: decision boundary", class_names=target.classes),
            folder / "decision_boundary.png")


def _finish(result, metrics: dict, folder: Path, seconds: float, interrupted: bool,
            allow_poor: bool) -> None:
    """The report, and the exit status: 130 after Ctrl-C, 3 for a poor run."""
    import resource

    from glassnet.runs import RUN_FILES

    console, history = _console(), result.history
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in metrics["report"]:
        console.print(line, soft_wrap=True)
    written = ", ".join(sorted(_plain(p.name) for p in folder.iterdir() if p.name in RUN_FILES))
    console.print(f"trained {len(history)} epochs in {seconds:.2f} s, peak memory {peak:.0f} "
                  f"MB; wrote {_plain(folder)}/: {written}", soft_wrap=True)
    if interrupted:
        last = history.epochs[-1] if len(history) else 0
        console.print(f"interrupted: stopped after epoch {last} and saved the model and a "
                      f"checkpoint. Continue with: glassnet train --out {_plain(folder)} "
                      "--resume", soft_wrap=True)
        raise typer.Exit(130)
    problem = None
    if result.diverged is not None:
        problem = f"training diverged ({result.diverged}) The model saved is the last good one."
    elif not metrics["baseline_beaten"]:
        problem = ("the model is no better than predicting " + metrics["baseline"] +
                   f" ({metrics['report'][-1]})")
    if problem:
        print(f"warning: {problem}" + ("" if allow_poor else " (exit status 3; --allow-poor "
                                       "accepts such a run)"), file=sys.stderr)
        if not allow_poor:
            raise typer.Exit(3)


# ----------------------------------------------------------------------------- using a model
def _load_model(path: Path):
    """The ``recipe.Model`` in a model file, every part of its metadata checked."""
    from glassnet.recipe import Model

    try:
        return Model.load(path)
    except ValueError as exc:
        if type(exc).__name__ == "ModelFileError":
            raise
        raise CLIError(f"{_plain(path)}: the model's metadata is damaged: {exc}") from None


def _model_data(model, data: str | None, split: str, seed: int | None = None):
    """The raw rows and labels a model file names (its data, split and seed), or ``data``."""
    import numpy as np

    from glassnet import runs
    from glassnet.recipe import TrainOptions

    meta = model.network.metadata or {}
    stored = meta.get("options") or {}
    source = data or meta.get("data")
    if not source:
        raise CLIError("the model file does not say what data it was trained on: pass --data")
    if data is None and meta.get("data_sha256") and runs.fingerprint(source) not in (
            None, meta["data_sha256"]):
        print(f"warning: {_plain(source)} changed since the model was trained (its content "
              "fingerprint differs)", file=sys.stderr)
    known = {k: v for k, v in stored.items() if k in ("label", "seed", "test_size",
                                                     "image_size", "drop_missing_labels")}
    try:
        o = TrainOptions.from_mapping({**known, "data": source, "task": model.target.task,
                                       **({"seed": seed} if seed is not None else {})})
    except (ValueError, TypeError) as exc:
        raise CLIError(f"the model's stored options are damaged: {exc}") from None
    image = model.image_shape
    ds = _load(o, **({"image_size": image[:2]} if image else {}))
    pick = {"test": (ds.X_test, ds.y_test), "train": (ds.X_train, ds.y_train),
            "all": (np.concatenate([ds.X_train, ds.X_test]),
                    np.concatenate([ds.y_train, ds.y_test]))}
    X, y = pick[split]
    return X, ds.named(y)


@app.command()
def evaluate(
    model: Annotated[Path, typer.Argument(help="A model.safetensors file.")],
    data: Annotated[str | None, typer.Option(help="Data as for train (default: the model's "
                                             "own).")] = None,
    split: Annotated[str, typer.Option(help="test, train or all.")] = "test",
):
    """Metrics on the test split (the model's own data and split unless --data is given):
    loss, accuracy, confusion matrix and per-class precision / recall; or R^2, MAE, MSE."""
    if split not in ("test", "train", "all"):
        raise CLIError(f"--split must be test, train or all; got {split!r}")
    m = _load_model(model)
    X, y = _model_data(m, data, split)
    console = _console()
    console.print(f"{split} samples: {len(X)}")
    result = m.evaluate(X, y)
    if m.target.regression:
        console.print(f"loss: {result['loss']:.6f} (on the scaled target)")
        for key, name in (("r2", "R^2"), ("mae", "MAE"), ("mse", "MSE")):
            console.print(f"{name}: {result[key]:.6g}" if key != "r2" else
                          f"R^2: {result['r2']:.4f}")
        return
    console.print(f"loss: {result['loss']:.6f}")
    console.print(f"accuracy: {result['accuracy']:.4f}")
    _class_tables(console, m.target.classes, m.target.encode(y),
                  m.network.predict(m.inputs(X)))


def _class_tables(console, classes, y_idx, pred) -> None:
    from rich.table import Table
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(classes)))
    table = Table(title="confusion matrix (rows: true, columns: predicted)")
    table.add_column("")
    for c in classes:
        table.add_column(_plain(c), justify="right")
    for c, row in zip(classes, confusion_matrix(y_idx, pred, labels=labels)):
        table.add_row(_plain(c), *map(str, row))
    console.print(table)
    p, r, f, s = precision_recall_fscore_support(y_idx, pred, labels=labels, zero_division=0)
    per_class = Table(title="per class")
    for col in ("class", "precision", "recall", "f1", "support"):
        per_class.add_column(col, justify="right")
    for i, c in enumerate(classes):
        per_class.add_row(_plain(c), f"{p[i]:.3f}", f"{r[i]:.3f}", f"{f[i]:.3f}", str(s[i]))
    console.print(per_class)


@app.command()
def predict(
    model: Annotated[Path, typer.Argument(help="A model.safetensors file.")],
    inputs: Annotated[list[Path], typer.Argument(help="Image files (image models) or one CSV "
                                                 "of raw rows (tabular models).")],
    output: Annotated[Path | None, typer.Option(help="CSV to write (tabular); default "
                                                "stdout.")] = None,
):
    """Predict the class (or value) of your own images, or of the rows of a raw CSV: the
    model's columns in any order, the label column optional, text and missing cells and
    categories it never saw included. The model file knows its preprocessing."""
    import csv
    import io

    import numpy as np

    m = _load_model(model)
    if m.image_shape:
        _predict_images(m, inputs)
        return
    if len(inputs) != 1:
        raise CLIError("a tabular model predicts from one CSV file of its columns")
    X = _read_rows(m, inputs[0])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if m.target.regression:
        writer.writerow(["prediction"])
        writer.writerows([f"{v:.8g}"] for v in m.predict(X))
    else:
        proba = m.predict_proba(X)
        writer.writerow(["prediction"] + [f"p_{c}" for c in m.target.classes])
        names = np.asarray(m.target.classes, dtype=object)[proba.argmax(axis=1)]
        writer.writerows([name, *(f"{v:.6f}" for v in row)] for name, row in zip(names, proba))
    if output is None:
        sys.stdout.write(buffer.getvalue())
        return
    from glassnet.checkpoints import atomic_write_bytes

    atomic_write_bytes(output, buffer.getvalue().encode())
    print(f"wrote {len(X)} predictions to {_plain(output)}")


def _read_rows(m, path: Path):
    """A CSV's raw rows in the model's column order: by header name, or (no header) in
    order, optionally followed by a label column."""
    from glassnet import tabular

    names = m.preprocessor.names
    default = names == [f"x{j}" for j in range(len(names))]
    if not default:
        return tabular.read_csv(path, label=None, feature_names=names).X
    table = tabular.read_csv(path, label=None)
    if table.X.shape[1] == len(names) + 1:
        table = tabular.read_csv(path, label="-1")
    if table.X.shape[1] != len(names):
        raise CLIError(f"{_plain(path)} has {table.X.shape[1]} feature columns; the model "
                       f"takes {len(names)}")
    return table.X


def _predict_images(m, inputs) -> None:
    import numpy as np

    from glassnet import datasets

    h, w, channels = m.image_shape
    for path in inputs:
        x = datasets.load_image(path, (h, w), channels=channels)
        p = m.predict_proba(x)[0]
        k = int(np.argmax(p))
        print(f"{_plain(path)}: {_plain(m.target.classes[k])} (probability {p[k]:.3f})")


@app.command()
def explain(
    model: Annotated[Path, typer.Argument(help="A model.safetensors file.")],
    data: Annotated[str | None, typer.Option(help="Data as for train (default: the model's "
                                             "own).")] = None,
    samples: Annotated[int, typer.Option(help="Rows of each array to show.")] = 3,
    batch: Annotated[int, typer.Option(help="Rows of the test split to explain.")] = 32,
    seed: Annotated[int | None, typer.Option(help="Seed of the split (default: the "
                                             "model's).")] = None,
):
    """Your model on a real batch, step by step: every equation with its shapes and numbers,
    forward and backward, on the rows as the network sees them (after the model's
    preprocessing), and statistics per layer."""
    if batch < 1:
        raise CLIError(f"--batch must be a positive number of rows; got {batch}")
    m = _load_model(model)
    X, y = _model_data(m, data, "test", seed)
    X, y = X[:batch], y[:batch]
    console = _console()
    names = m.preprocessor.input_names
    if not m.preprocessor.is_identity or len(names) <= 20:
        shown = ", ".join(_plain(n) for n in names[:20]) + (" ..." if len(names) > 20 else "")
        console.print(f"X's {len(names)} columns, from the raw columns "
                      f"({_plain(m.preprocessor.summary())}): {shown}", soft_wrap=True)
    console.print(m.network.explain(m.inputs(X), m.target.encode(y), samples=samples))


@app.command()
def export(
    model: Annotated[Path, typer.Argument(help="A model.safetensors file.")],
    output: Annotated[Path, typer.Argument(help="The .onnx file to write.")],
    dtype: Annotated[str | None, typer.Option(help="float32 or float64 (default: the "
                                              "model's).")] = None,
    opset: Annotated[int, typer.Option(help="ONNX opset (13 to 21).")] = 17,
):
    """Export a model to ONNX with its preprocessing: raw rows in (one input X of numbers, or
    with text columns one input per raw column, strings for text), predictions out, for
    onnxruntime and every ONNX runtime."""
    from glassnet.export import export_onnx

    m = _load_model(model)
    path = export_onnx(m, output, dtype=dtype, opset=opset)
    n = len(m.preprocessor.names)
    inputs = f"one input X [N, {n}]" if m.preprocessor.all_numeric else \
        f"{n} inputs, one per raw column"
    print(f"wrote {_plain(path)} (opset {opset}; {inputs})")


@app.command()
def gradcheck(
    layers: Annotated[str, typer.Option(help="Hidden layer sizes.")] = "5,3",
    activation: Annotated[str, typer.Option(help="Hidden activation.")] = "tanh",
    head: Annotated[str, typer.Option(help="Output: sigmoid, softmax or identity.")] =
    "sigmoid",
    outputs: Annotated[int, typer.Option(help="Output units.")] = 1,
    input_dim: Annotated[int, typer.Option(help="Input features.")] = 4,
    samples: Annotated[int, typer.Option(help="Random samples to check on.")] = 8,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
):
    """Check an architecture's gradients against finite differences and print the report."""
    import numpy as np

    import glassnet as gn

    if head == "softmax" and outputs < 2:
        outputs = 3
    net = gn.Network([gn.Dense(n, activation) for n in _parse_layers(layers)]
                     + [gn.Dense(outputs, head)], input_dim=input_dim, seed=seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(samples, input_dim))
    if net.loss.name == "binary_crossentropy":
        y = rng.integers(0, 2, (samples, outputs))
    elif net.loss.name == "categorical_crossentropy":
        y = rng.integers(0, outputs, samples)
    else:
        y = rng.normal(size=(samples, outputs))
    report = gn.gradcheck(net, X, y)
    print(report)
    if not report.passed:
        raise typer.Exit(1)


@app.command()
def reproduce(
    experiment: Annotated[str, typer.Argument(help="moons, circles or cats.")],
    data: Annotated[Path | None, typer.Option(help="Cat/non-cat HDF5 folder (cats).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
):
    """Run a seed tutorial's experiment with its exact configuration; print its numbers
    beside glassnet's."""
    from glassnet import tutorials

    if experiment not in tutorials.EXPERIMENTS:
        raise CLIError(f"unknown experiment {experiment!r}; choose one of "
                       f"{', '.join(tutorials.EXPERIMENTS)}")
    if experiment == "cats":
        if data is None:
            raise CLIError("cats needs --data: the folder with train_catvnoncat.h5 and "
                           "test_catvnoncat.h5")
        _, rows = tutorials.cats(data)
    else:
        _, _, rows = getattr(tutorials, experiment)()
    if as_json:
        print(json.dumps(rows, indent=1))
        return
    from rich.table import Table

    table = Table(title=f"tutorial {experiment}: the tutorial's numbers and glassnet's")
    for col in ("experiment", "metric", "tutorial", "glassnet"):
        table.add_column(col, justify="left" if col in ("experiment", "metric") else "right")
    for r in rows:
        table.add_row(r["experiment"], r["metric"],
                      "-" if r["tutorial"] is None else f"{r['tutorial']:.4g}",
                      f"{r['glassnet']:.4g}")
    _console().print(table)


@app.command()
def tune(
    data: Annotated[str, typer.Option(help="Data as for train.")] = "moons",
    label: Annotated[str, typer.Option(help="CSV label column.")] = "-1",
    trials: Annotated[int, typer.Option(help="Trials in the study, counting those already "
                                        "run (a rerun resumes).")] = 20,
    epochs: Annotated[int, typer.Option(help="Epochs per trial.")] = 50,
    space: Annotated[Path | None, typer.Option(help="A TOML search space (default: layers, "
                                               "activation, optimizer, learning rate, L2, "
                                               "dropout, batch size).")] = None,
    storage: Annotated[Path | None, typer.Option(help="The study's journal file (default: "
                                                 "OUT/journal.log).")] = None,
    study_name: Annotated[str, typer.Option(help="The study's name in the journal.")] =
    "glassnet",
    workers: Annotated[int, typer.Option(help="Local Dask worker processes.")] = 2,
    scheduler: Annotated[str | None, typer.Option(help="Address of an existing Dask "
                                                  "scheduler.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split and the sampler.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Folder for the best model, the trials' "
                                             "models and the plots.")] = None,
):
    """Sweep hyperparameters with Optuna on Dask workers; save the best model and plots."""
    import tomllib

    try:
        import optuna
    except ImportError:
        raise CLIError("glassnet tune needs Optuna and Dask: pip install 'glassnet[tune]'") \
            from None
    from glassnet import datasets
    from glassnet import tune as sweep

    if trials < 1 or epochs < 1 or workers < 1:
        raise CLIError("--trials, --epochs and --workers must be at least 1")
    try:
        chosen = sweep.check_space(tomllib.loads(space.read_text()) if space else
                                   dict(sweep.DEFAULT_SPACE))
    except (OSError, tomllib.TOMLDecodeError, ValueError) as exc:
        raise CLIError(f"--space: {exc}") from None
    sweep.load_data(data, label, seed)      # checked before any work; each trial loads again
    out = out or Path("runs") / f"tune-{Path(data).stem}"
    try:
        (out / "trials").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"cannot make {_plain(out)}: {exc.strerror}") from None
    # Workers of a --scheduler may run in another folder: they get absolute paths.
    out, storage = out.resolve(), (storage or out / "journal.log").resolve()
    if data not in datasets.BUILTINS:
        data = str(Path(data).resolve())
    study = _open_study(storage, study_name, chosen, data, label)
    finished = [t for t in study.trials if t.state.is_finished()]
    remaining = trials - len(finished)
    _console().print(f"study {study_name!r} in {_plain(storage)}: {len(finished)} trials done, "
                     f"{max(remaining, 0)} to run", soft_wrap=True)
    if remaining > 0:
        args = (str(storage), study_name, data, label, epochs, seed, str(out), chosen)
        _run_trials(args, remaining, workers, scheduler, storage, study)
    _tune_report(optuna.load_study(study_name=study_name, storage=sweep.journal(storage)), out)


def _open_study(storage: Path, name: str, space: dict, data: str, label: str):
    """The study in the journal, repaired if its last record was cut, and refused if it was
    made with another space or data. This process only reads it: each trial samples and
    prunes where it runs (tune.run_trial, seeded by --seed and the trial's number)."""
    import optuna

    from glassnet import tune as sweep

    note = sweep.repair_journal(storage)
    if note:
        print(f"note: {_plain(note)}", file=sys.stderr)
    study = optuna.create_study(study_name=name, storage=sweep.journal(storage),
                                direction="minimize", load_if_exists=True)
    try:
        sweep.check_resume(study, space, data, label)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    return study


def _run_trials(args: tuple, remaining: int, workers: int, scheduler, storage: Path,
                study) -> None:
    """``remaining`` trials on Dask, ``workers`` at a time; after Ctrl-C the trials left
    running are marked failed (a rerun runs others in their place)."""
    import logging
    import signal

    from distributed import Client, LocalCluster, as_completed

    from glassnet import tune as sweep

    cluster = None
    if not scheduler:
        # Ctrl-C goes to the terminal's whole process group: workers started with SIGINT
        # ignored (Python keeps an ignored SIGINT ignored) leave it to this process, which
        # marks the trials failed and closes them, instead of each printing a traceback.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.CRITICAL)
        finally:
            signal.signal(signal.SIGINT, previous)
    client = Client(scheduler or cluster)
    submitted = 0
    try:
        pool = as_completed()
        while submitted < min(remaining, workers):
            pool.add(client.submit(sweep.run_trial, *args, pure=False))
            submitted += 1
        for future in pool:
            future.result()
            if submitted < remaining:
                pool.add(client.submit(sweep.run_trial, *args, pure=False))
                submitted += 1
    except KeyboardInterrupt:
        client.close()
        if cluster is not None:
            cluster.close()
        failed = sweep.fail_running(study)
        _console().print(f"interrupted: {failed} running trials marked failed; the study is "
                         f"kept in {_plain(storage)}; run the same command again to resume it",
                         soft_wrap=True)
        raise typer.Exit(130) from None
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _tune_report(study, out: Path) -> None:
    """The best trials, the best model copied to OUT/model.safetensors, and the plots."""
    import contextlib
    import warnings

    from rich.table import Table

    from glassnet import tune as sweep
    from glassnet.checkpoints import atomic_write_bytes

    console = _console()
    best = sweep.best_trials(study)
    states = [t.state.name for t in study.trials]
    console.print(f"{len(states)} trials: {states.count('COMPLETE')} complete, "
                  f"{states.count('PRUNED')} pruned, {states.count('FAIL')} failed")
    if not best:
        raise CLIError("no trial completed; widen the search space or add --epochs")
    table = Table(title="best trials (validation loss)")
    for column in ("trial", "val_loss", "hyperparameters"):
        table.add_column(column)
    for t in best:
        table.add_row(str(t.number), f"{t.value:.5f}",
                      _plain(", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                       for k, v in t.params.items())))
    console.print(table)
    source = out / "trials" / f"trial-{best[0].number}.safetensors"
    atomic_write_bytes(out / "model.safetensors", source.read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from optuna.visualization import matplotlib as plots

        from glassnet import plotting

        for name, draw in (("history.png", plots.plot_optimization_history),
                           ("importances.png", plots.plot_param_importances)):
            # Importances need two complete trials with different values.
            with contextlib.suppress(ValueError, RuntimeError, ZeroDivisionError):
                plotting.save(draw(study).figure, out / name)
    console.print(f"best model (trial {best[0].number}): {_plain(out / 'model.safetensors')}",
                  soft_wrap=True)


@app.command()
def playground(
    host: Annotated[str, typer.Option(help="Address to listen on (local only by default).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    no_browser: Annotated[bool, typer.Option("--no-browser",
                                             help="Do not open a browser.")] = False,
):
    """Watch a network learn in the browser: the page trains glassnet itself (needs
    glassnet[playground])."""
    import socket

    if not 0 < port < 65536:
        raise CLIError(f"--port must be in 1..65535; got {port}")
    from glassnet.playground import serve

    # Asked before starting, so that a taken port is one line (uvicorn would log and exit 3).
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as error:
        raise CLIError(f"cannot listen on {host}:{port} ({error.strerror}): pass another "
                       "--port, or stop what uses it") from None

    print(f"glassnet playground at http://{host}:{port}/ (Ctrl-C stops it)", flush=True)
    serve(host, port, open_browser=not no_browser)




@app.command()
def info(model: Annotated[Path, typer.Argument(help="A model.safetensors file.")]):
    """A model file's summary: architecture and parameters per layer, its data, task,
    preprocessing, options and metrics."""
    from rich.table import Table

    m = _load_model(model)
    net, meta, console = m.network, m.network.metadata or {}, _console()
    table = Table(title=f"{_plain(model)}: input {net.input_dim} features, loss {net.loss.name}, "
                        f"dtype {net.dtype.name}")
    for col in ("#", "layer", "output", "parameters"):
        table.add_column(col, justify="right" if col != "layer" else "left")
    for i, row in enumerate(net.describe()):
        table.add_row(str(i), row["layer"], str(row["output"]), f"{row['params']:,}")
    table.add_row("", "total", "", f"{net.n_params:,}")
    console.print(table)
    target = m.target
    lines = [("task", f"{target.task}: " + (
        f"{len(target.classes)} classes {', '.join(map(str, target.classes[:10]))}"
        + (" ..." if len(target.classes) > 10 else "") if not target.regression else
        f"target standardised (mean {target.offset:.4g}, standard deviation {target.scale:.4g})"
    )), ("data", meta.get("data")), ("label", meta.get("label")),
        ("preprocessing", m.preprocessor.summary()),
        ("image shape", m.image_shape and "x".join(map(str, m.image_shape)))]
    options = meta.get("options")
    if isinstance(options, dict):
        lines.append(("options", ", ".join(f"{k}={v}" for k, v in options.items()
                                           if k not in ("data", "label"))))
    for key in ("test_accuracy", "majority_baseline", "test_r2", "test_mae", "train_accuracy",
                "train_r2", "training_seconds", "glassnet_version"):
        if key in meta:
            value = meta[key]
            lines.append((key.replace("_", " "), f"{value:.4f}" if isinstance(value, float)
                          else value))
    if meta.get("baseline_beaten") is False:
        lines.append(("warning", f"the model is no better than {meta.get('baseline')}"))
    shown = {"data", "label", "options", "task", "classes", "target", "preprocessing",
             "feature_names", "image_shape", "optimizer", "data_sha256", "baseline",
             "baseline_beaten", "test_loss"} | {key for key, _ in lines}
    for key, value in meta.items():          # anything else a file carries, in brief
        if key.replace("_", " ") not in shown and key not in shown:
            text = json.dumps(value) if not isinstance(value, str) else value
            lines.append((key, text if len(text) <= 120 else text[:117] + "..."))
    for key, value in lines:
        if value is not None:
            console.print(f"{key}: {_plain(value)}", soft_wrap=True)


@app.command()
def runs(
    folder: Annotated[Path, typer.Argument(help="A folder of runs (or one run).")] =
    Path("runs"),
    sort: Annotated[str | None, typer.Option(help="Sort by a metric, best first: "
                                             "test_accuracy, test_r2, seconds, ...")] = None,
):
    """The runs in a folder side by side: data, options and metrics from each metrics.json."""
    from rich.table import Table

    from glassnet import runs as run_folders

    if not folder.is_dir():
        raise CLIError(f"{_plain(folder)} is not a folder of runs")
    rows = run_folders.table(folder, sort)
    if not rows:
        raise CLIError(f"no runs with a metrics.json under {_plain(folder)}")
    table = Table(title=f"runs in {_plain(folder)}")
    for heading in rows[0]:
        table.add_column(heading, justify="left" if heading in ("run", "data", "task",
                                                                "layers", "optimizer")
                         else "right")
    for row in rows:
        table.add_row(*("-" if v is None else f"{v:.4g}" if isinstance(v, float)
                        else _plain(v) for v in row.values()))
    _console(width=140).print(table)


def _version(value: bool):
    if value:
        from glassnet.version import VERSION

        print(f"glassnet {VERSION}")
        raise typer.Exit()


@app.callback()
def _options(version: Annotated[bool, typer.Option("--version", callback=_version,
                                                   is_eager=True,
                                                   help="Print the version and exit.")] = False):
    """glassnet: train, inspect and use neural networks you can see through."""


def main(argv: list[str] | None = None) -> None:
    """Entry point. A usage error (an unknown option, a missing argument) prints one line,
    ``error: ...``, and exits with status 2; an error in the data, files or options one line
    and status 1; a run that diverged or beats no baseline exits 3 (see ``--allow-poor``);
    Ctrl-C during training saves the run and exits 130."""
    from glassnet.errors import ModelFileError

    try:
        code = app(args=argv, prog_name="glassnet", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        print("error: interrupted", file=sys.stderr)
        code = 130
    except (CLIError, ValueError, TypeError, ModelFileError, OSError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    except Exception as exc:
        # Typer's usage errors (Click's, vendored): exit status 2 and a message of their own.
        if getattr(exc, "exit_code", None) != 2 or not hasattr(exc, "format_message"):
            raise
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "glassnet"
        print(f"error: {exc.format_message()} (see: {where} --help)", file=sys.stderr)
        code = 2
    sys.exit(code or 0)


if __name__ == "__main__":  # pragma: no cover
    main()
