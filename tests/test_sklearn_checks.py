"""scikit-learn's own estimator checks, with no expected failures declared, for every solver."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from glassnet.sklearn import NeuralNetClassifier, NeuralNetRegressor

SOLVERS = ("adam", "sgd", "lbfgs", "adamw", "rmsprop")


@parametrize_with_checks([Estimator(solver=solver) for solver in SOLVERS
                          for Estimator in (NeuralNetClassifier, NeuralNetRegressor)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
