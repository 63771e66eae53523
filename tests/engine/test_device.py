"""Device routing and its error messages."""

import pytest

from skfin.engine.device import available_devices, resolve_device
from skfin.regressors import MLPRegressor


def test_auto_picks_the_best_available():
    assert resolve_device("auto") == available_devices()[0]


def test_unknown_device_string_lists_valid_names():
    with pytest.raises(ValueError, match="not a device name.*'auto', 'cpu'"):
        resolve_device("gpu")


def test_unavailable_device_lists_what_exists():
    with pytest.raises(ValueError, match=r"not available on this machine; available devices are \["):
        resolve_device("cuda:64")


def test_estimator_reports_unavailable_device_at_fit(sp500_xy):
    X, y = sp500_xy
    with pytest.raises(ValueError, match="cuda:64"):
        MLPRegressor(device="cuda:64", max_epochs=1).fit(X.iloc[:100], y.iloc[:100])
