"""Tutorial 002 with glassnet: cat vs non-cat, a 2-layer (12288, 7, 1) network with
randn * 0.01 weights and a 4-layer [12288, 20, 7, 5, 1] one with randn / sqrt(n_in),
lr 0.0075, 2500 full-batch iterations, np.random.seed(1); then "predict your own image".

    python examples/cats.py --data ../shared/data/catvnoncat [--image my_cat.jpg]
"""

import argparse
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import datasets, plotting
from glassnet.tutorials import TutorialDraw

parser = argparse.ArgumentParser()
parser.add_argument("--data", type=Path, required=True, help="folder with the two .h5 files")
parser.add_argument("--image", type=Path, help="an image of your own to classify")
parser.add_argument("--out", type=Path, default=Path("runs/example-cats"))
args = parser.parse_args()

data = datasets.load_catvnoncat(args.data)      # pixels / 255, rows of 12288
args.out.mkdir(parents=True, exist_ok=True)
for name, sizes, init, seed_numbers in (
        ("2-layer", [7, 1], TutorialDraw(0.01), "72 %"),
        ("4-layer", [20, 7, 5, 1], TutorialDraw("1/sqrt(n_in)"), "80 %")):
    layers = [gn.Dense(n, "relu", init=init) for n in sizes[:-1]]
    layers.append(gn.Dense(1, "sigmoid", init=init))
    net = gn.Network(layers, input_dim=12288, seed=np.random.RandomState(1))
    history = net.fit(data.X_train, data.y_train, optimizer=gn.SGD(0.0075), epochs=2500)
    train = net.evaluate(data.X_train, data.y_train)["accuracy"]
    test = net.evaluate(data.X_test, data.y_test)["accuracy"]
    print(f"{name}: train accuracy {train:.1%}, test accuracy {test:.1%} "
          f"(tutorial: {seed_numbers} test)")
    plotting.save(plotting.loss_curve(history, title=f"cats {name}: cost"),
                  args.out / f"loss_{name}.png")
    gn.save(net, args.out / f"{name}.safetensors",
            {"classes": data.classes, "image_shape": list(data.image_shape)})

plotting.save(plotting.image_predictions(net, data.X_test[:16], data.y_test[:16],
                                         image_shape=data.image_shape,
                                         class_names=data.classes, title="4-layer: test images"),
              args.out / "test_predictions.png")
if args.image:
    x = datasets.load_image(args.image, data.image_shape[:2])
    p = float(net.predict_proba(x)[0, 0])
    label = data.classes[int(p > 0.5)]
    print(f'your 4-layer model predicts a "{label}" picture (P(cat) = {p:.3f})')
print(f"plots and models in {args.out}/")
