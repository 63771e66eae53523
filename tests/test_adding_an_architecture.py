"""Adding an architecture takes a net, two thin faces and a registry entry: nothing else.

The toy below follows docs/contributing.md step by step (a net with its own parameters,
constraints and docs; faces that only name it; an ``Architecture`` entry), registers itself
for the duration of the module, and must then pass what every registered architecture
passes: the registry's agreement checks and both conformance suites.
"""

from __future__ import annotations

import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks
from sktime.utils.estimator_checks import check_estimator
from torch import Tensor, nn

from skfin import registry
from skfin.engine.estimator import check_parameters, fill_doc
from skfin.forecasting import NeuralForecaster
from skfin.nets import make_head
from skfin.nets._params import DROPOUT, real
from skfin.regressors import NeuralRegressor


# -- 1. the net: pure torch, the tensor contract, its own parameters -------------------
class LinearNet(nn.Module):
    """A linear map of the flattened window: the smallest net on the contract.

    Parameters
    ----------
    n_features, window, horizon, n_targets : int
        The tensor contract.
    output : str, default="point"
        Head, see :func:`skfin.nets.heads.make_head`.
    quantiles : sequence of float, default=None
        Levels for ``output="quantile"``.
    dropout : float, default=0.1
        On the flattened window.
    shrink : float, default=1.0
        Scales the window before the head (a toy hyperparameter with a constraint).
    """

    _parameter_constraints: dict = {"dropout": DROPOUT, "shrink": [real(0, None, "neither")]}

    def __init__(self, n_features: int, window: int, horizon: int, n_targets: int, *,
                 output: str = "point", quantiles=None, dropout: float = 0.1,
                 shrink: float = 1.0):
        super().__init__()
        self.shrink = shrink
        self.dropout = nn.Dropout(dropout)
        self.head = make_head(output, window * n_features, horizon, n_targets, quantiles)

    def forward(self, x: Tensor) -> Tensor:                  # x: [B, W, F]
        return self.head(self.dropout(self.shrink * x.flatten(1)))


# -- 2. the faces: a signature, a docstring, the net they build --------------------------
@fill_doc
class LinearRegressor(NeuralRegressor):
    """Linear net on the flattened window, as a scikit-learn regressor.

    Parameters
    ----------
    window : int, default=8
    {net_params}
    {common_params}
    {regressor_params}

    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> from tests.test_adding_an_architecture import LinearRegressor
    >>> r = load_sp500()["Close"].pct_change().dropna().to_numpy()[-300:] * 100
    >>> LinearRegressor(max_epochs=2, random_state=0).fit(r[:-1, None], r[1:]).predict(
    ...     r[-3:, None]).shape
    (3,)
    """

    _module = LinearNet

    def __init__(self, *, window=8, dropout=0.1, shrink=1.0, output="point", quantiles=None,
                 uncertainty="head", n_draws=50, loss=None, max_epochs=100, batch_size=64,
                 lr=1e-3, weight_decay=1e-2, grad_clip=1.0, lr_schedule=None,
                 valid_fraction=0.2, patience=10, mixed_precision="auto", device="auto",
                 random_state=None, verbose=0, missing="ffill", warm_start=False,
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None):
        self._init(locals())


@fill_doc
class LinearForecaster(NeuralForecaster):
    """Linear net on the flattened window, as an sktime forecaster.

    Parameters
    ----------
    window : int, default=8
    {net_params}
    {common_params}
    {forecaster_params}

    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> from tests.test_adding_an_architecture import LinearForecaster
    >>> close = load_sp500()["Close"].iloc[-200:]
    >>> LinearForecaster(max_epochs=2, random_state=0).fit(close, fh=[1, 2]).predict().shape
    (2,)
    """

    _module = LinearNet

    def __init__(self, *, window=8, dropout=0.1, shrink=1.0, output="point", quantiles=None,
                 uncertainty="head", n_draws=50, loss=None, max_epochs=100, batch_size=64,
                 lr=1e-3, weight_decay=1e-2, grad_clip=1.0, lr_schedule=None,
                 valid_fraction=0.2, patience=10, mixed_precision="auto", device="auto",
                 random_state=None, verbose=0, update_epochs=2, standardize=True, future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None):
        self._init(locals())


# -- 3. the registry entry -----------------------------------------------------------------
LINEAR = registry.Architecture("linear", LinearNet, LinearRegressor, LinearForecaster,
                               "feed-forward",
                               test_params=({"window": 5, "shrink": 0.5}, {"window": 3}))


@pytest.fixture(autouse=True, scope="module")
def registered():
    """Register the toy for this module only (what the line in skfin/registry.py does)."""
    saved = registry.ARCHITECTURES
    registry.ARCHITECTURES = (*saved, LINEAR)
    yield
    registry.ARCHITECTURES = saved


def test_the_registry_checks_hold_for_the_new_architecture(real_batch):
    from tests.test_registry import (test_faces_document_each_net_parameter_once_from_the_net,
                                     test_faces_take_their_nets_parameters_and_defaults,
                                     test_tags_are_known_and_true,
                                     test_test_params_are_valid_for_both_faces)

    test_faces_take_their_nets_parameters_and_defaults(LINEAR)
    test_faces_document_each_net_parameter_once_from_the_net(LINEAR)
    test_tags_are_known_and_true(LINEAR, real_batch)
    test_test_params_are_valid_for_both_faces(LINEAR)
    assert LinearForecaster.get_test_params()[0]["shrink"] == 0.5       # read from the entry
    with pytest.raises(ValueError, match="The 'shrink' parameter of LinearRegressor"):
        check_parameters(LinearRegressor(shrink=0), LinearNet)


def test_the_engine_trains_it_with_covariates_and_mc_dropout(sp500_xy):
    X, y = sp500_xy
    model = LinearRegressor(max_epochs=3, uncertainty="mc_dropout", n_draws=8,
                            random_state=0).fit(X.iloc[-400:], y.iloc[-400:])
    band = model.predict_interval(X.iloc[-5:], coverage=0.9).to_numpy()
    assert (band[:, 0] < band[:, 1]).all()
    r = X["r"].iloc[-300:]
    dow = r.index.dayofweek.to_frame(index=False).set_index(r.index).astype(float)
    f = LinearForecaster(max_epochs=2, random_state=0).fit(r.iloc[:-3], X=dow.iloc[:-3], fh=[1, 2])
    assert type(f.net_.module_).__name__ == "Covariates"
    assert torch.isfinite(torch.as_tensor(f.predict(X=dow.iloc[-3:]).to_numpy())).all()


@parametrize_with_checks([LinearRegressor()],
                         expected_failed_checks=lambda est: est._expected_failed_checks())
def test_sklearn_conformance(estimator, check):
    check(estimator)


def test_sktime_conformance():
    results = check_estimator(LinearForecaster, raise_exceptions=False, verbose=False)
    assert len(results) >= 400, f"only {len(results)} checks ran"     # sktime's whole suite
    assert not {k: v for k, v in results.items() if v != "PASSED"}


def test_a_users_own_architecture_saves_and_loads_when_trusted(sp500_returns, tmp_path):
    """skfin.load imports classes of skfin, sklearn and sktime only; a user's own net and
    face load through their class (``LinearForecaster.load``) or ``trusted=``."""
    import skfin
    from skfin.persistence import ModelFileError

    f = LinearForecaster(window=5, max_epochs=1, random_state=0).fit(
        sp500_returns.iloc[-200:], fh=[1, 2])
    path = f.save(tmp_path / "linear.zip")
    package = LinearForecaster.__module__.split(".")[0]
    with pytest.raises(ModelFileError, match="refuses to import"):
        skfin.load(path)
    for loaded in (LinearForecaster.load(path), skfin.load(path, trusted=(package,))):
        assert loaded.predict().equals(f.predict())
