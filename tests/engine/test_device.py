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


CUDA = pytest.mark.skipif(not __import__("torch").cuda.is_available(),
                          reason="needs a CUDA device (run on a GPU machine)")


@pytest.mark.parametrize("face", ["regressor", "forecaster"])
def test_set_params_device_keeps_the_fit(face, sp500_xy):
    """``set_params(device=...)`` alone moves a fitted net and keeps the fit, on both faces
    (sktime's set_params would reset a forecaster); an unavailable device raises and
    changes nothing."""
    import numpy as np

    from skfin.forecasting import LSTMForecaster
    from skfin.regressors import LSTMRegressor

    X, y = sp500_xy
    if face == "regressor":
        model = LSTMRegressor(window=5, hidden_size=4, max_epochs=1, random_state=0,
                              device="cpu").fit(X.iloc[-200:], y.iloc[-200:])
        predict = lambda: model.predict(X.iloc[-20:])           # noqa: E731
    else:
        model = LSTMForecaster(window=5, hidden_size=4, max_epochs=1, random_state=0,
                               device="cpu").fit(y.iloc[-200:], fh=[1, 2])
        predict = lambda: model.predict().to_numpy()            # noqa: E731
    before = predict()
    assert model.set_params(device="cpu") is model
    np.testing.assert_array_equal(predict(), before)
    with pytest.raises(ValueError, match="cuda:64.*not available"):
        model.set_params(device="cuda:64")
    assert model.device == "cpu" and str(model.net_.device) == "cpu"
    np.testing.assert_array_equal(predict(), before)
    if face == "forecaster":                                   # other parameters: sktime's reset
        model.set_params(update_epochs=1)
        assert not model.is_fitted


@CUDA
def test_a_cuda_fit_predicts_on_the_cpu(sp500_xy):
    """Fitted on CUDA (bf16 autocast where supported), then moved: every tensor on the CPU,
    predictions as on the GPU within float32 tolerance, and training continues there."""
    import numpy as np
    import torch

    from skfin.regressors import LSTMRegressor

    X, y = sp500_xy
    model = LSTMRegressor(window=10, hidden_size=8, max_epochs=2, random_state=0,
                          device="cuda").fit(X.iloc[-500:], y.iloc[-500:])
    assert model.net_.mixed_precision == torch.cuda.is_bf16_supported()
    on_gpu = model.predict(X.iloc[-50:])
    model.set_params(device="cpu")
    assert all(p.device.type == "cpu" for p in model.net_.module_.parameters())
    for state in model.net_.optimizer_.state.values():
        assert all(v.device.type == "cpu" for v in state.values() if torch.is_tensor(v))
    np.testing.assert_allclose(model.predict(X.iloc[-50:]), on_gpu, atol=5e-2)
    model.partial_fit(X.iloc[-100:], y.iloc[-100:])            # the optimizer steps on the CPU
