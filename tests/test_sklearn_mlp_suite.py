"""scikit-learn's own MLP test file, run against glassnet's estimators.

The file is read from the installed scikit-learn (never copied here) and executed with one
change: ``MLPClassifier`` and ``MLPRegressor`` are glassnet's ``NeuralNetClassifier`` and
``NeuralNetRegressor``. pytest then collects its tests as this module's. The few tests that
call scikit-learn's private methods or read its private attributes test its implementation,
not the behaviour, and are left out, each with the reason (a test below checks the reason).
"""

import importlib.util
import inspect
import re
from pathlib import Path

import pytest

SOURCE = Path(importlib.util.find_spec("sklearn.neural_network").origin).parent / "tests" / \
    "test_mlp.py"

#: tests of scikit-learn's implementation, not of the behaviour: not collected
EXCLUDED = {
    "test_fit": "sets scikit-learn's private state (_coef_grads, _coef_velocity, ...) by hand "
                "before calling partial_fit",
    "test_gradient": "calls scikit-learn's private _loss_grad_lbfgs",
}

_code = SOURCE.read_text()
_replaced = _code.replace(
    "from sklearn.neural_network import MLPClassifier, MLPRegressor",
    "from glassnet.sklearn import NeuralNetClassifier as MLPClassifier\n"
    "from glassnet.sklearn import NeuralNetRegressor as MLPRegressor")
assert _replaced != _code, f"{SOURCE} no longer imports the MLPs the way this module expects"
exec(compile(_replaced, str(SOURCE), "exec"), globals())   # noqa: S102 - scikit-learn's tests
_namespace = dict(globals())

for _name in EXCLUDED:
    del globals()[_name]


@pytest.fixture
def global_random_seed():
    """scikit-learn's conftest fixture, at its default seed."""
    return 42


@pytest.mark.parametrize("name", sorted(EXCLUDED))
def test_each_left_out_test_really_uses_private_scikit_learn_internals(name):
    source = inspect.getsource(_namespace[name])
    assert re.search(r"\bmlp\._[a-z]", source), f"{name} does not touch private internals"


def test_the_suite_collects_scikit_learns_tests():
    collected = [n for n in globals() if n.startswith("test_") and callable(globals()[n])]
    assert len(collected) >= 40
