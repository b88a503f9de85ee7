"""The seed tutorials' experiments, against the numbers printed in the tutorials' text
(../shared/seeds/), not numbers produced by glassnet."""

import pytest

from glassnet import tutorials

from .conftest import DATA, needs_data

# "Cost after iteration {i}" from tutorial 001, every 1000 iterations.
CIRCLES_COSTS = {0: 1.7162788190920542, 1000: 0.6935455829889666, 5000: 0.6843228956957375,
                 10000: 0.5837699313056273, 15000: 0.1756322160294124,
                 20000: 0.07799445785668417, 24000: 0.0612092147947077}
CIRCLES_ACCURACY = {0: 0.5, 10000: 0.789, 15000: 0.973, 24000: 0.982}


def test_circles_reproduces_the_tutorials_cost_curve():
    net, history, rows = tutorials.circles()
    for i, cost in CIRCLES_COSTS.items():
        assert history["loss"][i] == pytest.approx(cost, rel=1e-9), i
    for i, acc in CIRCLES_ACCURACY.items():
        assert history["accuracy"][i] == pytest.approx(acc), i
    train = next(r for r in rows if r["metric"] == "train accuracy")["glassnet"]
    assert train >= 0.97


def test_moons_lands_near_the_tutorials_accuracy():
    _, _, rows = tutorials.moons()
    test = next(r for r in rows if r["metric"] == "test accuracy")["glassnet"]
    train = next(r for r in rows if r["metric"] == "train accuracy")["glassnet"]
    assert test >= 0.80 and train >= 0.80


@needs_data("catvnoncat", "train_catvnoncat.h5")
def test_cats_reproduces_72_and_80_percent_test_accuracy():
    _, rows = tutorials.cats(DATA / "catvnoncat")
    got = {(r["experiment"], r["metric"]): r["glassnet"] for r in rows}
    assert got[("cats 2-layer", "test accuracy")] >= 0.68
    assert got[("cats 4-layer", "test accuracy")] >= 0.76
    # Same draws, same steps: the tutorials' exact figures.
    assert got[("cats 2-layer", "test accuracy")] == pytest.approx(0.72)
    assert got[("cats 4-layer", "test accuracy")] == pytest.approx(0.80)
