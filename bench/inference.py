"""Inference: ``predict_proba`` latency for one row and throughput for 10^4 rows, glassnet
against scikit-learn's MLPClassifier, PyTorch (eager, ``torch.inference_mode``) and
onnxruntime on glassnet's own ONNX export, for the same weights.

    python bench/inference.py --out bench/inference.md [--smoke]

Two networks: a tabular 20-100-2 (scikit-learn's default hidden layer) and 784-512-512-10.
Each framework runs in its own process with the weights glassnet trained (copied into the
others), and the outputs are checked to agree before anything is timed. Latency is the median
of many single calls; throughput the median of repeated calls on 10^4 rows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

# Two classes: one sigmoid output, as scikit-learn's MLPClassifier and glassnet's have.
MODELS = {"tabular 20-100-2, float64": ([20, 100, 2], "float64"),
          "784-512-512-10, float32": ([784, 512, 512, 10], "float32")}
FRAMEWORKS = ("glassnet estimator", "glassnet Network", "sklearn", "torch", "onnxruntime",
              "NumPy floor")


def make_model(sizes, dtype, folder: Path):
    """A glassnet classifier fitted briefly on random data, saved for every worker."""
    import warnings

    import numpy as np

    from glassnet.sklearn import NeuralNetClassifier

    warnings.simplefilter("ignore")               # two epochs do not converge: on purpose
    rng = np.random.default_rng(0)
    X = rng.random((2000, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], 2000)
    clf = NeuralNetClassifier(tuple(sizes[1:-1]), max_iter=2, random_state=0,
                              dtype=dtype).fit(X, y)
    weights = {f"W{i}": layer.W for i, layer in enumerate(clf.network_.dense_layers)}
    weights |= {f"b{i}": layer.b for i, layer in enumerate(clf.network_.dense_layers)}
    np.savez(folder / "weights.npz", X=X, y=y, **weights)
    return clf


def worker(framework: str, sizes, dtype, folder: str, smoke: bool) -> dict:
    import numpy as np

    folder = Path(folder)
    saved = np.load(folder / "weights.npz")
    Ws = [saved[f"W{i}"] for i in range(len(sizes) - 1)]
    bs = [saved[f"b{i}"] for i in range(len(sizes) - 1)]
    rng = np.random.default_rng(1)
    big = rng.random((10_000, sizes[0])).astype(dtype)
    one = big[:1].copy()
    if framework.startswith("glassnet"):
        import warnings

        from glassnet.sklearn import NeuralNetClassifier

        warnings.simplefilter("ignore")
        clf = NeuralNetClassifier(tuple(sizes[1:-1]), max_iter=1, random_state=0,
                                  dtype=dtype).fit(saved["X"], saved["y"])
        for layer, W, b in zip(clf.network_.dense_layers, Ws, bs):
            layer.W[...], layer.b[...] = W, b
        predict = clf.predict_proba if framework == "glassnet estimator" else \
            clf.network_.predict_proba
    elif framework == "sklearn":
        import warnings

        from sklearn.neural_network import MLPClassifier

        warnings.simplefilter("ignore")
        clf = MLPClassifier(tuple(sizes[1:-1]), max_iter=1, random_state=0).fit(
            saved["X"], saved["y"])
        clf.coefs_ = [W.copy() for W in Ws]
        clf.intercepts_ = [b.copy() for b in bs]
        predict = clf.predict_proba
    elif framework == "torch":
        import torch

        layers = []
        for i, (W, b) in enumerate(zip(Ws, bs)):
            linear = torch.nn.Linear(*W.shape, dtype=getattr(torch, dtype))
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W.T.copy()))
                linear.bias.copy_(torch.from_numpy(b.copy()))
            layers.append(linear)
            if i < len(Ws) - 1:
                layers.append(torch.nn.ReLU())
        binary = Ws[-1].shape[1] == 1
        layers.append(torch.nn.Sigmoid() if binary else torch.nn.Softmax(dim=1))
        model = torch.nn.Sequential(*layers).eval()

        def predict(X):
            with torch.inference_mode():
                p = model(torch.from_numpy(X))
                return (torch.cat((1 - p, p), 1) if binary else p).numpy()
    elif framework == "onnxruntime":
        try:
            import onnxruntime as ort
        except ImportError:
            return {"skipped": "onnxruntime is not installed"}
        import warnings

        import glassnet as gn
        from glassnet.sklearn import NeuralNetClassifier

        warnings.simplefilter("ignore")
        clf = NeuralNetClassifier(tuple(sizes[1:-1]), max_iter=1, random_state=0,
                                  dtype=dtype).fit(saved["X"], saved["y"])
        for layer, W, b in zip(clf.network_.dense_layers, Ws, bs):
            layer.W[...], layer.b[...] = W, b
        path = folder / "model.onnx"
        gn.export_onnx(clf, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name

        def predict(X):
            return session.run(["probabilities"], {name: X})[0]
    elif framework == "NumPy floor":
        # The forward pass as the fewest NumPy calls, no input checks: what any library built
        # on NumPy's products pays at least. Where PyTorch beats this, glassnet cannot match
        # PyTorch without products of its own.
        Ws_, bs_ = [W.astype(dtype) for W in Ws], [b.astype(dtype) for b in bs]

        def predict(X):
            A = X
            for W, b in zip(Ws_[:-1], bs_[:-1]):
                A = A @ W
                A += b
                np.maximum(A, 0, out=A)
            A = A @ Ws_[-1]
            A += bs_[-1]
            if A.shape[1] == 1:
                return 1 / (1 + np.exp(-A))
            A -= A.max(axis=1, keepdims=True)
            np.exp(A, out=A)
            A /= A.sum(axis=1, keepdims=True)
            return A
    else:
        raise ValueError(framework)
    # The same numbers first: a fast wrong answer is not a result.
    reference = _reference(big[:64], Ws, bs)
    tolerance = 1e-4 if dtype == "float32" else 1e-9
    out = np.asarray(predict(big[:64]), dtype=float)
    if out.shape[1] == 1:                # Network.predict_proba: P(class 1) only
        reference = reference[:, 1:]
    error = float(np.abs(out - reference).max())
    if error > tolerance:
        raise AssertionError(f"{framework} disagrees with the reference by {error}")
    calls, reps = (200, 3) if smoke else (5000, 30)
    return {"latency_us": 1e6 * _median_seconds(lambda: predict(one), calls, calls // 10),
            "rows_per_s": len(big) / _median_seconds(lambda: predict(big), reps, 1),
            "max_error": error}


def _median_seconds(call, times: int, warm: int) -> float:
    """The median time of ``times`` calls of ``call``, after ``warm`` untimed ones."""
    for _ in range(warm):
        call()
    seconds = []
    for _ in range(times):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def _reference(X, Ws, bs):
    import numpy as np

    A = X.astype(float)
    for i, (W, b) in enumerate(zip(Ws, bs)):
        A = A @ W.astype(float) + b
        if i < len(Ws) - 1:
            A = np.maximum(A, 0)
    if A.shape[1] == 1:
        p = 1 / (1 + np.exp(-A))
        return np.hstack([1 - p, p])
    A = np.exp(A - A.max(axis=1, keepdims=True))
    return A / A.sum(axis=1, keepdims=True)


def run(framework, models, smoke) -> list[dict]:
    """``worker`` for each ``(sizes, dtype, folder)`` of ``models``, in one new process."""
    from run import in_process

    return in_process(Path(__file__).resolve(), [framework, models, smoke], timeout=1800)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--smoke", action="store_true", help="few calls: seconds, not results")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        framework, models, smoke = json.loads(args.worker)
        print(json.dumps([worker(framework, *model, smoke) for model in models]))
        return
    from run import available, emit, machine, versions

    args.repeats = args.repeats or (1 if args.smoke else 3)

    frameworks = [f for f in FRAMEWORKS if f != "torch" or available("torch")]
    results = {}
    with tempfile.TemporaryDirectory() as root:
        models = {}
        for i, (name, (sizes, dtype)) in enumerate(MODELS.items()):
            folder = Path(root) / str(i)
            folder.mkdir()
            make_model(sizes, dtype, folder)
            models[name] = (sizes, dtype, str(folder))
        # A smoke run checks the code, not the speed: one process per framework.
        smoke = {f: run(f, list(models.values()), True) for f in frameworks} \
            if args.smoke else None
        for i, (name, model) in enumerate(models.items()):
            runs = {f: [] for f in frameworks}
            for r in range(args.repeats):     # rotating order: the machine's speed drifts
                for f in frameworks[r % len(frameworks):] + frameworks[:r % len(frameworks)]:
                    runs[f].append(smoke[f][i] if smoke else run(f, [model], False)[0])
            results[name] = {f: rs[0] if "skipped" in rs[0] else
                             {k: statistics.median(x[k] for x in rs) for k in rs[0]}
                             for f, rs in runs.items()}
            print(name, json.dumps(results[name]), flush=True)
    lines = ["# Inference: predict_proba", "",
             f"- machine: {machine()}",
             "- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
             "- method: each framework in its own process with the same weights (checked to "
             f"give the same probabilities first), {args.repeats} runs each in rotating order, "
             "the median of the runs shown; in each run latency is the median of "
             f"{200 if args.smoke else 5000} calls on one row, throughput the median of "
             f"{3 if args.smoke else 30} calls on 10^4 rows. PyTorch: eager, "
             "`torch.inference_mode()`, a sigmoid or softmax module at the end; "
             "onnxruntime: glassnet's own export, CPU provider, one thread per core. "
             "NumPy floor: the forward pass as the fewest NumPy calls (products, bias, "
             "activation; no input checks), the least a library built on NumPy's products pays."
             + (" SMOKE RUN: too short to mean anything." if args.smoke else ""), ""]
    for name, row in results.items():
        lines += [f"## {name}", "", "| framework | 1-row latency | 10^4-row throughput |",
                  "|---|---|---|"]
        for f, r in row.items():
            if "skipped" in r:
                lines.append(f"| {f} | {r['skipped']} | |")
                continue
            lines.append(f"| {f} | {r['latency_us']:.1f} us | "
                         f"{r['rows_per_s'] / 1e6:.2f} M rows/s |")
        lines.append("")
    emit(lines, args.out)


if __name__ == "__main__":
    main()
