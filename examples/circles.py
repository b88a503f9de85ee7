"""Tutorial 001 with glassnet: [2, 10, 5, 1] (ReLU, ReLU, sigmoid) on make_circles, plain
randn initial weights after np.random.seed(4), lr 0.01, 25000 full-batch iterations. The cost
printed every 1000 iterations matches the tutorial's to 15 digits.

    python examples/circles.py [--out runs/example-circles]
"""

import argparse
from pathlib import Path

import numpy as np
from sklearn.datasets import make_circles

import glassnet as gn
from glassnet import plotting

parser = argparse.ArgumentParser()
parser.add_argument("--out", type=Path, default=Path("runs/example-circles"))
args = parser.parse_args()

X, y = make_circles(n_samples=1000, noise=.05, random_state=4)   # np.random.seed(4)
X_test, y_test = make_circles(n_samples=100, noise=.05, random_state=2)

randn = gn.initializers.Normal(1.0)    # np.random.randn(n_in, n_out)
net = gn.Network([gn.Dense(10, "relu", init=randn), gn.Dense(5, "relu", init=randn),
                  gn.Dense(1, "sigmoid", init=randn)], input_dim=2,
                 seed=np.random.RandomState(4))
history = net.fit(X, y, optimizer=gn.SGD(learning_rate=0.01), epochs=25000)
for i in range(0, 25000, 1000):
    print(f"Cost after iteration {i}: {history['loss'][i]} and accuracy: "
          f"{history['accuracy'][i]}")
print(f"train accuracy: {net.evaluate(X, y)['accuracy']:.1%} (tutorial: 98.3 %)")
print(f"test accuracy: {net.evaluate(X_test, y_test)['accuracy']:.1%}")
args.out.mkdir(parents=True, exist_ok=True)
plotting.save(plotting.loss_curve(history, title="circles: cost"), args.out / "loss.png")
plotting.save(plotting.decision_boundary(net, X, y, title="circles [2, 10, 5, 1]"),
              args.out / "decision_boundary.png")
print(f"plots in {args.out}/")
