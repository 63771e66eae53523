"""scikit-learn's estimator checks over every registered regressor, with their defaults."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skfin.registry import all_regressors


@parametrize_with_checks(
    [cls() for cls in all_regressors()],
    expected_failed_checks=lambda est: est._expected_failed_checks(),
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
