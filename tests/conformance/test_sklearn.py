"""scikit-learn's estimator checks over every registered regressor.

An architecture's ``check_params`` (empty for most) go on top of the defaults: a shorter
window for the nets whose cost grows with it (see :class:`skfin.registry.Architecture`).

The one check that asks an estimator to *learn* (``check_regressors_train``: R^2 > 0.5 on
sklearn's 200-row regression set, unless the ``poor_score`` tag says otherwise) runs with
the default training settings, so it keeps proving that the defaults fit. Every other check
asks about the API (input types, shapes, pickling, cloning, errors, determinism), which does
not depend on how long the net trains; those run with ``max_epochs=3``, as scikit-learn's own
suite shortens ``max_iter`` for its iterative estimators (``INIT_PARAMS`` and
``PER_ESTIMATOR_CHECK_PARAMS`` in ``sklearn/utils/_test_common/instance_generator.py``).
With the defaults everywhere, ``check_regressor_data_not_an_array`` alone (four full fits)
took ~230 s of the suite.
"""

import functools
from collections import Counter

import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import estimator_checks_generator

from skfin.registry import ARCHITECTURES

#: the checks whose outcome depends on the training settings: run with the defaults
LEARNING_CHECKS = frozenset({"check_regressors_train"})
#: training length for the checks that only exercise the API
API_CHECK_EPOCHS = 3


def _check_name(check):
    return (check.func if isinstance(check, functools.partial) else check).__name__


def _values(case):
    """A parametrize case: a plain tuple, or a ``pytest.param`` carrying marks."""
    return case.values if hasattr(case, "values") else case


def _cases():
    for arch in ARCHITECTURES:
        default = arch.regressor(**arch.check_params)
        quick = clone(default).set_params(max_epochs=API_CHECK_EPOCHS)
        for instance, learning in ((default, True), (quick, False)):
            for case in estimator_checks_generator(
                    instance, mark="xfail",
                    expected_failed_checks=instance._expected_failed_checks()):
                if (_check_name(_values(case)[1]) in LEARNING_CHECKS) == learning:
                    yield case


def _id(value):
    return _check_name(value) if callable(value) and not hasattr(value, "fit") else repr(value)


CASES = list(_cases())


@pytest.mark.parametrize("estimator, check", CASES, ids=_id)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_the_checks_cover_every_architecture():
    """The suite above is not empty or thinned out: every registered regressor gets
    sklearn's full list of checks (59 with scikit-learn 1.6-1.9), only the order-dependent
    ones are expected to fail, and the learning check runs with the default training."""
    per_estimator = Counter(type(_values(case)[0]).__name__ for case in CASES)
    assert set(per_estimator) == {arch.regressor.__name__ for arch in ARCHITECTURES}
    assert min(per_estimator.values()) >= 50, per_estimator
    expected_to_fail = Counter(type(_values(case)[0]).__name__ for case in CASES
                               if getattr(case, "marks", ()))
    assert max(expected_to_fail.values(), default=0) <= 3, expected_to_fail
    for case in CASES:
        estimator, check = _values(case)
        default_epochs = type(estimator)().get_params()["max_epochs"]
        learning = _check_name(check) in LEARNING_CHECKS
        assert estimator.max_epochs == (default_epochs if learning else API_CHECK_EPOCHS)
    trained = Counter(type(_values(case)[0]).__name__ for case in CASES
                      if _check_name(_values(case)[1]) in LEARNING_CHECKS)
    assert set(trained) == set(per_estimator), trained
