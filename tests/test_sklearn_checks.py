"""scikit-learn's own estimator checks, with no expected failures declared."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from glassnet.sklearn import NeuralNetClassifier, NeuralNetRegressor


@parametrize_with_checks([NeuralNetClassifier(), NeuralNetRegressor()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
