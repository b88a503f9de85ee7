"""MNIST with glassnet: the classic multilayer-perceptron table, on a CPU.

Trains (1) the 784-800-10 cross-entropy network of Simard et al. 2003 (published test error
1.6 %) and (2) a deeper dropout network in the style of Srivastava et al. 2014 (about
1.25-1.35 %), and prints each one's test error, training time and peak memory; writes the loss
curves and a grid of misclassified digits.

    python examples/mnist.py --data ../shared/data/mnist [--out runs/example-mnist] [--quick]
"""

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import datasets, plotting, schedules

parser = argparse.ArgumentParser()
parser.add_argument("--data", type=Path, required=True, help="folder with the 4 IDX .gz files")
parser.add_argument("--out", type=Path, default=Path("runs/example-mnist"))
parser.add_argument("--quick", action="store_true", help="a few epochs on 10k samples")
parser.add_argument("--only", choices=["800", "dropout"], default=None)
args = parser.parse_args()

data = datasets.load_mnist(args.data, limit=10000 if args.quick else None)
args.out.mkdir(parents=True, exist_ok=True)

CONFIGS = {
    "800": dict(  # Simard et al. 2003: 2-layer, 800 hidden units, cross-entropy
        layers=lambda: [gn.Dense(800, "relu"), gn.Dense(10, "softmax")],
        epochs=30, batch_size=128, learning_rate=1e-3),
    "dropout": dict(  # Srivastava et al. 2014 style: dropout on input and hidden layers
        layers=lambda: [gn.Dropout(0.2), gn.Dense(1024, "relu"), gn.Dropout(0.5),
                        gn.Dense(1024, "relu"), gn.Dropout(0.5), gn.Dense(10, "softmax")],
        epochs=60, batch_size=128, learning_rate=1e-3),
}
results = {}
for name, cfg in CONFIGS.items():
    if args.only and name != args.only:
        continue
    epochs = 2 if args.quick else cfg["epochs"]
    net = gn.Network(cfg["layers"](), input_dim=784, seed=0, dtype="float32")
    opt = gn.Adam(schedules.CosineDecay(cfg["learning_rate"], epochs=epochs))
    start = time.perf_counter()
    history = net.fit(data.X_train, data.y_train, optimizer=opt, epochs=epochs,
                      batch_size=cfg["batch_size"], validation_data=(data.X_test, data.y_test),
                      progress=True)
    seconds = time.perf_counter() - start
    error = 1 - net.evaluate(data.X_test, data.y_test)["accuracy"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results[name] = {"test_error": error, "epochs": epochs, "seconds": seconds,
                     "peak_rss_mb": peak, "architecture": repr(net)}
    print(f"{name}: test error {error:.2%}, {epochs} epochs in {seconds:.0f} s, "
          f"peak memory {peak:.0f} MB")
    plotting.save(plotting.loss_curve(history, title=f"MNIST {name}: loss"),
                  args.out / f"loss_{name}.png")
    wrong = np.flatnonzero(net.predict(data.X_test) != data.y_test)[:32]
    plotting.save(plotting.image_predictions(net, data.X_test[wrong], data.y_test[wrong],
                                             image_shape=(28, 28, 1), max_images=32,
                                             title=f"MNIST {name}: misclassified"),
                  args.out / f"misclassified_{name}.png")
    gn.save(net, args.out / f"{name}.safetensors",
            {"classes": data.classes, "image_shape": [28, 28, 1], **results[name]})
(args.out / "results.json").write_text(json.dumps(results, indent=1))
