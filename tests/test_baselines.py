"""Baselines: the GARCH(1,1) realized-volatility forecaster against arch itself, and HAR-RV
against an independent least-squares fit, on S&P 500."""

import warnings
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from arch import arch_model
from numpy.lib.stride_tricks import sliding_window_view
from sktime.utils.estimator_checks import check_estimator

from skfin.baselines import (
    GARCHReturnsForecaster,
    BASELINES,
    GARCHVolatilityForecaster,
    HARVolatilityForecaster,
    make_baseline,
)
from skfin.datasets import load_sp500
from skfin.transformations import garman_klass_variance

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

K = 5


@lru_cache
def _data():
    """Percent log returns of the S&P 500 and their 5-day realized volatility."""
    close = load_sp500()["Close"].reset_index(drop=True)
    r = (100 * np.log(close).diff()).dropna().rename("r")
    rv = np.sqrt((r ** 2).rolling(K).sum()).dropna().rename("rv")
    return rv.iloc[-1500:], r.loc[rv.index].iloc[-1500:].to_frame()


def _direct(r: np.ndarray, horizon: int):
    """arch's own GARCH(1,1) on the same returns: mean and variance forecasts, params."""
    res = arch_model(r, mean="Constant", vol="GARCH", p=1, q=1, dist="normal",
                     rescale=False).fit(disp="off")
    fc = res.forecast(horizon=horizon, reindex=False)
    return fc.mean.to_numpy()[-1], fc.variance.to_numpy()[-1], res.params


def test_forecast_matches_arch_directly():
    rv, X = _data()
    f = GARCHVolatilityForecaster(window=K).fit(rv, X=X, fh=[1, 2, 7])
    r = X["r"].to_numpy()
    mean, var, params = _direct(r, 7)
    np.testing.assert_allclose(f.params_.to_numpy(), params.to_numpy(), rtol=1e-6)
    second = mean ** 2 + var                                   # E[r_{t+j}^2], j = 1..7
    expected = [
        np.sqrt(np.sum(r[-(K - 1):] ** 2) + second[0]),      # h=1: 4 known days + 1 forecast
        np.sqrt(np.sum(r[-(K - 2):] ** 2) + second[:2].sum()),
        np.sqrt(second[2:7].sum()),                           # h=7: all 5 days unknown
    ]
    pred = f.predict()
    np.testing.assert_allclose(pred.to_numpy(), expected, rtol=1e-6)
    assert pred.index.tolist() == [rv.index[-1] + h for h in (1, 2, 7)]
    assert pred.name == "rv"


def test_gjr_garch_t_matches_arch_directly():
    rv, X = _data()
    f = GARCHVolatilityForecaster(window=K, vol="GJR", dist="t").fit(rv, X=X, fh=[7])
    r = X["r"].to_numpy()
    res = arch_model(r, mean="Constant", vol="GARCH", p=1, o=1, q=1, dist="t",
                     rescale=False).fit(disp="off")
    np.testing.assert_allclose(f.params_.to_numpy(), res.params.to_numpy(), rtol=1e-5)
    assert f.params_["gamma[1]"] > 0                            # leverage on the S&P 500
    fc = res.forecast(horizon=7, reindex=False)
    second = fc.mean.to_numpy()[-1] ** 2 + fc.variance.to_numpy()[-1]
    np.testing.assert_allclose(f.predict().to_numpy(), [np.sqrt(second[2:7].sum())],
                               rtol=1e-5)


def test_ewma_is_the_riskmetrics_recursion():
    """sigma2[T+1] = 0.94 sigma2[T] + 0.06 e[T]**2, and every later day's variance forecast
    is the same, so the 5-day realized volatility beyond the known days is sqrt(5 E[r^2])."""
    rv, X = _data()
    f = GARCHVolatilityForecaster(window=K, vol="EWMA").fit(rv, X=X, fh=[5, 6])
    r = X["r"].to_numpy()
    mu = f.params_["mu"]
    from arch.univariate import ConstantMean, EWMAVariance

    model = ConstantMean(r, rescale=False)
    model.volatility = EWMAVariance(0.94)
    res = model.fit(disp="off")
    sigma2 = res.conditional_volatility ** 2
    e = r - mu
    np.testing.assert_allclose(sigma2[-1], 0.94 * sigma2[-2] + 0.06 * e[-2] ** 2, rtol=1e-9)
    nxt = 0.94 * sigma2[-1] + 0.06 * e[-1] ** 2
    np.testing.assert_allclose(f.predict().to_numpy(), np.sqrt(K * (mu ** 2 + nxt)),
                               rtol=1e-6)
    assert list(f.params_.index) == ["mu"]                       # nothing else estimated


def test_predict_never_reads_future_returns():
    rv, X = _data()
    f = GARCHVolatilityForecaster(window=K, random_state=0).fit(rv.iloc[:-5], X=X.iloc[:-5],
                                                                fh=[1, 2, 3, 4, 5])
    plain = f.predict()
    with_future = f.predict(X=X.iloc[-5:])                     # the realised returns
    pd.testing.assert_series_equal(plain, with_future)
    band = f.predict_interval(coverage=0.9)
    pd.testing.assert_frame_equal(band, f.predict_interval(X=X.iloc[-5:], coverage=0.9))


def test_simulated_intervals_are_seeded_nested_and_around_the_forecast():
    rv, X = _data()
    fh = [1, 2, 3, 4, 5]
    f = GARCHVolatilityForecaster(window=K, n_simulations=2000, random_state=0)
    f.fit(rv, X=X, fh=fh)
    band = f.predict_interval(coverage=[0.8, 0.95])
    again = f.predict_interval(coverage=[0.8, 0.95])
    pd.testing.assert_frame_equal(band, again)
    other = GARCHVolatilityForecaster(window=K, n_simulations=2000, random_state=1)
    assert not other.fit(rv, X=X, fh=fh).predict_interval(coverage=0.8).equals(
        band.loc[:, [c for c in band.columns if c[1] == 0.8]])
    lo80, hi80 = band[("rv", 0.8, "lower")], band[("rv", 0.8, "upper")]
    lo95, hi95 = band[("rv", 0.95, "lower")], band[("rv", 0.95, "upper")]
    assert (lo95 < lo80).all() and (hi80 < hi95).all() and (lo95 > 0).all()
    point = f.predict()
    assert ((lo80 < point) & (point < hi80)).all()
    # the point is sqrt(E[RV^2]) >= E[RV]; the simulated median sits just below it
    median = f.predict_quantiles(alpha=[0.5])[("rv", 0.5)]
    assert (median < point).all() and (median > 0.8 * point).all()


def test_update_moves_the_origin_and_reestimates():
    rv, X = _data()
    fh = [1, 2]
    f = GARCHVolatilityForecaster(window=K).fit(rv.iloc[:-20], X=X.iloc[:-20], fh=fh)
    before = f.params_.copy()
    f.update(rv.iloc[-20:], X=X.iloc[-20:], update_params=False)
    pd.testing.assert_series_equal(f.params_, before)
    assert f.cutoff[0] == rv.index[-1]
    f.update(rv.iloc[-20:], X=X.iloc[-20:])                    # same data again, re-estimated
    fresh = GARCHVolatilityForecaster(window=K).fit(rv, X=X, fh=fh)
    np.testing.assert_allclose(f.params_, fresh.params_, rtol=1e-6)
    np.testing.assert_allclose(f.predict(), fresh.predict(), rtol=1e-6)


def test_without_returns_it_warns_and_uses_the_realized_variance():
    rv, _ = _data()
    with pytest.warns(UserWarning, match="got no returns X"):
        f = GARCHVolatilityForecaster(window=K).fit(rv, fh=[1])
    assert f.uses_returns_ is False and "mu" not in f.params_.index    # zero mean
    assert np.isfinite(f.predict()).all()


def test_bad_inputs_say_what_to_fix():
    rv, X = _data()
    with pytest.raises(ValueError, match="returns_column='x' is not a column of X"):
        GARCHVolatilityForecaster(returns_column="x").fit(rv, X=X, fh=[1])
    gap = X.copy()
    gap.iloc[10, 0] = np.inf
    with pytest.raises(ValueError, match="returns column contains NaN or inf"):
        GARCHVolatilityForecaster().fit(rv, X=gap, fh=[1])
    with pytest.raises(ValueError, match="'mean' parameter"):
        GARCHVolatilityForecaster(mean="AR").fit(rv, X=X, fh=[1])
    f = GARCHVolatilityForecaster().fit(rv.iloc[:-5], X=X.iloc[:-5], fh=[1])
    with pytest.raises(ValueError, match="pass the returns that go with the new y"):
        f.update(rv.iloc[-5:])


def test_make_baseline():
    assert set(BASELINES) == {"naive", "naive_mean", "ets", "garch", "gjr_garch_t", "ewma",
                              "har", "garch_t"}
    assert make_baseline("naive").get_params()["strategy"] == "last"
    assert make_baseline("garch", target="volatility", vol_window=3).window == 3
    gjr = make_baseline("gjr_garch_t", target="volatility", vol_window=3, random_state=1)
    assert (gjr.vol, gjr.dist, gjr.window, gjr.random_state) == ("GJR", "t", 3, 1)
    assert make_baseline("ewma", target="volatility").vol == "EWMA"
    har = make_baseline("har", target="volatility", vol_window=3)
    assert isinstance(har, HARVolatilityForecaster) and har.window == 3
    with pytest.raises(ValueError, match="Unknown baseline 'arima'"):
        make_baseline("arima")
    with pytest.raises(ValueError, match="'garch' forecasts volatility targets"):
        make_baseline("garch", target="returns")
    with pytest.raises(ValueError, match="'garch_t' forecasts returns targets"):
        make_baseline("garch_t", target="volatility")


def test_garch_t_returns_quantiles_are_the_student_t_of_archs_own_forecast():
    """S&P 500 % returns: each step's quantile is mu + sigma_h * t_nu(q) * sqrt((nu-2)/nu),
    with mu, nu and sigma_h from arch itself (standardised t: unit variance)."""
    from arch import arch_model
    from scipy.stats import t as student

    close = load_sp500()["Close"].reset_index(drop=True)
    r = (100 * np.log(close).diff()).dropna().iloc[-1500:]
    model = make_baseline("garch_t").fit(r, fh=[1, 2, 3])
    got = model.predict_quantiles(alpha=[0.05, 0.5, 0.95]).to_numpy()
    res = arch_model(r.to_numpy(), mean="Constant", vol="GARCH", p=1, q=1,
                     dist="t").fit(disp="off")
    sigma = np.sqrt(res.forecast(horizon=3, reindex=False).variance.to_numpy()[0])
    nu, mu = res.params["nu"], res.params["mu"]
    levels = np.array([0.05, 0.5, 0.95])
    want = mu + sigma[:, None] * student.ppf(levels, nu) * np.sqrt((nu - 2) / nu)
    np.testing.assert_allclose(got, want, rtol=1e-4)
    assert (np.diff(sigma) != 0).all()               # the steps differ: not one repeated band
    normal = mu + sigma[:, None] * np.array([-1.6449, 0.0, 1.6449])
    assert got[0, 2] - got[0, 0] < normal[0, 2] - normal[0, 0]   # t: narrower at 90%
    model.update(pd.Series([0.5, -0.7], index=[r.index[-1] + 1, r.index[-1] + 2]))
    assert model.cutoff[0] == r.index[-1] + 2


@pytest.mark.slow
@pytest.mark.parametrize("params", GARCHReturnsForecaster.get_test_params(),
                         ids=["garch-t", "gjr-normal-zero"])
def test_garch_returns_sktime_conformance(params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # sktime's random series are not returns
        results = check_estimator(GARCHReturnsForecaster(**params), verbose=False,
                                  tests_to_exclude=["test_doctest_examples"])
    failed = {name: str(r)[:300] for name, r in results.items() if r != "PASSED"}
    assert results and not failed, failed


@pytest.mark.parametrize("params", [
    GARCHVolatilityForecaster.get_test_params()[0],
    pytest.param(GARCHVolatilityForecaster.get_test_params()[1], marks=pytest.mark.slow),
], ids=["constant-normal", "zero-t-ewma"])
def test_sktime_conformance(params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # sktime's random series are not returns
        results = check_estimator(GARCHVolatilityForecaster(**params), verbose=False,
                                  tests_to_exclude=["test_doctest_examples"])
    failed = {name: str(r)[:300] for name, r in results.items() if r != "PASSED"}
    assert results and not failed, failed


# ------------------------------------------------------------------------------ HAR-RV
def _har_design(r: np.ndarray, windows=(1, 5, 22)):
    """[1, mean of r**2 over the last n days for n in windows], NaN before a full window."""
    r2 = r ** 2
    cols = [np.ones(len(r))]
    for n in windows:
        col = np.full(len(r), np.nan)
        col[n - 1:] = sliding_window_view(r2, n).mean(axis=1)
        cols.append(col)
    return np.column_stack(cols)


@pytest.mark.parametrize("log", [False, True], ids=["levels", "logs"])
def test_har_coefficients_match_lstsq_on_sp500(log):
    rv, X = _data()
    r = X["r"].to_numpy()
    f = HARVolatilityForecaster(window=K, log=log).fit(rv, X=X, fh=[1, 5, 7])
    A = _har_design(r)
    target = rv.to_numpy() ** 2
    if log:
        # the S&P 500 closed unchanged on one of these days (r = 0): the zero daily
        # variance is raised to the smallest positive one before the logarithm
        assert (A[:, 1] == 0).sum() == 1
        A[:, 1] = np.where(A[:, 1] == 0, A[A[:, 1] > 0, 1].min(), A[:, 1])
        A[:, 1:], target = np.log(A[:, 1:]), np.log(target)
    assert list(f.coef_.index) == list(range(1, 8))
    expected = []
    for h in (1, 5, 7):
        t = np.arange(21, len(r) - h)                     # features complete, target known
        beta, *_ = np.linalg.lstsq(A[t], target[t + h], rcond=None)
        np.testing.assert_allclose(f.coef_.loc[h].to_numpy(), beta, rtol=1e-8)
        e = target[t + h] - A[t] @ beta
        s2 = e @ e / (len(t) - 4)
        assert f.residual_variance_.loc[h] == pytest.approx(s2, rel=1e-8)
        mu = A[-1] @ beta
        expected.append(np.sqrt(np.exp(mu + s2 / 2)) if log else np.sqrt(mu))
    np.testing.assert_allclose(f.predict().to_numpy(), expected, rtol=1e-8)
    if not log:                                            # Corsi's cascade on the S&P 500
        assert (f.coef_.loc[5].iloc[1:] > 0).all()


def test_har_on_a_range_estimator_matches_lstsq():
    """variance_column: the HAR features average a per-day range variance from X."""
    rv, X = _data()
    ohlc = load_sp500().reset_index(drop=True)
    gk = 1e4 * garman_klass_variance(ohlc)                  # percent squared, like y
    X = X.assign(gk=gk.loc[X.index].to_numpy())
    f = HARVolatilityForecaster(window=K, variance_column="gk").fit(rv, X=X, fh=[3])
    A = _har_design(np.sqrt(X["gk"].to_numpy()))              # averages of gk itself
    target = rv.to_numpy() ** 2
    t = np.arange(21, len(rv) - 3)
    beta, *_ = np.linalg.lstsq(A[t], target[t + 3], rcond=None)
    np.testing.assert_allclose(f.coef_.loc[3].to_numpy(), beta, rtol=1e-8)
    np.testing.assert_allclose(f.predict().to_numpy(), np.sqrt(A[-1] @ beta), rtol=1e-8)
    with pytest.raises(ValueError, match="variance_column='x' is not a column of X"):
        HARVolatilityForecaster(variance_column="x").fit(rv, X=X, fh=[1])
    negative = X.assign(gk=-X["gk"])
    with pytest.raises(ValueError, match="variance column 'gk' is negative"):
        HARVolatilityForecaster(variance_column="gk").fit(rv, X=negative, fh=[1])
    with pytest.raises(ValueError, match="reads the per-day variance from X, but X is None"):
        HARVolatilityForecaster(variance_column="gk").fit(rv, fh=[1])


def test_har_forecasts_are_causal():
    """Forecasts at a cutoff read no later data: predict ignores X, and the fit on the
    data up to the cutoff is the fit that an update without re-estimation keeps."""
    rv, X = _data()
    f = HARVolatilityForecaster(window=K).fit(rv.iloc[:-5], X=X.iloc[:-5], fh=[1, 2, 3])
    pd.testing.assert_series_equal(f.predict(), f.predict(X=X.iloc[-5:]))
    before = f.coef_.copy()
    changed = rv.copy()
    changed.iloc[-5:] *= 3.0                                 # a different future
    g = HARVolatilityForecaster(window=K).fit(changed.iloc[:-5], X=X.iloc[:-5], fh=[1, 2, 3])
    pd.testing.assert_frame_equal(g.coef_, before)
    f.update(rv.iloc[-5:], X=X.iloc[-5:], update_params=False)
    pd.testing.assert_frame_equal(f.coef_, before)
    assert f.cutoff[0] == rv.index[-1]
    fresh = HARVolatilityForecaster(window=K).fit(rv, X=X, fh=[1, 2, 3])
    f.update(rv.iloc[-5:], X=X.iloc[-5:])                     # re-estimated
    pd.testing.assert_frame_equal(f.coef_, fresh.coef_)
    pd.testing.assert_series_equal(f.predict(), fresh.predict())


@pytest.mark.parametrize("log", [False, True], ids=["levels", "logs"])
def test_har_quantiles_come_from_the_residuals(log):
    rv, X = _data()
    f = HARVolatilityForecaster(window=K, log=log).fit(rv, X=X, fh=[1, 5])
    q = f.predict_quantiles(alpha=[0.05, 0.5, 0.95])
    lo, mid, hi = (q[("rv", a)] for a in (0.05, 0.5, 0.95))
    assert (lo < mid).all() and (mid < hi).all() and (lo >= 0).all()
    point = f.predict()
    assert ((lo < point) & (point < hi)).all()
    # the median of a right-skewed variance sits below its mean
    assert (mid < point).all()
    band = f.predict_interval(coverage=0.9)
    np.testing.assert_allclose(band[("rv", 0.9, "lower")], lo)


def test_har_bad_inputs_say_what_to_fix():
    rv, X = _data()
    with pytest.raises(ValueError, match="'windows' parameter"):
        HARVolatilityForecaster(windows=()).fit(rv, X=X, fh=[1])
    with pytest.raises(ValueError, match="needs at least 8 complete rows"):
        HARVolatilityForecaster().fit(rv.iloc[:25], X=X.iloc[:25], fh=[1])
    flat = X * 0.0                                          # no variance at all
    with pytest.raises(ValueError, match=r"log=True\) takes logarithms, .* no positive"):
        HARVolatilityForecaster(log=True).fit(rv, X=flat, fh=[1])
    with pytest.warns(UserWarning, match="got no returns X"):
        assert np.isfinite(HARVolatilityForecaster().fit(rv, fh=[1]).predict()).all()
    f = HARVolatilityForecaster().fit(rv.iloc[:-5], X=X.iloc[:-5], fh=[1])
    with pytest.raises(ValueError, match="pass the returns that go with the new y"):
        f.update(rv.iloc[-5:])


@pytest.mark.parametrize("params", HARVolatilityForecaster.get_test_params(),
                         ids=["levels", "logs"])
def test_har_sktime_conformance(params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # sktime's random series are not returns
        results = check_estimator(HARVolatilityForecaster(**params), verbose=False,
                                  tests_to_exclude=["test_doctest_examples"])
    failed = {name: str(r)[:300] for name, r in results.items() if r != "PASSED"}
    assert results and not failed, failed
