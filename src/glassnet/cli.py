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


@app.command()
def train(
    data: Annotated[str, typer.Option(help="Built-in (moons, circles, spirals, xor, blobs) or a "
                                      "path: .csv, .npz, cat/non-cat HDF5 folder, MNIST IDX "
                                      "folder, folder of class sub-folders.")] = "moons",
    layers: Annotated[str, typer.Option(help="Hidden layer sizes, e.g. 10,5.")] = "16,16",
    activation: Annotated[str, typer.Option(help="Hidden activation.")] = "relu",
    optimizer: Annotated[str, typer.Option(help="sgd, adam, adamw or rmsprop.")] = "adam",
    learning_rate: Annotated[float, typer.Option(help="Learning rate.")] = 0.01,
    epochs: Annotated[int, typer.Option(help="Passes over the training data.")] = 500,
    batch_size: Annotated[int, typer.Option(help="Mini-batch size; 0 = full batch.")] = 0,
    dropout: Annotated[float, typer.Option(help="Dropout rate after each hidden layer.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed for weights, shuffling and the split.")] = 0,
    dtype: Annotated[str, typer.Option(help="float64 or float32.")] = "float64",
    label: Annotated[str, typer.Option(help="CSV label column (name or index).")] = "-1",
    validation_freq: Annotated[int, typer.Option(
        help="Measure the test split every N epochs for the loss plot; 0 = only at the end "
             "(fastest: the exact fast engines run undisturbed).")] = 0,
    out: Annotated[Path, typer.Option(help="Folder for model, history and plots.")] = Path(
        "runs/latest"),
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
):
    """Train a network and write model.safetensors, history.json and plots into --out."""
    import time

    import numpy as np

    import glassnet as gn
    from glassnet import datasets, optimizers

    console = _console()
    ds = datasets.load(data, label=label, seed=seed)
    classes, y_train, y_test = _encode_labels(ds)
    if len(classes) < 2:
        raise CLIError(f"the data has a single class ({classes[0]!r}); a classifier needs two")
    hidden = _parse_layers(layers)
    net_layers = []
    for size in hidden:
        net_layers.append(gn.Dense(size, activation))
        if dropout:
            net_layers.append(gn.Dropout(dropout))
    head = gn.Dense(1, "sigmoid") if len(classes) == 2 else gn.Dense(len(classes), "softmax")
    net = gn.Network(net_layers + [head], input_dim=ds.n_features, seed=seed, dtype=dtype)
    opt = optimizers.get(optimizer, learning_rate=learning_rate)
    console.print(f"glassnet {_plain(ds.name)}: {len(ds.X_train)} train / {len(ds.X_test)} "
                  f"test samples, {ds.n_features} features, {len(classes)} classes; "
                  f"network {ds.n_features}-{'-'.join(map(str, hidden + [head.units]))}, "
                  f"{net.n_params} parameters")
    start = time.perf_counter()
    if validation_freq < 0:
        raise CLIError(f"--validation-freq must be 0 (only at the end) or a positive number of "
                       f"epochs; got {validation_freq}")
    history = net.fit(ds.X_train, y_train, optimizer=opt, epochs=epochs,
                      batch_size=batch_size or None, validation_data=(ds.X_test, y_test),
                      validation_freq=validation_freq or epochs, progress=not quiet)
    seconds = time.perf_counter() - start
    train_acc = net.evaluate(ds.X_train, y_train)["accuracy"]
    test_acc = net.evaluate(ds.X_test, y_test)["accuracy"]

    out.mkdir(parents=True, exist_ok=True)
    metadata = {"data": ds.name, "classes": classes,
                "image_shape": list(ds.image_shape) if ds.image_shape else None,
                "optimizer": opt.get_config(), "epochs": epochs, "batch_size": batch_size or None,
                "seed": seed, "train_accuracy": train_acc, "test_accuracy": test_acc,
                "training_seconds": seconds, "glassnet_version": gn.__version__}
    gn.save(net, out / "model.safetensors", metadata)
    from glassnet.io import atomic_write_bytes

    atomic_write_bytes(out / "history.json", json.dumps(history.to_dict(), indent=1).encode())
    from glassnet import plotting

    plotting.save(plotting.loss_curve(history, title=f"{ds.name}: loss"), out / "loss.png")
    if ds.image_shape is not None:
        wrong = np.flatnonzero(net.predict(ds.X_test) != y_test)[:32]
        if len(wrong):
            plotting.save(plotting.image_predictions(
                net, ds.X_test[wrong], y_test[wrong], image_shape=ds.image_shape,
                class_names=classes, max_images=32, title=f"{ds.name}: misclassified test images"),
                out / "misclassified.png")
    if ds.n_features == 2:
        X_all = np.vstack([ds.X_train, ds.X_test])
        y_all = np.concatenate([y_train, y_test])
        plotting.save(plotting.decision_boundary(net, X_all, y_all,
                                                 title=f"{ds.name}: decision boundary",
                                                 class_names=classes),
                      out / "decision_boundary.png")
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(f"train accuracy: {train_acc:.4f}")
    console.print(f"test accuracy: {test_acc:.4f} (test error {1 - test_acc:.2%})")
    console.print(f"trained {epochs} epochs in {seconds:.2f} s, peak memory {peak:.0f} MB; "
                  f"wrote {_plain(out)}/: "
                  + ", ".join(sorted(_plain(p.name) for p in out.iterdir())))


def _load_model(path: Path):
    import glassnet as gn

    net = gn.load(path)
    return net, getattr(net, "metadata", {}) or {}


@app.command()
def evaluate(
    model: Annotated[Path, typer.Argument(help="A model.safetensors file.")],
    data: Annotated[str, typer.Option(help="Data as for train (its test split is used).")] =
    "moons",
    split: Annotated[str, typer.Option(help="test, train or all.")] = "test",
    label: Annotated[str, typer.Option(help="CSV label column.")] = "-1",
    seed: Annotated[int, typer.Option(help="Seed of the split, as in train.")] = 0,
):
    """Loss, accuracy, confusion matrix and per-class precision / recall."""
    import numpy as np
    from rich.table import Table
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    from glassnet import datasets

    net, meta = _load_model(model)
    ds = datasets.load(data, label=label, seed=seed)
    if split not in ("test", "train", "all"):
        raise CLIError(f"--split must be test, train or all; got {split!r}")
    names, y_train, y_test = _encode_labels(ds)
    X = {"test": ds.X_test, "train": ds.X_train}.get(split)
    y = {"test": y_test, "train": y_train}.get(split)
    if split == "all":
        X, y = np.vstack([ds.X_train, ds.X_test]), np.concatenate([y_train, y_test])
    classes = meta.get("classes") or names
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({names[k] for k in np.unique(y)} - set(index))
    if unknown:
        raise CLIError(f"the data has labels the model never saw: {unknown[:5]}; the model "
                       f"knows {classes}")
    y_idx = np.array([index[names[k]] for k in y])
    result = net.evaluate(X, y_idx)
    pred = net.predict(X)
    console = _console()
    console.print(f"{split} samples: {len(X)}")
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
    """Predict the class of your own images, or of the rows of a CSV."""
    import numpy as np

    from glassnet import datasets

    net, meta = _load_model(model)
    classes = meta.get("classes") or [str(i) for i in range(max(net.output_dim, 2))]
    shape = meta.get("image_shape")
    if shape:
        for path in inputs:
            x = datasets.load_image(path, (shape[0], shape[1]), channels=shape[2])
            from glassnet.losses import class_indices

            p = net.predict_proba(x)[0]
            k = int(class_indices(p[None, :])[0])
            conf = p[k] if len(p) > 1 else (p[0] if k == 1 else 1 - p[0])
            print(f"{path}: {classes[k]} (probability {conf:.3f})")
        return
    if len(inputs) != 1 or inputs[0].suffix.lower() != ".csv":
        raise CLIError("a tabular model predicts from one CSV file of feature columns")
    X, _, _ = _read_features(inputs[0], net.input_dim)
    proba = net.predict_proba(X)
    if proba.shape[1] == 1:
        proba = np.hstack([1 - proba, proba])
    pred = proba.argmax(1)
    lines = ["prediction," + ",".join(f"p_{c}" for c in classes)]
    lines += [f"{classes[k]}," + ",".join(f"{v:.6f}" for v in row) for k, row in zip(pred, proba)]
    text = "\n".join(lines) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        from glassnet.io import atomic_write_bytes

        atomic_write_bytes(output, text.encode())
        print(f"wrote {len(pred)} predictions to {output}")


def _read_features(path: Path, n_features: int):
    """A CSV of exactly the model's features, or of those plus a trailing label column."""
    import numpy as np

    from glassnet import datasets

    if not path.exists():
        raise FileNotFoundError(f"no file at {str(path)!r}")
    X, y, names = datasets.load_csv(path, label=-1)
    full = np.column_stack([X, y]) if X.shape[1] + 1 == n_features else X
    if full.shape[1] == n_features:
        return full.astype(float), None, names
    raise CLIError(f"{path} has {X.shape[1] + 1} columns; the model expects {n_features} "
                   f"feature columns (optionally followed by a label column)")


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


def main() -> None:
    """Entry point. Typer reports usage errors itself (exit status 2); errors in the data,
    files or options become one line on stderr and exit status 1."""
    from glassnet.io import ModelFileError

    try:
        app()
    except (CLIError, ValueError, TypeError, ModelFileError, OSError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
