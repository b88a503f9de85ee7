"""Tutorial 000 with glassnet: a 2-5-1 network (ReLU, sigmoid) on two-moons, trained by
full-batch gradient descent, lr 0.003, 20000 epochs; then the loss curve and the boundary.

    python examples/moons.py [--out runs/example-moons]
"""

import argparse
from pathlib import Path

import numpy as np
from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split

import glassnet as gn
from glassnet import plotting
from glassnet.tutorials import TutorialDraw

parser = argparse.ArgumentParser()
parser.add_argument("--out", type=Path, default=Path("runs/example-moons"))
args = parser.parse_args()

X, y = make_moons(300, noise=0.20, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, test_size=0.20)

# The tutorial draws randn(5, 2) / sqrt(2) after np.random.seed(0); TutorialDraw repeats it.
init = TutorialDraw("1/sqrt(n_in)")
net = gn.Network([gn.Dense(5, "relu", init=init), gn.Dense(1, "sigmoid", init=init)],
                 input_dim=2, seed=np.random.RandomState(0))
history = net.fit(X_train, y_train, optimizer=gn.SGD(learning_rate=0.003), epochs=20000,
                  verbose=1000)

print(f"train accuracy: {net.evaluate(X_train, y_train)['accuracy']:.1%} (tutorial: 85.4 %)")
print(f"test accuracy: {net.evaluate(X_test, y_test)['accuracy']:.1%} (tutorial: 83.3 %)")
args.out.mkdir(parents=True, exist_ok=True)
plotting.save(plotting.loss_curve(history, title="moons 2-5-1: cost"), args.out / "loss.png")
plotting.save(plotting.decision_boundary(net, X, y, title="moons 2-5-1"),
              args.out / "decision_boundary.png")
print(f"plots in {args.out}/")
