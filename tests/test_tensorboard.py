"""The TensorBoard callback, checked by reading its event files back record by record."""

import struct
import subprocess
import sys
import warnings

import numpy as np
import pytest

import glassnet as gn

pytest.importorskip("tensorboardX")
from tensorboardX.proto import event_pb2  # noqa: E402

from glassnet.tensorboard import TensorBoard  # noqa: E402


def events(folder):
    """Every summary value in the folder's event files: ``{tag: [(step, value), ...]}`` (a
    histogram's value is its ``HistogramProto``)."""
    found = {}
    for path in sorted(folder.glob("**/events.out.tfevents.*")):
        data = path.read_bytes()
        at = 0
        while at < len(data):                 # length, its CRC, the record, its CRC
            (length,) = struct.unpack("<Q", data[at:at + 8])
            record = data[at + 12:at + 12 + length]
            at += 12 + length + 4
            event = event_pb2.Event.FromString(record)
            for value in event.summary.value:
                kind = value.WhichOneof("value")
                found.setdefault(value.tag, []).append(
                    (event.step, value.simple_value if kind == "simple_value" else value.histo))
    return found


def test_fit_writes_its_curves_and_each_layers_weights_and_gradients(tmp_path):
    X, y = gn.datasets.moons()
    net = gn.Network([gn.Dense(5, "tanh"), gn.Dense(1, "sigmoid")], input_dim=2, seed=0)
    history = net.fit(X, y, optimizer=gn.SGD(0.5), epochs=6, validation_split=0.2,
                      callbacks=[TensorBoard(tmp_path, histogram_freq=2)])
    found = events(tmp_path)
    for key in ("loss", "accuracy", "val_loss", "learning_rate"):
        assert [step for step, _ in found[key]] == list(range(6))
        np.testing.assert_allclose([v for _, v in found[key]], history[key], rtol=1e-6)
    weights = found["layer1/W"]
    assert [step for step, _ in weights] == [0, 2, 4]
    assert weights[-1][1].num == 10                    # the (2, 5) weights of epoch 4
    assert {"layer1/b", "layer1/dW", "layer2/W", "layer2/db"} <= set(found)
    # The histogram of epoch 4 holds the weights after five epochs: its sum is theirs.
    last = found["layer2/W"][-1][1]
    net2 = gn.Network([gn.Dense(5, "tanh"), gn.Dense(1, "sigmoid")], input_dim=2, seed=0)
    net2.fit(X, y, optimizer=gn.SGD(0.5), epochs=5, validation_split=0.2)
    assert last.sum == pytest.approx(float(net2.dense_layers[1].W.sum()), rel=1e-6)


def test_an_estimator_and_the_command_log_to_tensorboard(tmp_path):
    from glassnet.sklearn import NeuralNetClassifier

    X, y = gn.datasets.moons()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = NeuralNetClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0,
                                  callbacks=[TensorBoard(tmp_path / "est", histogram_freq=0)])
        clf.fit(X, y)
    found = events(tmp_path / "est")
    np.testing.assert_allclose([v for _, v in found["loss"]], clf.loss_curve_, rtol=1e-6)
    assert not any(tag.startswith("layer") for tag in found)
    result = subprocess.run([sys.executable, "-m", "glassnet", "train", "--epochs", "4",
                             "--out", tmp_path / "run", "--tensorboard", tmp_path / "tb",
                             "--quiet", "--allow-poor"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    found = events(tmp_path / "tb")
    assert len(found["loss"]) == 4 and "layer1/W" in found and "layer2/dW" in found
