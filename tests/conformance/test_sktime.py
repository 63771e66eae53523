"""sktime's conformance suite over every registered forecaster (its get_test_params)."""

import pytest
from sktime.utils.estimator_checks import check_estimator

from skfin.registry import all_forecasters


@pytest.mark.parametrize("forecaster", all_forecasters(), ids=lambda c: c.__name__)
def test_sktime_compatible(forecaster):
    results = check_estimator(forecaster, raise_exceptions=False, verbose=False)
    failed = {name: str(r)[:500] for name, r in results.items() if r != "PASSED"}
    assert not failed, failed
