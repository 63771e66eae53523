"""skfin.metrics on real S&P 500 / NASDAQ data, checked against independent computations.

Independent references: sklearn (accuracy_score, mean_absolute_error, mean_pinball_loss),
sktime (mean_absolute_scaled_error, PinballLoss, EmpiricalCoverage, IntervalWidth),
properscoring (crps_ensemble, crps_gaussian), prices instead of returns, and tiny real
slices worked out by hand.
"""

import pickle
import statistics
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.linear_model import Ridge
from sklearn.metrics import (
    accuracy_score,
    make_scorer,
    mean_absolute_error,
    mean_pinball_loss,
)
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sktime.forecasting.model_evaluation import evaluate
from sktime.forecasting.naive import NaiveForecaster
from sktime.performance_metrics.forecasting import (
    MeanAbsoluteScaledError,
    mean_absolute_scaled_error,
)
from sktime.performance_metrics.forecasting.probabilistic import (
    EmpiricalCoverage,
    IntervalWidth,
    PinballLoss,
)
from sktime.utils.estimator_checks import check_estimator

from skfin import metrics as M
from skfin.datasets import load_nasdaq, load_sp500, load_wti
from skfin.model_selection import PurgedExpandingWindowSplitter, PurgedWalkForward

import properscoring  # noqa: E402  (in the test extra: missing, the run fails, not skips)

# sktime 1.2 announces a change of its forecasters' remember_data default on every instance
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

LEVELS = (np.arange(20) + 0.5) / 20


# -- real data -------------------------------------------------------------------------
@lru_cache
def _close() -> pd.Series:
    return load_sp500()["Close"]


@lru_cache
def _returns() -> pd.Series:
    """S&P 500 daily log returns, as fractions."""
    return np.log(_close()).diff().dropna().rename("r")


@lru_cache
def _xy():
    """Row-aligned features (today's return and range) and tomorrow's return, fractions."""
    ohlcv = load_sp500()
    r = np.log(ohlcv["Close"]).diff()
    X = pd.DataFrame({"r": r, "range": (ohlcv["High"] - ohlcv["Low"]) / ohlcv["Close"]})
    y = r.shift(-1).rename("next_r")
    keep = X.notna().all(axis=1) & y.notna()
    return X[keep], y[keep]


@lru_cache
def _bands():
    """Quantile and interval forecasts from last year's returns (percent), known at t - 1.

    Returns ``y`` (S&P 500 and NASDAQ percent returns), quantiles at ``LEVELS`` plus
    0.05/0.95, and 80% / 90% intervals, all in sktime's column format.
    """
    r = 100 * pd.DataFrame({"spx": np.log(_close()).diff(),
                            "ndx": np.log(load_nasdaq()["Close"]).diff()}).dropna()
    levels = sorted(set(LEVELS) | {0.05, 0.1, 0.5, 0.9, 0.95})
    q = pd.concat({(name, a): r[name].rolling(250).quantile(a).shift(1)
                   for name in r for a in levels}, axis=1).dropna()
    y = r.loc[q.index]
    bands = {}
    for name in r:
        for cov in (0.8, 0.9):
            lo, hi = round((1 - cov) / 2, 10), round((1 + cov) / 2, 10)
            bands[(name, cov, "lower")] = q[(name, lo)]
            bands[(name, cov, "upper")] = q[(name, hi)]
    return y, q, pd.DataFrame(bands)


def _one(frame, name="spx"):
    """The columns of one target, keeping sktime's column levels."""
    return frame.loc[:, [c for c in frame.columns if c[0] == name]]


# -- direction -------------------------------------------------------------------------
def test_hit_rate_is_sign_accuracy():
    r = _returns().to_numpy()
    expected = accuracy_score(np.sign(r[1:]), np.sign(r[:-1]))
    assert M.hit_rate(r[1:], r[:-1]) == pytest.approx(expected, abs=1e-15)
    w = np.abs(r[:-1])
    assert M.hit_rate(r[1:], r[:-1], sample_weight=w) == pytest.approx(
        accuracy_score(np.sign(r[1:]), np.sign(r[:-1]), sample_weight=w), abs=1e-15)


def test_hit_rate_by_hand_on_five_days():
    # 1999-01-06 .. 01-12 returns: +2.19%, -0.21%, +0.42%, -0.88%, -1.95%; the forecasts
    # are the day-before returns +1.35%, +2.19%, -0.21%, +0.42%, -0.88%:
    # signs (+,+) hit, (-,+) miss, (+,-) miss, (-,+) miss, (-,-) hit -> 2 of 5.
    r = _returns().to_numpy()[:6]
    assert M.hit_rate(r[1:], r[:-1]) == 0.4


def test_directional_accuracy_on_prices():
    close = _close().to_numpy()
    forecast = pd.Series(close).rolling(20).mean().shift(1).to_numpy()[20:]
    y, ref = close[20:], close[19:-1]
    expected = accuracy_score(np.sign(y - ref), np.sign(forecast - ref))
    assert M.directional_accuracy(y, forecast, y_ref=ref) == pytest.approx(expected)
    # y_ref=None: the previous realised value, first row dropped
    assert M.directional_accuracy(y, forecast) == pytest.approx(
        accuracy_score(np.sign(y[1:] - y[:-1]), np.sign(forecast[1:] - y[:-1])))
    # a scalar reference: direction from one level (a multi-step forecast from a cutoff)
    assert M.directional_accuracy(y[:20], forecast[:20], y_ref=close[19]) == pytest.approx(
        np.mean(np.sign(y[:20] - close[19]) == np.sign(forecast[:20] - close[19])))


def test_mase_matches_sktime_with_y_train():
    prices = pd.DataFrame({"spx": _close(), "ndx": load_nasdaq()["Close"]}).to_numpy()
    train, test = prices[:2520], prices[2520:]
    y_true, y_pred = test[1:], test[:-1]
    for sp in (1, 5):
        # the mean of per-series MASEs (sktime's "uniform_average" divides mean MAEs)
        expected = mean_absolute_scaled_error(y_true, y_pred, y_train=train, sp=sp,
                                              multioutput="raw_values").mean()
        assert M.mase(y_true, y_pred, y_train=train, sp=sp) == pytest.approx(expected, 1e-12)
    assert M.mase(y_true[:, 0], y_pred[:, 0], y_train=train[:, 0]) == pytest.approx(
        mean_absolute_scaled_error(y_true[:, 0], y_pred[:, 0], y_train=train[:, 0]))


def test_mase_without_y_train_scales_on_the_test_period():
    r = _returns().to_numpy()
    y, pred = r[1000:2000], np.zeros(1000)
    expected = mean_absolute_error(y, pred) / mean_absolute_error(y[1:], y[:-1])
    assert M.mase(y, pred) == pytest.approx(expected, rel=1e-12)


# -- trading -----------------------------------------------------------------------------
def test_strategy_returns_by_hand_on_real_prices():
    # closes 1999-01-05 .. 01-12; momentum trades day t on the sign of day t-1's return:
    # long, long, short, long, short; 10 bp per unit traded: 1 to enter, 2 per flip.
    p = _close().to_numpy()[1:7]
    r = _returns().to_numpy()[:6]
    got = M.strategy_returns(r[1:], r[:-1], cost_bps=10)
    expected = [p[1] / p[0] - 1 - 0.001,
                p[2] / p[1] - 1,
                -(p[3] / p[2] - 1) - 0.002,
                p[4] / p[3] - 1 - 0.002,
                -(p[5] / p[4] - 1) - 0.002]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # same returns given as simple returns
    simple = p[1:] / p[:-1] - 1
    np.testing.assert_allclose(
        M.strategy_returns(simple, r[:-1], cost_bps=10, returns="simple"), expected,
        rtol=1e-12)
    # drawdown: wealth peaks after day 1 and bottoms after day 4
    w = np.cumprod(1 + np.array(expected))
    assert M.max_drawdown(r[1:], r[:-1], cost_bps=10) == pytest.approx(1 - w[3] / w[0])
    # Sharpe and Sortino of the five days, from the standard library
    s = [float(v) for v in expected]
    assert M.sharpe_ratio(r[1:], r[:-1], cost_bps=10) == pytest.approx(
        statistics.mean(s) / statistics.stdev(s) * 252 ** 0.5, rel=1e-12)
    downside = (sum(min(v, 0.0) ** 2 for v in s) / 5) ** 0.5
    assert M.sortino_ratio(r[1:], r[:-1], cost_bps=10) == pytest.approx(
        statistics.mean(s) / downside * 252 ** 0.5, rel=1e-12)
    assert M.strategy_return(r[1:], r[:-1], cost_bps=10, periods_per_year=12) == \
        pytest.approx(statistics.mean(s) * 12, rel=1e-12)


def test_buy_and_hold_drawdown_is_the_price_drawdown():
    # from the close of 2008-09-26 (1213.27) to 2008-10-10 (899.22): -25.9%, hand-checked
    r = _returns()["2008-09-29":"2008-10-10"].to_numpy()
    assert M.max_drawdown(r, np.ones_like(r)) == pytest.approx(1 - 899.219971 / 1213.270020)
    # over 2007-2009: the drawdown of the price path itself
    close = _close()["2006-12-29":"2009-12-31"]
    r = np.log(close).diff().dropna().to_numpy()
    expected = (1 - close / close.cummax()).max()
    assert M.max_drawdown(r, np.ones_like(r)) == pytest.approx(expected, rel=1e-10)


def test_buy_and_hold_sharpe_from_simple_returns_with_entry_cost():
    close = _close()["2008-12-31":]
    R = close.pct_change().dropna()                       # simple returns from prices
    r = np.log(close).diff().dropna().to_numpy()
    net = R.copy()
    net.iloc[0] -= 5e-4                                   # the one entry trade, 5 bp
    assert M.sharpe_ratio(r, np.ones_like(r), cost_bps=5) == pytest.approx(
        net.mean() / net.std() * np.sqrt(252), rel=1e-10)
    assert M.sortino_ratio(r, np.ones_like(r), cost_bps=5) == pytest.approx(
        net.mean() / np.sqrt((net.clip(upper=0) ** 2).mean()) * np.sqrt(252), rel=1e-10)
    assert M.strategy_return(r, np.ones_like(r), cost_bps=5) == pytest.approx(
        net.mean() * 252, rel=1e-10)


def test_costs_are_charged_per_unit_of_position_change():
    r = _returns().to_numpy()[-500:]
    flip = np.where(np.arange(500) % 2 == 0, 1.0, -1.0)  # flips every day
    gross = M.strategy_return(r, flip, periods_per_year=1)
    net = M.strategy_return(r, flip, cost_bps=10, periods_per_year=1)
    assert gross - net == pytest.approx(1e-3 * (1 + 2 * 499) / 500, rel=1e-12)
    # a flat forecast never trades and earns nothing
    assert M.strategy_return(r, np.zeros(500), cost_bps=10) == 0.0


def test_undefined_ratios_warn_and_return_nan():
    r = _returns().to_numpy()
    with pytest.warns(UndefinedMetricWarning, match="1 period"):
        assert np.isnan(M.sharpe_ratio(r[:1], r[:1]))
    with pytest.warns(UndefinedMetricWarning, match="do not vary"):
        assert np.isnan(M.sharpe_ratio(r[:50], np.zeros(50)))
    up = r[r > 0][:30]
    with pytest.warns(UndefinedMetricWarning, match="no period loses money"):
        assert np.isnan(M.sortino_ratio(up, up))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")        # expm1 of prices overflows
def test_trading_metrics_guard_units():
    with pytest.warns(UserWarning, match="max |y_true| = 1.5e"):
        M.sharpe_ratio(_close().to_numpy()[:100], np.ones(100))        # prices, not returns
    pct = 100 * _returns().to_numpy()[:100]
    with pytest.warns(UserWarning, match="divide percentages by 100"):
        M.max_drawdown(pct, pct)
    with pytest.raises(ValueError, match="simple returns below -1"):
        M.strategy_return(pct, pct, returns="simple")
    with pytest.raises(ValueError, match="trades one series, but y_true has 2 columns"):
        X, _ = _xy()
        M.sharpe_ratio(X.to_numpy(), X.to_numpy())
    with pytest.raises(ValueError, match="cost_bps must be a finite number >= 0"):
        M.sharpe_ratio(pct / 100, pct / 100, cost_bps=-1)
    with pytest.raises(ValueError, match="returns must be one of"):
        M.sharpe_ratio(pct / 100, pct / 100, returns="pct")
    with pytest.raises(ValueError, match="periods_per_year must be a positive number"):
        M.sharpe_ratio(pct / 100, pct / 100, periods_per_year=0)


# -- quantiles and intervals -------------------------------------------------------------
def test_pinball_matches_sklearn_and_sktime():
    y, q, _ = _bands()
    qs = _one(q)[[("spx", a) for a in (0.05, 0.5, 0.95)]]
    expected = np.mean([mean_pinball_loss(y["spx"], qs[("spx", a)], alpha=a)
                        for a in (0.05, 0.5, 0.95)])
    assert M.pinball_loss(y["spx"], qs) == pytest.approx(expected, rel=1e-12)
    assert M.pinball_loss(y["spx"], qs) == pytest.approx(PinballLoss()(y["spx"], qs),
                                                         rel=1e-12)
    # arrays with levels, in any order; a DataFrame with a subset of levels
    arr = qs.to_numpy()[:, ::-1]
    assert M.pinball_loss(y["spx"], arr, alpha=[0.95, 0.5, 0.05]) == pytest.approx(expected)
    assert M.pinball_loss(y["spx"], _one(q), alpha=[0.05, 0.5, 0.95]) == pytest.approx(
        expected)
    # two targets: the mean of both; y_true columns matched by name, not position
    both = q[[(n, a) for n in ("spx", "ndx") for a in (0.05, 0.95)]]
    expected2 = np.mean([mean_pinball_loss(y[n], q[(n, a)], alpha=a)
                         for n in ("spx", "ndx") for a in (0.05, 0.95)])
    assert M.pinball_loss(y[["ndx", "spx"]], both) == pytest.approx(expected2, rel=1e-12)


def test_crps_from_midpoint_quantiles_is_the_ensemble_crps():
    # With levels (k - 0.5) / K the midpoint rule is exact for the K-member ensemble of the
    # quantiles (Broecker 2012): agreement to rounding error.
    y, q, _ = _bands()
    qs = _one(q)[[("spx", a) for a in LEVELS]]
    expected = properscoring.crps_ensemble(y["spx"].to_numpy(), qs.to_numpy()).mean()
    assert M.crps_quantiles(y["spx"], qs) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("levels,rtol", [((np.arange(99) + 0.5) / 99, 5e-4),
                                         (np.arange(1, 100) / 100, 2e-3)])
def test_crps_of_normal_quantiles_approaches_the_gaussian_crps(levels, rtol):
    # Normal fitted to last year's returns each day. The quantile integral is a midpoint
    # rule: errors of order K**-2 in the body and larger in the tails, measured at 1.5e-4
    # (99 midpoint levels) and 1.0e-3 (0.01 .. 0.99). A plain 2 * mean of the pinball
    # losses over 0.01 .. 0.99 is off by 1e-2, so rtol=2e-3 checks the tail weights too.
    r = _returns()
    mu, sd = r.rolling(250).mean().shift(1), r.rolling(250).std().shift(1)
    ok = mu.notna()
    y, mu, sd = r[ok].to_numpy(), mu[ok].to_numpy(), sd[ok].to_numpy()
    q = norm.ppf(levels[None, :], mu[:, None], sd[:, None])
    expected = properscoring.crps_gaussian(y, mu, sd).mean()
    assert M.crps_quantiles(y, q, alpha=levels) == pytest.approx(expected, rel=rtol)


def test_crps_of_the_median_alone_is_the_absolute_error():
    y, q, _ = _bands()
    median = q[[("spx", 0.5)]]
    expected = mean_absolute_error(y["spx"], median.iloc[:, 0])
    assert M.crps_quantiles(y["spx"], median) == pytest.approx(expected, rel=1e-12)


def test_coverage_and_width_match_sktime():
    y, _, bands = _bands()
    spx = _one(bands)
    lo, hi = spx[("spx", 0.9, "lower")], spx[("spx", 0.9, "upper")]
    assert M.empirical_coverage(y["spx"], spx, coverage=0.9) == pytest.approx(
        ((y["spx"] >= lo) & (y["spx"] <= hi)).mean())
    assert M.empirical_coverage(y["spx"], spx) == pytest.approx(
        EmpiricalCoverage()(y["spx"], spx), rel=1e-12)
    assert M.mean_interval_width(y["spx"], spx) == pytest.approx(
        IntervalWidth()(y["spx"], spx), rel=1e-12)
    # arrays: one interval per row
    arr = np.column_stack([lo, hi])
    assert M.mean_interval_width(y["spx"], arr) == pytest.approx((hi - lo).mean())
    # two targets and two coverages: the mean over all of them
    assert M.empirical_coverage(y, bands) == pytest.approx(np.mean(
        [((y[n] >= bands[(n, c, "lower")]) & (y[n] <= bands[(n, c, "upper")])).mean()
         for n in ("spx", "ndx") for c in (0.8, 0.9)]))


def test_winkler_is_scaled_pinball_of_the_bounds():
    # Interval score = 2 / a * (pinball_{a/2}(y, l) + pinball_{1-a/2}(y, u)), by sklearn
    y, _, bands = _bands()
    expected = []
    for name in ("spx", "ndx"):
        for cov in (0.8, 0.9):
            a = 1 - cov
            lo, hi = bands[(name, cov, "lower")], bands[(name, cov, "upper")]
            expected.append(2 / a * (mean_pinball_loss(y[name], lo, alpha=a / 2)
                                     + mean_pinball_loss(y[name], hi, alpha=1 - a / 2)))
    assert M.winkler_score(y, bands) == pytest.approx(np.mean(expected), rel=1e-12)
    arr = bands[[("spx", 0.9, "lower"), ("spx", 0.9, "upper")]].to_numpy()
    assert M.winkler_score(y["spx"], arr, coverage=0.9) == pytest.approx(expected[1],
                                                                        rel=1e-12)
    # a perfect-width band that never misses scores its width
    assert M.winkler_score(y["spx"], np.column_stack([y["spx"] - 1, y["spx"] + 1]),
                           coverage=0.5) == pytest.approx(2.0)


# -- bad inputs, made from real series -------------------------------------------------
def test_nan_and_shape_errors_name_the_rows():
    wti = load_wti()                                       # 290 real holiday gaps
    first_nan = int(np.argmax(wti.isna().to_numpy()))
    with pytest.raises(ValueError, match=f"y_true contains NaN or inf: 290 value.*row "
                                         f"{first_nan}"):
        M.hit_rate(wti, wti.ffill())
    r = _returns()
    with pytest.raises(ValueError, match=r"y_true has shape \(5030,\) but y_pred has shape "
                                         r"\(5029,\)"):
        M.hit_rate(r, r.iloc[1:])
    with pytest.raises(ValueError, match="y_true is empty"):
        M.hit_rate(r.iloc[:0], r.iloc[:0])
    with pytest.raises(TypeError, match="y_pred must hold numbers"):
        M.hit_rate(r, r.index.astype(str))
    with pytest.raises(ValueError, match="sample_weight must have one weight per row"):
        M.hit_rate(r, r, sample_weight=np.ones(3))


def test_probabilistic_input_errors():
    y, q, bands = _bands()
    spx_q, spx_b = _one(q), _one(bands)
    with pytest.raises(ValueError, match=r"no quantile\(s\) \[0.3\] for target 'spx'"):
        M.pinball_loss(y["spx"], spx_q, alpha=[0.05, 0.3])
    with pytest.raises(ValueError, match="alpha .* is required"):
        M.crps_quantiles(y["spx"], spx_q.to_numpy())
    with pytest.raises(ValueError, match=r"shape \(n_samples, len\(alpha\)\) = "):
        M.pinball_loss(y["spx"], spx_q.to_numpy(), alpha=[0.1, 0.9])
    with pytest.raises(ValueError, match="2-level columns"):
        M.pinball_loss(y["spx"], spx_b)
    with pytest.raises(ValueError, match="3-level columns"):
        M.winkler_score(y["spx"], spx_q)
    with pytest.raises(ValueError, match="coverage .* is required"):
        M.winkler_score(y["spx"], spx_b.iloc[:, :2].to_numpy())
    swapped = spx_b.rename(columns={"lower": "upper", "upper": "lower"}, level=2)
    with pytest.raises(ValueError, match=r"interval\(s\) have lower > upper, first at row 0"):
        M.winkler_score(y["spx"], swapped)
    with pytest.raises(ValueError, match=r"forecasts 1 target\(s\) \['spx'\] but y_true has "
                                         r"2 column\(s\)"):
        M.empirical_coverage(y, spx_b)
    with pytest.raises(ValueError, match="y_true has 5 rows but y_pred has"):
        M.mean_interval_width(y["spx"].iloc[:5], spx_b)
    gappy = spx_q.copy()
    gappy.iloc[7, 2] = np.nan
    with pytest.raises(ValueError, match="y_pred contains NaN or inf: 1 value.*row 7"):
        M.crps_quantiles(y["spx"], gappy)


# -- sklearn scorers -------------------------------------------------------------------
class Climatology(RegressorMixin, BaseEstimator):
    """The unconditional forecast: the training distribution of ``y`` for every row."""

    def fit(self, X, y):
        self.y_ = np.asarray(y, dtype=float)
        return self

    def predict(self, X):
        return np.full(len(X), np.mean(self.y_))

    def predict_quantiles(self, X, alpha=(0.05, 0.95)):
        alpha = [float(a) for a in np.atleast_1d(alpha)]
        q = np.quantile(self.y_, alpha)
        return pd.DataFrame(np.tile(q, (len(X), 1)),
                            columns=pd.MultiIndex.from_product([["y"], alpha]))

    def predict_interval(self, X, coverage=0.9):
        cols = {}
        for c in np.atleast_1d(coverage):
            lo, hi = np.quantile(self.y_, [(1 - c) / 2, (1 + c) / 2])
            cols[("y", float(c), "lower")] = np.full(len(X), lo)
            cols[("y", float(c), "upper")] = np.full(len(X), hi)
        return pd.DataFrame(cols)


@pytest.mark.parametrize("scorer,func,sign", [
    (M.hit_rate_scorer, M.hit_rate, 1),
    (M.directional_accuracy_scorer, M.directional_accuracy, 1),
    (M.mase_scorer, M.mase, -1),
    (M.strategy_return_scorer, M.strategy_return, 1),
    (M.sharpe_ratio_scorer, M.sharpe_ratio, 1),
    (M.sortino_ratio_scorer, M.sortino_ratio, 1),
    (M.max_drawdown_scorer, M.max_drawdown, -1),
], ids=lambda v: getattr(v, "__name__", None))
def test_point_scorers_in_cross_val_score(scorer, func, sign):
    X, y = _xy()
    cv = PurgedWalkForward(3, test_size=500)
    scores = cross_val_score(Ridge(alpha=1e-3), X, y, cv=cv, scoring=scorer)
    for score, (train, test) in zip(scores, cv.split(X), strict=True):
        pred = Ridge(alpha=1e-3).fit(X.iloc[train], y.iloc[train]).predict(X.iloc[test])
        assert score == pytest.approx(sign * func(y.iloc[test], pred), rel=1e-12)


def test_scorer_with_costs():
    X, y = _xy()
    scorer = make_scorer(M.sharpe_ratio, cost_bps=5)
    model = Ridge().fit(X.iloc[:4000], y.iloc[:4000])
    assert scorer(model, X.iloc[4000:], y.iloc[4000:]) == pytest.approx(
        M.sharpe_ratio(y.iloc[4000:], model.predict(X.iloc[4000:]), cost_bps=5))


@pytest.mark.parametrize("make,func,levels,sign", [
    (M.make_quantile_scorer, M.crps_quantiles, list(LEVELS), -1),
    (M.make_quantile_scorer, M.pinball_loss, [0.05, 0.5, 0.95], -1),
    (M.make_interval_scorer, M.winkler_score, [0.8, 0.9], -1),
    (M.make_interval_scorer, M.mean_interval_width, 0.9, -1),
    (M.make_interval_scorer, M.empirical_coverage, 0.9, 1),
])
def test_probabilistic_scorers_in_cross_val_score(make, func, levels, sign):
    X, y = _xy()
    key = "alpha" if make is M.make_quantile_scorer else "coverage"
    scorer = make(func, **{key: levels}, greater_is_better=sign > 0)
    cv = PurgedWalkForward(3, test_size=500)
    model = make_pipeline(StandardScaler(), Climatology())      # through a Pipeline
    scores = cross_val_score(model, X, y, cv=cv, scoring=scorer)
    method = "predict_quantiles" if key == "alpha" else "predict_interval"
    for score, (train, test) in zip(scores, cv.split(X), strict=True):
        fitted = Climatology().fit(X.iloc[train], y.iloc[train])
        pred = getattr(fitted, method)(X.iloc[test], **{key: levels})
        assert score == pytest.approx(sign * func(y.iloc[test], pred), rel=1e-12)
    assert pickle.loads(pickle.dumps(scorer))(model.fit(X, y), X, y) == pytest.approx(
        scorer(model, X, y))


def test_probabilistic_scorer_needs_the_method():
    X, y = _xy()
    scorer = M.make_quantile_scorer(M.pinball_loss, alpha=0.5)
    assert repr(scorer) == ("make_quantile_scorer(pinball_loss, alpha=[0.5], "
                            "greater_is_better=False)")
    with pytest.raises(TypeError, match="needs an estimator with predict_quantiles"):
        scorer(Ridge().fit(X, y), X, y)
    with pytest.raises(ValueError, match="alpha must be values in the open interval"):
        M.make_quantile_scorer(M.pinball_loss, alpha=[0.0, 0.5])


# -- sktime metrics ----------------------------------------------------------------------
def test_sktime_metrics_in_evaluate_match_the_functions():
    r = np.log(_close().reset_index(drop=True)).diff().dropna()
    cv = PurgedExpandingWindowSplitter(horizon=10, initial_window=4000, step_length=250,
                                       gap=1)
    scoring = [MeanAbsoluteScaledError(), M.HitRate(), M.DirectionalAccuracy(),
               M.StrategyReturn(cost_bps=5), M.SharpeRatio(cost_bps=5),
               M.SortinoRatio(cost_bps=5), M.MaxDrawdown(cost_bps=5),
               PinballLoss(alpha=list(LEVELS)), M.QuantileCRPS(alpha=list(LEVELS)),
               EmpiricalCoverage(coverage=0.9), M.WinklerScore(coverage=0.9)]
    res = evaluate(NaiveForecaster("mean", window_length=250), cv, r, scoring=scoring,
                   return_data=True)
    assert len(res) == 5
    for row in res.itertuples():
        yt, yp, ytr = row.y_test, row.y_pred, row.y_train
        q, band = row.y_pred_quantiles, row.y_pred_interval
        assert row.test_MeanAbsoluteScaledError == pytest.approx(M.mase(yt, yp, y_train=ytr))
        assert row.test_HitRate == pytest.approx(M.hit_rate(yt, yp))
        assert row.test_DirectionalAccuracy == pytest.approx(
            M.directional_accuracy(yt, yp, y_ref=ytr.iloc[-1]))
        for name, func in [("StrategyReturn", M.strategy_return),
                           ("SharpeRatio", M.sharpe_ratio),
                           ("SortinoRatio", M.sortino_ratio),
                           ("MaxDrawdown", M.max_drawdown)]:
            assert getattr(row, f"test_{name}") == pytest.approx(func(yt, yp, cost_bps=5))
        assert row.test_PinballLoss == pytest.approx(M.pinball_loss(yt, q))
        assert row.test_QuantileCRPS == pytest.approx(M.crps_quantiles(yt, q))
        assert row.test_EmpiricalCoverage == pytest.approx(M.empirical_coverage(yt, band))
        assert row.test_WinklerScore == pytest.approx(M.winkler_score(yt, band))


def test_sktime_metric_orientation_and_columns():
    assert M.HitRate().get_tag("lower_is_better") is False
    assert M.SharpeRatio().get_tag("lower_is_better") is False
    assert M.MaxDrawdown().get_tag("lower_is_better") is True
    assert M.WinklerScore().get_tag("scitype:y_pred") == "pred_interval"
    assert M.QuantileCRPS().get_tag("scitype:y_pred") == "pred_quantiles"
    # several variables, names not in sorted order: y_true is matched by name
    y, q, bands = _bands()
    both = bands.loc[:, [c for c in bands.columns if c[1] == 0.9]]
    raw = M.WinklerScore(multioutput="raw_values")(y, both)
    assert raw.to_numpy() == pytest.approx(
        [M.winkler_score(y["ndx"], _one(both, "ndx")),
         M.winkler_score(y["spx"], _one(both, "spx"))])
    qq = q[[(n, a) for n in ("spx", "ndx") for a in LEVELS]]
    assert M.QuantileCRPS()(y, qq) == pytest.approx(M.crps_quantiles(y, qq))


# sktime's suite, minus what does not apply, each with its reason
_SKIP_ALL = {
    "test_metric_output_by_instance": "sktime's jackknife evaluate_by_index, inherited "
                                      "unchanged; takes ~6 s per class",
    "test_doctest_examples": "the doctests run in skfin's own suite (--doctest-modules)",
}
_SKIP_TRADING = {
    "test_metric_weights": "a trading record depends on the order of periods; "
                           "sample_weight is refused with a ValueError",
}
_SKIP_SORTINO = {
    "test_metric_output_direct": "sktime's test series are all positive, so the always-long "
                                 "strategy never loses and the Sortino ratio is nan "
                                 "(and nan != nan)",
}

_SKIP_QLIKE = {
    name: "these sktime tests draw normal values, negative half the time; QLIKE is "
          "defined on positive variances and refuses others with a ValueError"
    for name in ("test_uniform_average_time", "test_metric_weights")
}

@pytest.mark.parametrize("cls,skip", [
    (M.HitRate, {}), (M.DirectionalAccuracy, {}),
    (M.StrategyReturn, _SKIP_TRADING), (M.SharpeRatio, _SKIP_TRADING),
    (M.SortinoRatio, {**_SKIP_TRADING, **_SKIP_SORTINO}), (M.MaxDrawdown, _SKIP_TRADING),
    (M.WinklerScore, {}), (M.QuantileCRPS, {}),
    (M.QLIKE, _SKIP_QLIKE),
], ids=lambda v: getattr(v, "__name__", None))
def test_sktime_conformance(cls, skip):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # sktime's test series are not returns
        results = check_estimator(cls, verbose=False,
                                  tests_to_exclude=list({**_SKIP_ALL, **skip}))
    failed = {name: str(r)[:300] for name, r in results.items() if r != "PASSED"}
    assert results and not failed, failed


# -- QLIKE -------------------------------------------------------------------------------
def _realized():
    """S&P 500 5-day realized variance (percent squared) and two forecasts of it."""
    r = 100 * _returns()
    rv2 = (r ** 2).rolling(5).sum()
    last_week, last_year = rv2.shift(5), rv2.rolling(250).mean().shift(5)
    ok = last_year.notna()
    return rv2[ok].to_numpy(), last_week[ok].to_numpy(), last_year[ok].to_numpy()


def test_qlike_matches_numpy_on_realized_variance():
    y, week, year = _realized()
    for f in (week, year):
        direct = np.mean(y / f - np.log(y / f) - 1)
        assert M.qlike(y, f) == pytest.approx(direct, rel=1e-12)
        # volatilities are scored as their squares
        assert M.qlike(np.sqrt(y), np.sqrt(f), volatility=True) == pytest.approx(direct)
    # the one-year mean beats last week's value (Patton's robust ranking)
    assert M.qlike(y, year) < M.qlike(y, week)
    assert M.qlike(y, y) == 0.0
    w = np.arange(len(y), dtype=float)
    direct = np.average(y / year - np.log(y / year) - 1, weights=w)
    assert M.qlike(y, year, sample_weight=w) == pytest.approx(direct)


def test_qlike_scorer_and_sktime_metric_agree_with_the_function():
    y, _, year = _realized()
    metric = M.QLIKE(volatility=True)
    assert metric.get_tag("lower_is_better") is True
    s = pd.Series(np.sqrt(y))
    assert metric(s, pd.Series(np.sqrt(year))) == pytest.approx(M.qlike(y, year))

    class Fixed(RegressorMixin, BaseEstimator):
        def fit(self, X, y):
            return self

        def predict(self, X):
            return X[:, 0]

    X = year[:, None]
    assert M.qlike_scorer(Fixed().fit(X, y), X, y) == pytest.approx(-M.qlike(y, year))


def test_qlike_refuses_non_positive_values():
    y, week, _ = _realized()
    bad = week.copy()
    bad[7] = 0.0
    with pytest.raises(ValueError, match="y_pred must be > 0.*first at row 7"):
        M.qlike(y, bad)
    with pytest.raises(ValueError, match="y_true must be > 0"):
        M.qlike(-y, week)


# -- boundaries, worked out by hand on six real days -----------------------------------
def _edge_bands():
    """Six S&P 500 daily returns (percent, 1999-01-05 .. 01-12) and 80% bands around them.

    Row by row: lower bound exactly on the outcome; upper bound exactly on it; a zero-width
    band exactly on it; a band 0.5 above it (a miss by 0.5); a band ending 0.25 below it
    (a miss by 0.25); a band of +-1 around it. Offsets are powers of two, so every bound
    minus the outcome is exact in floating point.
    """
    y = 100 * _returns().to_numpy()[:6]
    lower = y + np.array([0.0, -2.0, 0.0, 0.5, -3.0, -1.0])
    upper = y + np.array([1.0, 0.0, 0.0, 1.5, -0.25, 1.0])
    return y, lower, upper


def test_interval_metrics_count_points_on_the_bounds_as_inside():
    y, lower, upper = _edge_bands()
    # inside (bounds included): rows 0, 1, 2, 5 -> 4 of 6
    # widths: 1, 2, 0, 1, 2.75, 2 -> 8.75 / 6
    # Winkler at 80% (2 / a = 10): widths plus 10 * 0.5 (row 3) and 10 * 0.25 (row 4)
    assert (lower[[0, 2]] == y[[0, 2]]).all() and (upper[[1, 2]] == y[[1, 2]]).all()
    arr = np.column_stack([lower, upper])
    assert M.empirical_coverage(y, arr) == pytest.approx(4 / 6, abs=1e-15)
    assert M.mean_interval_width(y, arr) == pytest.approx(8.75 / 6, rel=1e-12)
    assert M.winkler_score(y, arr, coverage=0.8) == pytest.approx((8.75 + 5 + 2.5) / 6,
                                                                  rel=1e-12)
    # the same through sktime's column format and the sktime metric classes
    frame = pd.DataFrame({("r", 0.8, "lower"): lower, ("r", 0.8, "upper"): upper})
    truth = pd.DataFrame({"r": y})
    assert M.empirical_coverage(truth, frame) == pytest.approx(4 / 6, abs=1e-15)
    assert EmpiricalCoverage()(truth, frame) == pytest.approx(4 / 6, abs=1e-15)
    assert M.WinklerScore()(truth, frame) == pytest.approx((8.75 + 5 + 2.5) / 6, rel=1e-12)
    per_row = M.WinklerScore().evaluate_by_index(truth, frame).to_numpy().ravel()
    np.testing.assert_allclose(per_row, [1, 2, 0, 1 + 5, 2.75 + 2.5, 2], rtol=1e-12)


def test_interval_metrics_one_ulp_outside_the_bounds_is_a_miss():
    y, lower, upper = _edge_bands()
    lower, upper = lower.copy(), upper.copy()
    lower[0] = np.nextafter(y[0], np.inf)            # now just above the outcome
    upper[1] = np.nextafter(y[1], -np.inf)           # now just below it
    arr = np.column_stack([lower, upper])
    assert M.empirical_coverage(y, arr) == pytest.approx(2 / 6, abs=1e-15)
    # a miss by one ulp costs next to nothing beyond the width
    assert M.winkler_score(y, arr, coverage=0.8) == pytest.approx((8.75 + 5 + 2.5) / 6,
                                                                  rel=1e-9)


def test_pinball_and_crps_are_zero_exactly_at_the_quantiles():
    y = 100 * _returns().to_numpy()[:6]
    q = np.column_stack([y, y, y])
    assert M.pinball_loss(y, q, alpha=[0.1, 0.5, 0.9]) == 0.0
    assert M.crps_quantiles(y, q, alpha=[0.1, 0.5, 0.9]) == 0.0
    # one above and one below the 0.1-quantile by 1: 0.9 * 1 and 0.1 * 1, over 2 rows
    assert M.pinball_loss(y[:2], np.array([y[0] + 1, y[1] - 1]), alpha=0.1) == \
        pytest.approx((0.9 + 0.1) / 2, rel=1e-12)
