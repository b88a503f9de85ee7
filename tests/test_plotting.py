import numpy as np
import pytest

import glassnet as gn
from glassnet import plotting


@pytest.fixture(scope="module")
def trained():
    X, y = gn.datasets.moons(100)
    net = gn.Network([gn.Dense(8, "relu"), gn.Dense(1, "sigmoid")], seed=0)
    history = net.fit(X, y, optimizer=gn.Adam(0.05), epochs=30, validation_data=(X, y))
    return net, history, X, y


def test_loss_curve_has_labels_and_both_curves(trained):
    _, history, _, _ = trained
    fig = plotting.loss_curve(history)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training loss",
                                                                    "validation loss"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), history["loss"])


def test_decision_boundary_and_scatter(trained, tmp_path):
    net, _, X, y = trained
    fig = plotting.decision_boundary(net, X, y)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "class 0" in labels and "class 1" in labels
    plotting.save(fig, tmp_path / "b.png")
    assert (tmp_path / "b.png").stat().st_size > 10_000
    with pytest.raises(ValueError, match="2-D data"):
        plotting.decision_boundary(net, np.zeros((3, 3)), [0, 1, 0])


def test_image_predictions_marks_wrong_predictions_red():
    net = gn.Network([gn.Dense(1, "sigmoid", init="zeros")], input_dim=12)
    images = np.random.default_rng(0).random((4, 2, 2, 3))
    fig = plotting.image_predictions(net, images, labels=[0, 1, 0, 1])
    colors = [ax.title.get_color() for ax in fig.axes]
    # All-zero weights give p = 0.5 -> predicted class 0: labels 1 are wrong.
    assert colors == ["black", "red", "black", "red"]
