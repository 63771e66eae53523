"""scikit-learn's estimator checks over every registered regressor, with their defaults.

An architecture's ``check_params`` (empty for most) go on top of the defaults: a shorter
window for the nets whose cost grows with it (see :class:`skfin.registry.Architecture`).
"""

from collections import Counter

from sklearn.utils.estimator_checks import parametrize_with_checks

from skfin.registry import ARCHITECTURES

CHECKS = parametrize_with_checks(
    [arch.regressor(**arch.check_params) for arch in ARCHITECTURES],
    expected_failed_checks=lambda est: est._expected_failed_checks(),
)


@CHECKS
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_the_checks_cover_every_architecture():
    """The suite above is not empty or thinned out: every registered regressor gets
    sklearn's full list of checks (59 with scikit-learn 1.6-1.9), and only the
    order-dependent ones are expected to fail."""
    cases = CHECKS.mark.args[1]
    per_estimator = Counter(type(_values(case)[0]).__name__ for case in cases)
    assert set(per_estimator) == {arch.regressor.__name__ for arch in ARCHITECTURES}
    assert min(per_estimator.values()) >= 50, per_estimator
    expected_to_fail = Counter(type(_values(case)[0]).__name__ for case in cases
                               if getattr(case, "marks", ()))
    assert max(expected_to_fail.values(), default=0) <= 3, expected_to_fail


def _values(case):
    """A parametrize case: a plain tuple, or a ``pytest.param`` carrying marks."""
    return case.values if hasattr(case, "values") else case
