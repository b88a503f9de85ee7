"""The ``glassnet`` command: train, evaluate, predict, export, gradcheck, reproduce, info.

Every error a user can cause (a missing file, a bad option, data of the wrong shape) prints
one line, ``error: ...``, and exits with status 1; no traceback.
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


def _console():
    """Rich output that never interprets what it prints: file names, CSV headers, class names
    and model metadata are untrusted text, so markup (``[link=...]``) and highlighting are off
    and control characters (terminal escapes) are shown, not sent."""
    from rich.console import Console

    return Console(markup=False, highlight=False, emoji=False)


def _plain(value) -> str:
    """``value`` as one line of visible text: control characters become ``\\xNN``."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in str(value))


def _parse_layers(text: str) -> list[int]:
    if not text.strip():
        return []
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CLIError(f"--layers must be comma-separated integers like 10,5; got {text!r}") \
            from None
    if any(s < 1 for s in sizes):
        raise CLIError(f"--layers sizes must be positive; got {text!r}")
    return sizes


def _encode_labels(ds):
    """Class names and the labels as indices into them, for both splits.

    Loaders that know their class names (image folders, the cat files) give labels that are
    already indices; otherwise the distinct label values, sorted, are the classes.
    """
    import numpy as np

    y_all = np.concatenate([np.asarray(ds.y_train), np.asarray(ds.y_test)])
    if ds.classes and y_all.dtype.kind in "iu" and y_all.min() >= 0 \
            and y_all.max() < len(ds.classes):
        return [str(c) for c in ds.classes], ds.y_train, ds.y_test
    classes = np.unique(y_all)
    return ([str(c) for c in classes], np.searchsorted(classes, ds.y_train),
            np.searchsorted(classes, ds.y_test))


#: the files a run writes into its folder (--overwrite removes exactly these)
RUN_FILES = ("model.safetensors", "history.json", "config.toml", "loss.png",
             "decision_boundary.png", "misclassified.png", "predicted_vs_true.png",
             "checkpoint.safetensors")
#: options a --config file may set, with their kinds
_OPTIONS = {"data": str, "label": str, "task": str, "layers": str, "activation": str,
            "optimizer": str, "learning_rate": float, "momentum": float, "schedule": str,
            "epochs": int, "batch_size": int, "dropout": float, "l2": float,
            "l1": float,
            "test_size": float, "validation_split": float, "validation_freq": int,
            "early_stopping": int, "scale": str, "image_size": int, "seed": int, "dtype": str,
            "checkpoint_every": int}


def _merged_options(ctx, given: dict, config: Path | None) -> dict:
    """The options as given, with a TOML file's values for those left at their defaults."""
    import tomllib

    if config is None:
        return given
    try:
        values = tomllib.loads(config.read_text())
    except FileNotFoundError:
        raise CLIError(f"--config {_plain(config)}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise CLIError(f"--config {_plain(config)} is not valid TOML: {exc}") from None
    unknown = sorted(set(values) - set(_OPTIONS))
    if unknown:
        raise CLIError(f"--config {_plain(config)}: unknown options {unknown}; valid options "
                       f"are {sorted(_OPTIONS)}")
    merged = dict(given)
    for key, value in values.items():
        kind = _OPTIONS[key]
        if isinstance(value, bool) or not isinstance(value, (kind, int) if kind is float
                                                     else kind):
            raise CLIError(f"--config {_plain(config)}: {key} must be a {kind.__name__}, got "
                           f"{value!r}")
        source = ctx.get_parameter_source(key)
        if source is None or source.name == "DEFAULT":
            merged[key] = kind(value)
    return merged


def _toml(options: dict) -> str:
    import json

    lines = ["# glassnet train --config this-file repeats this run"]
    for key in _OPTIONS:
        value = options.get(key)
        if value is not None:
            lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def _check_options(o: dict) -> None:
    """Every option, before any data is read."""
    from glassnet import activations, optimizers
    from glassnet.preprocessing import KINDS

    def need(ok, message):
        if not ok:
            raise CLIError(message)

    need(o["epochs"] >= 1, f"--epochs must be at least 1; got {o['epochs']}")
    need(o["learning_rate"] > 0, f"--learning-rate must be > 0; got {o['learning_rate']}")
    need(0 <= o["momentum"] < 1, f"--momentum must be in [0, 1); got {o['momentum']}")
    need(o["batch_size"] >= 0, f"--batch-size must be >= 0 (0: full batch); got "
                               f"{o['batch_size']}")
    need(0 <= o["dropout"] < 1, f"--dropout must be in [0, 1); got {o['dropout']}")
    need(o["l2"] >= 0, f"--l2 must be >= 0; got {o['l2']}")
    need(o["l1"] >= 0, f"--l1 must be >= 0; got {o['l1']}")
    need(0 < o["test_size"] < 1, f"--test-size must be in (0, 1); got {o['test_size']}")
    need(0 <= o["validation_split"] < 1, f"--validation-split must be in [0, 1); got "
                                         f"{o['validation_split']}")
    need(o["validation_freq"] >= 0, f"--validation-freq must be >= 0 (0: only at the end); "
                                    f"got {o['validation_freq']}")
    need(o["early_stopping"] >= 0, f"--early-stopping must be >= 0 epochs (0: off); got "
                                   f"{o['early_stopping']}")
    need(o["checkpoint_every"] >= 0, f"--checkpoint-every must be >= 0 (0: at the end); got "
                                     f"{o['checkpoint_every']}")
    need(o["image_size"] >= 1, f"--image-size must be a positive number of pixels; got "
                               f"{o['image_size']}")
    need(o["task"] in ("auto", "classification", "regression"),
         f"--task must be auto, classification or regression; got {o['task']!r}")
    need(o["scale"] in ("auto", *KINDS), f"--scale must be auto, {', '.join(KINDS)}; got "
                                         f"{o['scale']!r}")
    need(o["schedule"] in ("none", "cosine", "step", "exponential"),
         f"--schedule must be none, cosine, step or exponential; got {o['schedule']!r}")
    need(o["dtype"] in ("float32", "float64"), f"dtype must be float32 or float64; got "
                                               f"{o['dtype']!r}")
    _parse_layers(o["layers"])
    activations.get(o["activation"])
    optimizers.get(o["optimizer"], learning_rate=o["learning_rate"])


def _run_folder(out: Path | None, name: str, overwrite: bool, resume: bool) -> Path:
    """The folder a run writes into, made (and checked writable) before any work."""
    import os

    if resume:
        if out is None or not (out / "checkpoint.safetensors").exists():
            raise CLIError("--resume continues the run in --out FOLDER from its checkpoint; "
                           f"{_plain(out) if out else 'no --out'} holds none")
        return out
    if out is None:
        base = Path("runs") / "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        out, k = base, 2
        while out.exists():
            out, k = base.with_name(f"{base.name}-{k}"), k + 1
    elif out.exists() and not out.is_dir():
        raise CLIError(f"--out {_plain(out)} is a file, not a folder")
    elif out.exists() and any(out.iterdir()):
        ours = [p for p in out.iterdir() if p.name in RUN_FILES]
        if not overwrite:
            raise CLIError(f"--out {_plain(out)} already holds a run ("
                           f"{', '.join(sorted(p.name for p in ours)) or 'other files'}); pass "
                           "--overwrite to replace it, --resume to continue it, or another "
                           "--out")
        for p in ours:        # only glassnet's own files: nothing else is touched
            p.unlink()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"cannot make the run folder {_plain(out)}: {exc.strerror}") from None
    if not os.access(out, os.W_OK):
        raise CLIError(f"the run folder {_plain(out)} is not writable")
    return out


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
def train(
    ctx: typer.Context,
    data: Annotated[str, typer.Option(help="Built-in (moons, circles, spirals, xor, blobs) or a "
                                      "path: .csv, .npz, cat/non-cat HDF5 folder, MNIST IDX "
                                      "folder, folder of class sub-folders.")] = "moons",
    label: Annotated[str, typer.Option(help="CSV label column: a name or an index (-1: the "
                                       "last).")] = "-1",
    task: Annotated[str, typer.Option(help="auto, classification or regression.")] = "auto",
    layers: Annotated[str, typer.Option(help="Hidden layer sizes, e.g. 10,5.")] = "16,16",
    activation: Annotated[str, typer.Option(help="Hidden activation.")] = "relu",
    optimizer: Annotated[str, typer.Option(help="sgd, adam, adamw or rmsprop.")] = "adam",
    learning_rate: Annotated[float, typer.Option(help="Learning rate.")] = 0.01,
    momentum: Annotated[float, typer.Option(help="SGD momentum.")] = 0.0,
    schedule: Annotated[str, typer.Option(help="none, cosine, step or exponential.")] = "none",
    epochs: Annotated[int, typer.Option(help="Passes over the training data.")] = 500,
    batch_size: Annotated[int, typer.Option(help="Mini-batch size; 0 = full batch.")] = 0,
    dropout: Annotated[float, typer.Option(help="Dropout rate after each hidden layer.")] = 0.0,
    l2: Annotated[float, typer.Option(help="L2 penalty on the weights.")] = 0.0,
    l1: Annotated[float, typer.Option(help="L1 penalty on the weights.")] = 0.0,
    test_size: Annotated[float, typer.Option(help="Fraction held out for testing.")] = 0.2,
    validation_split: Annotated[float, typer.Option(help="Fraction of the training split "
                                                    "held out for validation.")] = 0.0,
    validation_freq: Annotated[int, typer.Option(
        help="Measure the test split every N epochs for the loss plot; 0 = only at the end "
             "(fastest: the exact fast engines run undisturbed).")] = 0,
    early_stopping: Annotated[int, typer.Option(help="Patience in epochs on the validation "
                                                "loss (needs --validation-split); 0 = off.")] = 0,
    scale: Annotated[str, typer.Option(help="auto (standard for tables, none for images), "
                                       "standard, minmax or none.")] = "auto",
    image_size: Annotated[int, typer.Option(help="Image side in pixels.")] = 64,
    seed: Annotated[int, typer.Option(help="Seed for the weights, shuffling and the "
                                      "train/test split.")] = 0,
    dtype: Annotated[str, typer.Option(help="float64 or float32.")] = "float64",
    checkpoint_every: Annotated[int, typer.Option(help="Checkpoint every N epochs (0: at the "
                                                  "end and on Ctrl-C).")] = 0,
    config: Annotated[Path | None, typer.Option(help="A TOML file of these options.")] = None,
    out: Annotated[Path | None, typer.Option(help="Run folder (default: a new runs/NAME-N).")]
    = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the run in --out.")]
    = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its "
                                         "checkpoint.")] = False,
    allow_poor: Annotated[bool, typer.Option("--allow-poor", help="Exit 0 even if the model "
                                             "diverged or beats no baseline.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress output.")] = False,
):
    """Train a network; write the model, its history, config and plots into a run folder."""
    import time

    import numpy as np

    import glassnet as gn
    from glassnet import datasets, optimizers, schedules
    from glassnet.preprocessing import Scaler

    given = {k: v for k, v in locals().items() if k in _OPTIONS}
    if resume and out is not None and config is None and (out / "config.toml").exists():
        config = out / "config.toml"          # a resumed run repeats its own options
    o = _merged_options(ctx, given, config)
    _check_options(o)
    name = Path(o["data"]).stem if o["data"] not in datasets.BUILTINS else o["data"]
    out = _run_folder(out, name, overwrite, resume)

    console = _console()
    ds = datasets.load(o["data"], label=o["label"], seed=o["seed"], test_size=o["test_size"],
                       image_size=(o["image_size"], o["image_size"]), task=o["task"])
    regression = ds.task == "regression"
    if regression and ds.image_shape is not None:
        raise CLIError("--task regression needs a table of features with a numeric label")
    if regression:
        classes, y_train, y_test = None, ds.y_train.astype(float), ds.y_test.astype(float)
    else:
        classes, y_train, y_test = _encode_labels(ds)
        if len(classes) < 2:
            raise CLIError(f"the data has a single class ({_plain(classes[0])}); a classifier "
                           "needs two")
    kind = o["scale"] if o["scale"] != "auto" else \
        ("none" if ds.image_shape is not None else "standard")
    scaler = Scaler(kind).fit(ds.X_train)
    X_train, X_test = scaler.transform(ds.X_train), scaler.transform(ds.X_test)

    hidden = _parse_layers(o["layers"])
    net_layers = []
    for size in hidden:
        net_layers.append(gn.Dense(size, o["activation"]))
        if o["dropout"]:
            net_layers.append(gn.Dropout(o["dropout"]))
    if regression:
        head = gn.Dense(1, "identity")
    else:
        head = gn.Dense(1, "sigmoid") if len(classes) == 2 else gn.Dense(len(classes), "softmax")
    net = gn.Network(net_layers + [head], input_dim=ds.n_features, seed=o["seed"],
                     dtype=o["dtype"])
    rate = o["learning_rate"]
    if o["schedule"] == "cosine":
        rate = schedules.CosineDecay(rate, epochs=o["epochs"])
    elif o["schedule"] == "step":
        rate = schedules.StepDecay(rate, step_size=max(1, o["epochs"] // 3), gamma=0.1)
    elif o["schedule"] == "exponential":
        rate = schedules.ExponentialDecay(rate, gamma=0.01 ** (1 / o["epochs"]))
    extra = {"momentum": o["momentum"]} if o["optimizer"] in ("sgd", "gd") else {}
    if o["momentum"] and not extra:
        raise CLIError("--momentum applies to --optimizer sgd")
    opt = optimizers.get(o["optimizer"], learning_rate=rate, **extra)
    what = "regression" if regression else f"{len(classes)} classes"
    console.print(f"glassnet {_plain(ds.name)}: {len(X_train)} train / {len(X_test)} test "
                  f"samples, {ds.n_features} features, {what}; network {ds.n_features}-"
                  f"{'-'.join(map(str, hidden + [head.units]))}, {net.n_params} parameters; "
                  f"writing {_plain(out)}/", soft_wrap=True)
    interactive = sys.stdout.isatty() and not quiet
    kwargs = {}
    if o["validation_split"]:
        kwargs["validation_split"] = o["validation_split"]
    else:
        kwargs["validation_data"] = (X_test, y_test)
        kwargs["validation_freq"] = o["validation_freq"] or o["epochs"]
    if o["early_stopping"]:
        if not o["validation_split"]:
            raise CLIError("--early-stopping watches the validation loss: add "
                           "--validation-split (e.g. 0.1)")
        kwargs["early_stopping"] = o["early_stopping"]
    diverged = None
    start = time.perf_counter()
    with _StopOnInterrupt() as interrupt:
        try:
            history = net.fit(X_train, y_train, optimizer=opt, epochs=o["epochs"],
                              batch_size=o["batch_size"] or None, l2=o["l2"], l1=o["l1"],
                              progress=interactive,
                              verbose=0 if interactive or quiet else max(1, o["epochs"] // 20),
                              checkpoint=out, checkpoint_every=o["checkpoint_every"] or
                              o["epochs"], callbacks=[interrupt.callback()], **kwargs)
        except gn.DivergenceError as exc:
            diverged, history = exc, net.history
    seconds = time.perf_counter() - start

    metrics = _metrics(net, X_train, y_train, X_test, y_test, regression)
    metadata = {"data": ds.source, "label": ds.label_name, "task": ds.task,
                "classes": classes, "feature_names": ds.feature_names,
                "preprocessing": scaler.to_dict(),
                "image_shape": list(ds.image_shape) if ds.image_shape else None,
                "options": o, "optimizer": opt.get_config(), **metrics,
                "training_seconds": seconds, "glassnet_version": gn.__version__}
    from glassnet import plotting
    from glassnet.checkpoints import atomic_write_bytes

    gn.save(net, out / "model.safetensors", metadata)
    atomic_write_bytes(out / "history.json", json.dumps(history.to_dict(), indent=1).encode())
    atomic_write_bytes(out / "config.toml", _toml(o).encode())
    if len(history):
        plotting.save(plotting.loss_curve(history, title=f"{ds.name}: loss"), out / "loss.png")
    if regression:
        plotting.save(plotting.predicted_vs_true(net.predict(X_test), y_test,
                                                 title=f"{ds.name}: test split"),
                      out / "predicted_vs_true.png")
    elif ds.image_shape is not None:
        wrong = np.flatnonzero(net.predict(X_test) != y_test)[:32]
        if len(wrong):
            plotting.save(plotting.image_predictions(
                net, X_test[wrong], y_test[wrong], image_shape=ds.image_shape,
                class_names=classes, max_images=32, title=f"{ds.name}: misclassified test "
                "images"), out / "misclassified.png")
    elif ds.n_features == 2:
        plotting.save(plotting.decision_boundary(net, np.vstack([X_train, X_test]),
                                                 np.concatenate([y_train, y_test]),
                                                 title=f"{ds.name}: decision boundary",
                                                 class_names=classes),
                      out / "decision_boundary.png")
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in metrics["report"]:
        console.print(line, soft_wrap=True)
    written = ", ".join(sorted(_plain(p.name) for p in out.iterdir() if p.name in RUN_FILES))
    console.print(f"trained {len(history)} epochs in {seconds:.2f} s, peak memory {peak:.0f} "
                  f"MB; wrote {_plain(out)}/: {written}", soft_wrap=True)
    if interrupt.requested:
        last = history.epochs[-1] if len(history) else 0
        console.print(f"interrupted: stopped after epoch {last} and saved the model and a "
                      f"checkpoint. Continue with: glassnet train --out {_plain(out)} --resume",
                      soft_wrap=True)
        raise typer.Exit(130)
    problem = None
    if diverged is not None:
        problem = f"training diverged ({diverged}) The model saved is the last good one."
    elif metrics["baseline_beaten"] is False:
        problem = metrics["baseline_note"]
    if problem:
        print(f"warning: {problem}" + ("" if allow_poor else " (exit status 3; --allow-poor "
                                       "accepts such a run)"), file=sys.stderr)
        if not allow_poor:
            raise typer.Exit(3)


def _metrics(net, X_train, y_train, X_test, y_test, regression) -> dict:
    """Train and test metrics, the baseline they are compared with, and report lines."""
    import numpy as np

    if regression:
        from sklearn.metrics import mean_absolute_error, r2_score

        p_train, p_test = net.predict(X_train), net.predict(X_test)
        r2_train, r2_test = r2_score(y_train, p_train), r2_score(y_test, p_test)
        mae = mean_absolute_error(y_test, p_test)
        beaten = bool(r2_test > 0)
        return {"train_r2": r2_train, "test_r2": r2_test, "test_mae": mae,
                "baseline_beaten": beaten,
                "baseline_note": f"the model is no better than predicting the mean (test R^2 "
                                 f"{r2_test:.4f} <= 0)",
                "report": [f"train R^2: {r2_train:.4f}",
                           f"test R^2: {r2_test:.4f}, MAE {mae:.4g} (predicting the mean: "
                           "R^2 0)"]}
    train_acc = net.evaluate(X_train, y_train)["accuracy"]
    test_acc = net.evaluate(X_test, y_test)["accuracy"]
    majority = np.bincount(np.asarray(y_test, dtype=int)).max() / len(y_test)
    beaten = bool(test_acc > majority)
    return {"train_accuracy": train_acc, "test_accuracy": test_acc,
            "majority_baseline": majority, "baseline_beaten": beaten,
            "baseline_note": f"the model is no better than always predicting the most common "
                             f"class (test accuracy {test_acc:.4f} <= {majority:.4f})",
            "report": [f"train accuracy: {train_acc:.4f}",
                       f"test accuracy: {test_acc:.4f} (test error {1 - test_acc:.2%}; the "
                       f"most common class alone: {majority:.4f})"]}


def _load_model(path: Path):
    import glassnet as gn

    net = gn.load(path)
    return net, getattr(net, "metadata", {}) or {}


def _scaler(meta):
    from glassnet.preprocessing import Scaler

    data = meta.get("preprocessing")
    if data is None:
        return None
    try:
        return Scaler.from_dict(data)
    except ValueError as exc:
        raise CLIError(f"the model file's preprocessing is damaged: {exc}") from None


@app.command()
def evaluate(
    model: Annotated[Path, typer.Argument(help="A model.safetensors file.")],
    data: Annotated[str | None, typer.Option(help="Data as for train (default: the model's "
                                             "own).")] = None,
    split: Annotated[str, typer.Option(help="test, train or all.")] = "test",
):
    """Metrics on the test split (the model's own data and split unless --data is given):
    loss, accuracy, confusion matrix and per-class precision / recall; or R^2, MAE, MSE."""
    import numpy as np
    from rich.table import Table

    from glassnet import datasets

    if split not in ("test", "train", "all"):
        raise CLIError(f"--split must be test, train or all; got {split!r}")
    net, meta = _load_model(model)
    options = meta.get("options") or {}
    source = data or meta.get("data")
    if not source:
        raise CLIError("the model file does not say what data it was trained on: pass --data")
    ds = datasets.load(source, label=meta.get("label") or options.get("label", "-1"),
                       seed=options.get("seed", 0), test_size=options.get("test_size", 0.2),
                       image_size=tuple((meta.get("image_shape") or [64, 64])[:2]),
                       task=meta.get("task", "classification"))
    scaler = _scaler(meta)
    prepare = scaler.transform if scaler is not None else (lambda X: X)
    pick = {"test": (ds.X_test, ds.y_test), "train": (ds.X_train, ds.y_train),
            "all": (np.vstack([ds.X_train, ds.X_test]),
                    np.concatenate([ds.y_train, ds.y_test]))}
    X, y = pick[split]
    X = prepare(X)
    console = _console()
    console.print(f"{split} samples: {len(X)}")
    if meta.get("task") == "regression":
        from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

        pred = net.predict(X)
        y = y.astype(float)
        console.print(f"R^2: {r2_score(y, pred):.4f}")
        console.print(f"MAE: {mean_absolute_error(y, pred):.6g}")
        console.print(f"MSE: {mean_squared_error(y, pred):.6g}")
        return
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    names = [str(c) for c in (ds.classes or np.unique(np.concatenate([ds.y_train,
                                                                      ds.y_test])))]
    labels_given = np.asarray(y)
    if ds.classes and labels_given.dtype.kind in "iu":
        labels_given = np.array(names)[labels_given]
    classes = meta.get("classes") or names
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({str(v) for v in labels_given} - set(index))
    if unknown:
        raise CLIError(f"the data has labels the model never saw: "
                       f"{[_plain(u) for u in unknown[:5]]}; the model knows "
                       f"{[_plain(c) for c in classes]}")
    y_idx = np.array([index[str(v)] for v in labels_given])
    result = net.evaluate(X, y_idx)
    pred = net.predict(X)
    console.print(f"loss: {result['loss']:.6f}")
    console.print(f"accuracy: {result['accuracy']:.4f}")
    labels = list(range(len(classes)))
    cm = confusion_matrix(y_idx, pred, labels=labels)
    table = Table(title="confusion matrix (rows: true, columns: predicted)")
    table.add_column("")
    for c in classes:
        table.add_column(_plain(c), justify="right")
    for c, row in zip(classes, cm):
        table.add_row(_plain(c), *map(str, row))
    console.print(table)
    p, r, f, s = precision_recall_fscore_support(y_idx, pred, labels=labels, zero_division=0)
    t2 = Table(title="per class")
    for col in ("class", "precision", "recall", "f1", "support"):
        t2.add_column(col, justify="right")
    for i, c in enumerate(classes):
        t2.add_row(_plain(c), f"{p[i]:.3f}", f"{r[i]:.3f}", f"{f[i]:.3f}", str(s[i]))
    console.print(t2)


@app.command()
def predict(
    model: Annotated[Path, typer.Argument(help="A model.safetensors file.")],
    inputs: Annotated[list[Path], typer.Argument(help="Image files (image models) or one CSV "
                                                 "of features (tabular models).")],
    output: Annotated[Path | None, typer.Option(help="CSV to write (tabular); default "
                                                "stdout.")] = None,
):
    """Predict the class (or value) of your own images, or of the rows of a CSV. The model
    file knows its columns and preprocessing: nothing needs repeating."""
    import numpy as np

    from glassnet import datasets, tabular

    net, meta = _load_model(model)
    classes = meta.get("classes") or [str(i) for i in range(max(net.output_dim, 2))]
    shape = meta.get("image_shape")
    scaler = _scaler(meta)
    prepare = scaler.transform if scaler is not None else (lambda X: X)
    if shape:
        for path in inputs:
            x = prepare(datasets.load_image(path, (shape[0], shape[1]), channels=shape[2]))
            p = net.predict_proba(x)[0]
            k = int(np.argmax(p)) if len(p) > 1 else int(p[0] > 0.5)
            conf = p[k] if len(p) > 1 else (p[0] if k == 1 else 1 - p[0])
            print(f"{_plain(path)}: {_plain(classes[k])} (probability {conf:.3f})")
        return
    if len(inputs) != 1:
        raise CLIError("a tabular model predicts from one CSV file of feature columns")
    names = meta.get("feature_names")
    if names:
        table = tabular.read_csv(inputs[0], label=None, feature_names=names)
    else:
        # Built-in data has no column names: the file's columns in order, optionally followed
        # by a label column.
        try:
            table = tabular.read_csv(inputs[0], label=None)
        except ValueError:
            table = tabular.read_csv(inputs[0], label="-1")
        if table.X.shape[1] == net.input_dim + 1 and table.labels is None:
            table = tabular.read_csv(inputs[0], label="-1")
    if table.X.shape[1] != net.input_dim:
        raise CLIError(f"{_plain(inputs[0])} has {table.X.shape[1]} feature columns; the model "
                       f"takes {net.input_dim}")
    X = prepare(table.X)
    if meta.get("task") == "regression":
        pred = net.predict(X)
        lines = ["prediction"] + [f"{v:.8g}" for v in pred]
    else:
        proba = net.predict_proba(X)
        if proba.shape[1] == 1:
            proba = np.hstack([1 - proba, proba])
        pred = proba.argmax(1)
        lines = ["prediction," + ",".join(f"p_{c}" for c in classes)]
        lines += [f"{classes[k]}," + ",".join(f"{v:.6f}" for v in row)
                  for k, row in zip(pred, proba)]
    text = "\n".join(lines) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        from glassnet.checkpoints import atomic_write_bytes

        atomic_write_bytes(output, text.encode())
        print(f"wrote {len(pred)} predictions to {_plain(output)}")


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
    import contextlib
    import tomllib
    import warnings

    try:
        import optuna
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise CLIError("glassnet tune needs Optuna and Dask: pip install 'glassnet[tune]'") \
            from None
    from glassnet import datasets
    from glassnet import tune as sweep
    from glassnet.checkpoints import atomic_write_bytes

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
    storage = storage or out / "journal.log"
    # Workers of a --scheduler may run in another folder: they get absolute paths.
    out, storage = out.resolve(), storage.resolve()
    if data not in datasets.BUILTINS:
        data = str(Path(data).resolve())
    # This process only reads the study: each trial samples and prunes where it runs
    # (tune.run_trial, seeded by --seed and the trial's number).
    study = optuna.create_study(study_name=study_name, storage=sweep.journal(storage),
                                direction="minimize", load_if_exists=True)
    finished = [t for t in study.trials if t.state.is_finished()]
    remaining = trials - len(finished)
    console = _console()
    console.print(f"study {study_name!r} in {_plain(storage)}: {len(finished)} trials done, "
                  f"{max(remaining, 0)} to run", soft_wrap=True)
    if remaining > 0:
        cluster = None if scheduler else LocalCluster(n_workers=workers, threads_per_worker=1,
                                                      processes=True, dashboard_address=None)
        client = Client(scheduler or cluster)
        args = (str(storage), study_name, data, label, epochs, seed, str(out), chosen)
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
            console.print(f"interrupted: the study is kept in {_plain(storage)}; run the same "
                          "command again to resume it", soft_wrap=True)
            raise typer.Exit(130) from None
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    study = optuna.load_study(study_name=study_name, storage=sweep.journal(storage))
    best = sweep.best_trials(study)
    states = [t.state.name for t in study.trials]
    console.print(f"{len(states)} trials: {states.count('COMPLETE')} complete, "
                  f"{states.count('PRUNED')} pruned, {states.count('FAIL')} failed")
    if not best:
        raise CLIError("no trial completed; widen the search space or add --epochs")
    from rich.table import Table

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
def explain(
    model: Annotated[Path, typer.Argument(help="A model.safetensors file.")],
    data: Annotated[str, typer.Option(help="Data as for train.")] = "moons",
    samples: Annotated[int, typer.Option(help="Rows of each array to show.")] = 3,
    batch: Annotated[int, typer.Option(help="Rows of the test split to explain.")] = 32,
    label: Annotated[str, typer.Option(help="CSV label column.")] = "-1",
    seed: Annotated[int, typer.Option(help="Seed of the split, as in train.")] = 0,
):
    """Your model on a real batch, step by step: every equation with its shapes and numbers,
    forward and backward, and statistics per layer."""
    import numpy as np

    from glassnet import datasets

    if batch < 1:
        raise CLIError(f"--batch must be a positive number of rows; got {batch}")
    net, meta = _load_model(model)
    ds = datasets.load(data, label=label, seed=seed)
    names, _, y_test = _encode_labels(ds)
    classes = meta.get("classes") or names
    index = {c: i for i, c in enumerate(classes)}
    X, y = ds.X_test[:batch], y_test[:batch]
    if net.loss.is_classification and all(names[k] in index for k in np.unique(y)):
        y = np.array([index[names[k]] for k in y])
    else:
        y = None
    _console().print(net.explain(X, y, samples=samples))


@app.command()
def export(
    model: Annotated[Path, typer.Argument(help="A model.safetensors file.")],
    output: Annotated[Path, typer.Argument(help="The .onnx file to write.")],
    dtype: Annotated[str | None, typer.Option(help="float32 or float64 (default: the "
                                              "model's).")] = None,
    opset: Annotated[int, typer.Option(help="ONNX opset (13 or newer).")] = 17,
):
    """Export a model to ONNX, for onnxruntime and every runtime that reads ONNX."""
    from glassnet.export import export_onnx

    net, _ = _load_model(model)
    path = export_onnx(net, output, dtype=dtype, opset=opset)
    print(f"wrote {_plain(path)} (opset {opset}; inputs X [N, {net.input_dim}])")


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
    """Architecture, parameters per layer, dtype and training metadata of a model file."""
    from rich.table import Table

    net, meta = _load_model(model)
    console = _console()
    table = Table(title=f"{_plain(model)}: input {net.input_dim} features, loss {net.loss.name}, "
                        f"dtype {net.dtype.name}")
    for col in ("#", "layer", "output", "parameters"):
        table.add_column(col, justify="right" if col != "layer" else "left")
    for i, row in enumerate(net.describe()):
        table.add_row(str(i), row["layer"], str(row["output"]), f"{row['params']:,}")
    table.add_row("", "total", "", f"{net.n_params:,}")
    console.print(table)
    for key, value in meta.items():
        console.print(f"{_plain(key)}: {_plain(value)}")


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
