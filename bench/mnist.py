"""MNIST against the published multilayer-perceptron results, with scikit-learn's
MLPClassifier trained on the same data with the same hidden layers in the same run.

    python bench/mnist.py --data ../shared/data/mnist --out bench/mnist.md [--quick]

glassnet's rows come from examples/mnist.py (run here as a subprocess, so each row's peak
memory is its own); the scikit-learn row from a subprocess of this script.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

ANCHORS = [
    ("LeCun et al. 1998", "2-layer NN, 300 hidden units, MSE", "4.7 %"),
    ("LeCun et al. 1998", "3-layer NN, 500+150 hidden units", "2.95 %"),
    ("Simard et al. 2003", "2-layer NN, 800 hidden units, cross-entropy", "1.6 %"),
    ("Srivastava et al. 2014", "MLPs with dropout", "1.25-1.35 %"),
]


#: the README's MNIST command (after --data DIR)
COMMAND = ["--layers", "800", "--batch-size", "128", "--epochs", "30", "--learning-rate",
           "0.001", "--schedule", "cosine", "--dtype", "float32"]


def command_row(data, epochs, out):
    """The README's command, run as a user would; its test error, time and peak memory."""
    import re

    args = [a if a != "30" else str(epochs) for a in COMMAND]
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "glassnet", "train", "--data", str(data), *args,
                          "--out", str(out), "--overwrite", "--quiet", "--allow-poor"],
                         check=True, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT / "src"), **os.environ})
    seconds = time.perf_counter() - start
    error = float(re.search(r"test error ([0-9.]+)%", run.stdout).group(1)) / 100
    peak = float(re.search(r"peak memory (\d+) MB", run.stdout).group(1))
    return {"test_error": error, "epochs": epochs, "seconds": seconds, "peak_rss_mb": peak}


def sklearn_worker(data, epochs, quick):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    sys.path.insert(0, str(ROOT / "src"))
    from glassnet.datasets import load_mnist

    ds = load_mnist(data, limit=10000 if quick else None)
    model = MLPClassifier((800,), max_iter=epochs, random_state=0, batch_size=128)
    warnings.simplefilter("ignore", ConvergenceWarning)
    start = time.perf_counter()
    model.fit(ds.X_train, ds.y_train)
    seconds = time.perf_counter() - start
    return {"test_error": 1 - model.score(ds.X_test, ds.y_test), "epochs": model.n_iter_,
            "seconds": seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=HERE / "mnist.md")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "mnist")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sklearn-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    epochs = 2 if args.quick else 30
    if args.sklearn_worker:
        print(json.dumps(sklearn_worker(args.data, epochs, args.quick)))
        return

    rows = {}
    for name in ("800", "dropout"):
        cmd = [sys.executable, str(ROOT / "examples" / "mnist.py"), "--data", str(args.data),
               "--out", str(args.runs), "--only", name] + (["--quick"] if args.quick else [])
        subprocess.run(cmd, check=True, env={"PYTHONPATH": str(ROOT / "src"), **os.environ})
        rows[name] = json.loads((args.runs / "results.json").read_text())[name]
    out = subprocess.run([sys.executable, __file__, "--data", str(args.data),
                          "--sklearn-worker"] + (["--quick"] if args.quick else []),
                         check=True, capture_output=True, text=True)
    rows["sklearn"] = json.loads(out.stdout.strip().splitlines()[-1])
    rows["cli"] = command_row(args.data, epochs, args.runs / "cli")

    sys.path.insert(0, str(HERE))
    from run import machine, versions

    lines = ["# MNIST: glassnet beside the published MLP results", "",
             f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
             f"- machine: {machine()}",
             "- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
             "- data: the standard 60000 / 10000 split, pixels / 255, no augmentation, no "
             "convolutions" + (" (QUICK RUN: 10000 training samples, 2 epochs)"
                               if args.quick else ""), "",
             "| source | network | test error | epochs | wall time | peak memory |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {src} | {net} (published) | {err} | - | - | - |" for src, net, err in ANCHORS]
    labels = {"800": "glassnet: 784-800-10 ReLU, softmax cross-entropy, Adam + cosine, "
                     "batch 128, float32",
              "dropout": "glassnet: 784-1024-1024-10 ReLU, dropout 0.2 / 0.5 / 0.5, Adam + "
                         "cosine, batch 128, float32",
              "sklearn": "scikit-learn MLPClassifier(800,), adam, batch 128, same data",
              "cli": f"the README's command: `{' '.join(COMMAND)}`"}
    for key, label in labels.items():
        r = rows[key]
        lines.append(f"| this run | {label} | {r['test_error']:.2%} | {r['epochs']} | "
                     f"{r['seconds']:.0f} s | {r['peak_rss_mb']:.0f} MB |")
    text = "\n".join(lines) + "\n"
    print(text)
    from glassnet.io import atomic_write_bytes

    atomic_write_bytes(args.out, text.encode())


if __name__ == "__main__":
    main()
