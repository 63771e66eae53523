"""scikit-learn's estimator checks over every registered regressor, with their defaults.

An architecture's ``check_params`` (empty for most) go on top of the defaults: a shorter
window for the nets whose cost grows with it (see :class:`skfin.registry.Architecture`).
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skfin.registry import ARCHITECTURES


@parametrize_with_checks(
    [arch.regressor(**arch.check_params) for arch in ARCHITECTURES],
    expected_failed_checks=lambda est: est._expected_failed_checks(),
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
