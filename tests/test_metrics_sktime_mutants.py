"""The sktime metric classes against the plain functions, on real S&P 500 / NASDAQ data.

Written against the survivors of ``python3 tasks.py mutate skfin/metrics/_sktime``. Pinned:

* the defaults of each ``__init__`` (a metric built with no arguments scores like its
  function with the documented defaults) and that non-default arguments reach it;
* ``multioutput`` (per-column values, in ``y_true``'s order for the point metrics, by
  variable name for the probabilistic ones, whose names here are deliberately not sorted),
  ``multilevel`` (one score per panel instance) and ``by_index`` (sktime's jackknife
  pseudo-values, recomputed here from the function);
* ``y_train`` in ``DirectionalAccuracy``: the last training value of the same column is
  the reference; a ``y_train`` without the column or with no rows falls back to the
  previous realised value; one row is a reference;
* ``sample_weight``: refused by the trading metrics with a message naming the class,
  passed on by ``HitRate``, ``DirectionalAccuracy`` and ``QLIKE``;
* ``WinklerScore``: one score per coverage, ``coverage=`` filters (labels matched to 7
  decimals, so float32 round trips match), missing coverages raise naming them, each
  (variable, coverage) is scored against its own variable, in float64 whatever the
  dtype of the intervals or of their coverage labels;
* ``QuantileCRPS``: per variable, ``alpha=`` filters, a missing level raises naming it.
"""

import re
import warnings
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from sktime.forecasting.naive import NaiveForecaster
from sktime.performance_metrics.forecasting.probabilistic import EmpiricalCoverage, PinballLoss

from skfin import metrics as M
from skfin.datasets import load_nasdaq, load_sp500

START, N = 1000, 20              # the test window: rows START .. START + N - 1
COLS = ["spx", "ndx"]            # not in sorted order, on purpose
COVERAGES = [0.8, 0.9]
LEVELS = [0.1, 0.25, 0.5, 0.75, 0.9]
TRADING = {"cost_bps": 0.0, "periods_per_year": 252, "returns": "log"}   # documented


@lru_cache
def _closes() -> pd.DataFrame:
    close = pd.DataFrame({"spx": load_sp500()["Close"], "ndx": load_nasdaq()["Close"]})
    return close.reset_index(drop=True)          # positions as index, as in the docstrings


@lru_cache
def _volume() -> np.ndarray:
    return load_sp500()["Volume"].to_numpy()


def closes() -> pd.DataFrame:
    return _closes().copy()


def volume_weights(start=START, n=N) -> np.ndarray:
    """S&P 500 volume over the window: a real, uneven weight per day."""
    return _volume()[start:start + n].copy()


def returns_pair(start=START, n=N):
    """Daily log returns, and yesterday's return as today's forecast (one-day momentum)."""
    r = np.log(closes()).diff()
    return r.iloc[start:start + n], r.shift(1).iloc[start:start + n]


def levels_pair(start=START, n=N):
    """Closes, and yesterday's close moved by yesterday's move (level momentum)."""
    c = closes()
    forecast = c.shift(1) ** 2 / c.shift(2)
    return c.iloc[start:start + n], forecast.iloc[start:start + n], c.iloc[:start]


def variance_pair(start=START, n=N):
    """5-day realised variance of % returns, and a 250-day mean forecast of it."""
    rv = ((100 * np.log(closes()).diff()) ** 2).rolling(5).sum()
    train = rv.iloc[5:start]
    pred = NaiveForecaster("mean", window_length=250).fit(train).predict(
        fh=list(range(1, n + 1)))
    return rv.iloc[start:start + n], pred


@lru_cache
def _probabilistic():
    r = 100 * np.log(closes()).diff()
    f = NaiveForecaster("mean", window_length=250).fit(r.iloc[1:START])
    fh = list(range(1, N + 1))
    return (r.iloc[START:START + N], f.predict_interval(fh=fh, coverage=COVERAGES),
            f.predict_quantiles(fh=fh, alpha=LEVELS))


def interval_data():
    """% returns (columns spx, ndx) and their 80% and 90% intervals. sktime sorts a
    y_pred's columns in place, so each call gets fresh copies."""
    y, band, _ = _probabilistic()
    assert list(band.columns.get_level_values(0).unique()) == COLS
    return y.copy(), band.copy()


def quantile_data():
    y, _, q = _probabilistic()
    assert list(q.columns.get_level_values(0).unique()) == COLS
    return y.copy(), q.copy()


def one(frame, name):
    """The forecast columns of one variable, keeping sktime's column levels."""
    return frame.loc[:, frame.columns.get_level_values(0) == name]


def raises(message, exception=ValueError):
    """``pytest.raises`` for exactly this message."""
    return pytest.raises(exception, match="^" + re.escape(message) + "$")


# ------------------------------------------------------------------- the point metrics
# (class, function, data, the function's keyword arguments for the class's defaults)
POINT = [
    (M.HitRate, M.hit_rate, returns_pair, {}),
    (M.DirectionalAccuracy, M.directional_accuracy, levels_pair, {}),
    (M.StrategyReturn, M.strategy_return, returns_pair, TRADING),
    (M.SharpeRatio, M.sharpe_ratio, returns_pair, TRADING),
    (M.SortinoRatio, M.sortino_ratio, returns_pair, TRADING),
    (M.MaxDrawdown, M.max_drawdown, returns_pair, {"cost_bps": 0.0, "returns": "log"}),
    (M.QLIKE, M.qlike, variance_pair, {"volatility": False}),
]
POINT_IDS = [cls.__name__ for cls, *_ in POINT]


def _pair(data, **kwargs):
    return data(**kwargs)[:2]


def _per_column(func, y_true, y_pred, **kwargs):
    return np.array([func(y_true[c].to_numpy(), y_pred[c].to_numpy(), **kwargs)
                     for c in y_true.columns])


@pytest.mark.parametrize("cls,func,data,defaults", POINT, ids=POINT_IDS)
def test_default_metric_is_the_function_with_its_documented_defaults(cls, func, data,
                                                                     defaults):
    y_true, y_pred = _pair(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # no nan, no undefined metric
        expected = _per_column(func, y_true, y_pred, **defaults).mean()
    assert cls()(y_true, y_pred) == pytest.approx(expected, rel=1e-12)
    assert cls().evaluate(y_true, y_pred) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("cls,func,params", [
    (M.StrategyReturn, M.strategy_return,
     {"cost_bps": 5.0, "periods_per_year": 12, "returns": "simple"}),
    (M.SharpeRatio, M.sharpe_ratio,
     {"cost_bps": 5.0, "periods_per_year": 12, "returns": "simple"}),
    (M.SortinoRatio, M.sortino_ratio,
     {"cost_bps": 5.0, "periods_per_year": 12, "returns": "simple"}),
    (M.MaxDrawdown, M.max_drawdown, {"cost_bps": 5.0, "returns": "simple"}),
], ids=lambda v: getattr(v, "__name__", None))
def test_trading_parameters_reach_the_function(cls, func, params):
    y_true, y_pred = returns_pair()
    expected = _per_column(func, y_true, y_pred, **params).mean()
    default = _per_column(func, y_true, y_pred).mean()
    assert expected != pytest.approx(default)            # the parameters do matter here
    assert cls(**params)(y_true, y_pred) == pytest.approx(expected, rel=1e-12)
    # one parameter at a time, the others at their defaults
    for name, value in params.items():
        assert cls(**{name: value})(y_true, y_pred) == pytest.approx(
            _per_column(func, y_true, y_pred, **{name: value}).mean(), rel=1e-12)


def test_qlike_volatility_scores_squared_volatilities():
    rv, pred = variance_pair()
    vol_true, vol_pred = np.sqrt(rv), np.sqrt(pred)
    expected = _per_column(M.qlike, vol_true, vol_pred, volatility=True).mean()
    assert M.QLIKE(volatility=True)(vol_true, vol_pred) == pytest.approx(expected, rel=1e-12)
    # the same as scoring the variances: sigma**2
    assert M.QLIKE(volatility=True)(vol_true, vol_pred) == pytest.approx(
        M.QLIKE()(rv, pred), rel=1e-10)
    assert M.QLIKE()(vol_true, vol_pred) != pytest.approx(expected)


@pytest.mark.parametrize("cls,func,data,defaults", POINT, ids=POINT_IDS)
def test_raw_values_are_the_per_column_values_in_column_order(cls, func, data, defaults):
    y_true, y_pred = _pair(data)
    expected = _per_column(func, y_true, y_pred, **defaults)
    assert expected[0] != pytest.approx(expected[1])     # S&P 500 and NASDAQ differ
    raw = cls(multioutput="raw_values")(y_true, y_pred)
    assert isinstance(raw, np.ndarray)
    np.testing.assert_allclose(raw, expected, rtol=1e-12)
    # the other column order gives the other order
    swapped = cls(multioutput="raw_values")(y_true[COLS[::-1]], y_pred[COLS[::-1]])
    np.testing.assert_allclose(swapped, expected[::-1], rtol=1e-12)
    assert cls(multioutput="uniform_average")(y_true, y_pred) == pytest.approx(
        expected.mean(), rel=1e-12)


@pytest.mark.parametrize("cls,func,data,defaults", POINT, ids=POINT_IDS)
def test_multilevel_raw_values_scores_each_panel_instance(cls, func, data, defaults):
    # two forecast windows, two years apart, as the instances of a panel
    windows = {"w1": _pair(data, start=START), "w2": _pair(data, start=START + 500)}
    y_true = pd.concat({k: v[0] for k, v in windows.items()})
    y_pred = pd.concat({k: v[1] for k, v in windows.items()})
    expected = pd.DataFrame({k: _per_column(func, *v, **defaults)
                             for k, v in windows.items()}, index=COLS).T
    raw = cls(multioutput="raw_values", multilevel="raw_values")(y_true, y_pred)
    assert isinstance(raw, pd.DataFrame)
    pd.testing.assert_frame_equal(raw.loc[["w1", "w2"], COLS], expected, rtol=1e-12,
                                  check_names=False)
    by_window = cls(multilevel="raw_values")(y_true, y_pred)
    np.testing.assert_allclose(by_window.loc[["w1", "w2"]].to_numpy().ravel(),
                               expected.mean(axis=1).to_numpy(), rtol=1e-12)
    # averaged over the instances (the default)
    np.testing.assert_allclose(cls(multioutput="raw_values")(y_true, y_pred),
                               expected.mean(axis=0).to_numpy(), rtol=1e-12)


@pytest.mark.parametrize("cls,func,data,defaults", POINT, ids=POINT_IDS)
def test_by_index_call_gives_the_jackknife_pseudo_values(cls, func, data, defaults):
    y_true, y_pred = _pair(data, n=12)
    n = len(y_true)

    def score(keep):
        return _per_column(func, y_true.iloc[keep], y_pred.iloc[keep], **defaults).mean()

    full = score(np.arange(n))
    expected = [n * full - (n - 1) * score(np.delete(np.arange(n), i)) for i in range(n)]
    out = cls(by_index=True)(y_true, y_pred)
    assert isinstance(out, pd.Series)
    assert list(out.index) == list(y_true.index)
    np.testing.assert_allclose(out.to_numpy(), expected, rtol=1e-9, atol=1e-12)


def test_hit_rate_by_index_is_the_hit_of_each_day():
    y_true, y_pred = returns_pair()
    hits = (np.sign(y_true.to_numpy()) == np.sign(y_pred.to_numpy())).mean(axis=1)
    out = M.HitRate(by_index=True)(y_true, y_pred)
    np.testing.assert_allclose(out.to_numpy(), hits, atol=1e-12)


def test_qlike_by_index_is_the_loss_of_each_day():
    rv, pred = variance_pair()
    ratio = rv.to_numpy() / pred.to_numpy()
    per_day = (ratio - np.log(ratio) - 1).mean(axis=1)
    out = M.QLIKE(by_index=True)(rv, pred)
    np.testing.assert_allclose(out.to_numpy(), per_day, rtol=1e-9)


# ------------------------------------------------------------------------ sample_weight
@pytest.mark.parametrize("cls", [M.StrategyReturn, M.SharpeRatio, M.SortinoRatio,
                                 M.MaxDrawdown], ids=lambda c: c.__name__)
def test_trading_metrics_refuse_sample_weight(cls):
    y_true, y_pred = returns_pair()
    with raises(f"{cls.__name__} does not take sample_weight: a trading record depends on "
                "the order of the periods, it is not a weighted mean."):
        cls()(y_true, y_pred, sample_weight=volume_weights())


def test_hit_rate_passes_sample_weight_on():
    y_true, y_pred = returns_pair()
    w = volume_weights()
    expected = _per_column(M.hit_rate, y_true, y_pred, sample_weight=w)
    assert M.HitRate()(y_true, y_pred, sample_weight=w) == pytest.approx(expected.mean(),
                                                                       rel=1e-12)
    np.testing.assert_allclose(
        M.HitRate(multioutput="raw_values")(y_true, y_pred, sample_weight=w), expected,
        rtol=1e-12)
    assert expected.mean() != pytest.approx(M.HitRate()(y_true, y_pred))


def test_directional_accuracy_passes_sample_weight_on():
    y_true, y_pred, y_train = levels_pair()
    w = volume_weights()
    for train in (None, y_train):
        kwargs = {} if train is None else {"y_train": train}
        expected = [M.directional_accuracy(
            y_true[c], y_pred[c], sample_weight=w,
            y_ref=None if train is None else train[c].iloc[-1]) for c in COLS]
        unweighted = M.DirectionalAccuracy().evaluate(y_true, y_pred, **kwargs)
        weighted = M.DirectionalAccuracy().evaluate(y_true, y_pred, sample_weight=w,
                                                    **kwargs)
        assert weighted == pytest.approx(np.mean(expected), rel=1e-12)
        assert weighted != pytest.approx(unweighted)


def test_qlike_passes_sample_weight_on():
    rv, pred = variance_pair()
    w = volume_weights()
    expected = _per_column(M.qlike, rv, pred, sample_weight=w).mean()
    assert M.QLIKE()(rv, pred, sample_weight=w) == pytest.approx(expected, rel=1e-12)
    assert expected != pytest.approx(M.QLIKE()(rv, pred))


# ------------------------------------------------------- DirectionalAccuracy and y_train
def test_directional_accuracy_reference_is_the_last_training_value_of_the_same_column():
    y_true, y_pred, y_train = levels_pair()
    expected = [M.directional_accuracy(y_true[c], y_pred[c], y_ref=y_train[c].iloc[-1])
                for c in COLS]
    raw = M.DirectionalAccuracy(multioutput="raw_values").evaluate(y_true, y_pred,
                                                                   y_train=y_train)
    np.testing.assert_allclose(raw, expected, rtol=1e-12)
    # y_train's columns are matched by name, not by position
    raw = M.DirectionalAccuracy(multioutput="raw_values").evaluate(
        y_true, y_pred, y_train=y_train[COLS[::-1]])
    np.testing.assert_allclose(raw, expected, rtol=1e-12)


def test_directional_accuracy_without_y_train_uses_the_previous_realised_value():
    y_true, y_pred, y_train = levels_pair()
    previous = [M.directional_accuracy(y_true[c], y_pred[c]) for c in COLS]
    by_hand = [np.mean(np.sign(np.diff(y_true[c].to_numpy()))
                       == np.sign(y_pred[c].to_numpy()[1:] - y_true[c].to_numpy()[:-1]))
               for c in COLS]
    np.testing.assert_allclose(previous, by_hand, rtol=1e-12)
    cutoff = [M.directional_accuracy(y_true[c], y_pred[c], y_ref=y_train[c].iloc[-1])
              for c in COLS]
    assert not np.allclose(previous, cutoff)             # the reference matters here
    metric = M.DirectionalAccuracy(multioutput="raw_values")
    np.testing.assert_allclose(metric(y_true, y_pred), previous, rtol=1e-12)
    # a y_train without the column: that column falls back, the other one does not
    raw = metric.evaluate(y_true, y_pred, y_train=y_train[["ndx"]])
    np.testing.assert_allclose(raw, [previous[0], cutoff[1]], rtol=1e-12)
    # a y_train with no rows has no reference either
    raw = metric.evaluate(y_true, y_pred, y_train=y_train.iloc[:0])
    np.testing.assert_allclose(raw, previous, rtol=1e-12)


def test_directional_accuracy_one_training_row_is_a_reference():
    y_true, y_pred, y_train = levels_pair()
    metric = M.DirectionalAccuracy(multioutput="raw_values")
    for row in (-1, 500):
        expected = [M.directional_accuracy(y_true[c], y_pred[c], y_ref=y_train[c].iloc[row])
                    for c in COLS]
        one_row = y_train.iloc[[row]]
        np.testing.assert_allclose(metric.evaluate(y_true, y_pred, y_train=one_row),
                                   expected, rtol=1e-12)
    fallback = [M.directional_accuracy(y_true[c], y_pred[c]) for c in COLS]
    assert not np.allclose(expected, fallback)


# ----------------------------------------------------------------------- WinklerScore
def _winkler_by_hand(y, lower, upper, coverage):
    a = 1.0 - coverage
    return (upper - lower) + 2.0 / a * (np.maximum(lower - y, 0) + np.maximum(y - upper, 0))


@pytest.mark.parametrize("metric, function, data", [
    (M.WinklerScore, M.winkler_score, interval_data),
    (M.QuantileCRPS, M.crps_quantiles, quantile_data),
], ids=["WinklerScore", "QuantileCRPS"])
def test_probabilistic_metrics_score_each_variable_against_its_own_outcomes(metric, function,
                                                                          data):
    y, pred = data()
    expected = {c: function(y[c], one(pred, c)) for c in COLS}
    assert expected["spx"] != pytest.approx(expected["ndx"])
    raw = metric(multioutput="raw_values")(y, pred.copy())
    assert sorted(raw.index) == sorted(COLS)
    for c in COLS:
        assert raw[c] == pytest.approx(expected[c], rel=1e-12)
    assert metric()(y, pred.copy()) == pytest.approx(
        np.mean(list(expected.values())), rel=1e-12)
    # multioutput passed to evaluate wins over the metric's own
    raw = metric().evaluate(y, pred.copy(), multioutput="raw_values")
    for c in COLS:
        assert raw[c] == pytest.approx(expected[c], rel=1e-12)


def test_winkler_score_average_false_gives_one_score_per_coverage():
    y, band = interval_data()
    per = {(c, cov): M.winkler_score(y[c], one(band, c), coverage=cov)
           for c in COLS for cov in COVERAGES}
    out = M.WinklerScore(score_average=False)(y, band.copy())
    assert list(out.index) == COVERAGES
    for cov in COVERAGES:
        assert out[cov] == pytest.approx((per["spx", cov] + per["ndx", cov]) / 2, rel=1e-12)
    raw = M.WinklerScore(score_average=False, multioutput="raw_values")(y, band.copy())
    assert sorted(raw.index) == sorted(per)
    for key, value in per.items():
        assert raw[key] == pytest.approx(value, rel=1e-12)


def test_winkler_by_index_per_variable_and_coverage():
    y, band = interval_data()
    out = M.WinklerScore(score_average=False, multioutput="raw_values").evaluate_by_index(
        y, band.copy())
    assert sorted(out.columns) == sorted((c, cov) for c in COLS for cov in COVERAGES)
    for c in COLS:
        for cov in COVERAGES:
            expected = _winkler_by_hand(y[c].to_numpy(), band[(c, cov, "lower")].to_numpy(),
                                        band[(c, cov, "upper")].to_numpy(), cov)
            np.testing.assert_allclose(out[(c, cov)].to_numpy(), expected, rtol=1e-12)


def test_winkler_coverage_selects_the_intervals_scored():
    y, band = interval_data()
    for coverage in (0.9, [0.9], [0.8]):
        expected = M.winkler_score(y, band, coverage=coverage)
        assert M.WinklerScore(coverage=coverage)(y, band.copy()) == pytest.approx(
            expected, rel=1e-12)
    assert M.WinklerScore(coverage=0.9)(y, band.copy()) != pytest.approx(
        M.WinklerScore()(y, band.copy()))
    assert M.WinklerScore(coverage=COVERAGES)(y, band.copy()) == pytest.approx(
        M.winkler_score(y, band), rel=1e-12)
    # a coverage named twice is that coverage (it used to fail as "not all of")
    assert M.WinklerScore(coverage=[0.9, 0.9])(y, band.copy()) == pytest.approx(
        M.winkler_score(y, band, coverage=0.9), rel=1e-12)


def test_winkler_coverage_not_in_y_pred_raises_naming_the_coverages():
    y, band = interval_data()
    with raises("WinklerScore: y_pred has coverages [0.8, 0.9], not all of "
                "coverage=[0.9, 0.95]."):
        M.WinklerScore(coverage=[0.9, 0.95])(y, band.copy())
    with raises("WinklerScore: y_pred has coverages [0.8, 0.9], not all of coverage=0.5."):
        M.WinklerScore(coverage=0.5)(y, band.copy())


def test_winkler_coverage_labels_match_up_to_float32_rounding():
    y, band = interval_data()
    f32 = {cov: float(np.float32(cov)) for cov in COVERAGES}
    assert f32[0.9] != 0.9
    # labels that went through float32 (a float32 frame, a parquet file) match 0.9
    band32 = band.copy()
    band32.columns = pd.MultiIndex.from_tuples([(v, f32[c], b) for v, c, b in band.columns])
    only = band32.loc[:, band32.columns.get_level_values(1) == f32[0.9]]
    assert M.WinklerScore(coverage=0.9)(y, band32) == pytest.approx(
        M.winkler_score(y, only), rel=1e-12)
    # and a float32 coverage matches the labels 0.9
    only = band.loc[:, band.columns.get_level_values(1) == 0.9]
    assert M.WinklerScore(coverage=f32[0.9])(y, band.copy()) == pytest.approx(
        M.winkler_score(y, only), rel=1e-12)


def test_winkler_float32_coverage_level_is_scored_in_float64():
    # columns built from a float32 array of coverages keep a float32 level; the penalty
    # 2 / (1 - coverage) is still computed in float64, as winkler_score does
    y, band = interval_data()
    cols = band.columns
    band.columns = pd.MultiIndex.from_arrays([
        cols.get_level_values(0), np.asarray(cols.get_level_values(1), dtype=np.float32),
        cols.get_level_values(2)])
    assert band.columns.get_level_values(1).dtype == np.float32
    expected = {c: M.winkler_score(y[c], one(band, c)) for c in COLS}
    raw = M.WinklerScore(multioutput="raw_values")(y, band.copy())
    for c in COLS:
        assert raw[c] == pytest.approx(expected[c], rel=1e-12)


def test_winkler_scores_nullable_float_intervals_as_plain_floats():
    # pandas' nullable "Float64" frames (e.g. read with dtype_backend="numpy_nullable")
    # turn into object arrays in to_numpy(); the scores must still be float64
    y, band = interval_data()
    nullable = band.astype("Float64")
    assert M.WinklerScore()(y, nullable.copy()) == pytest.approx(M.winkler_score(y, band),
                                                                 rel=1e-12)
    raw = M.WinklerScore(multioutput="raw_values")(y, nullable.copy())
    assert raw.dtype == np.float64
    per_day = M.WinklerScore(multioutput="raw_values", score_average=False).evaluate_by_index(
        y, nullable.copy())
    assert (per_day.dtypes == np.float64).all()
    assert np.isfinite(per_day.to_numpy()).all()


def test_probabilistic_metric_args_follow_sktime():
    """``metric_args`` holds the prediction arguments, as in sktime's own metrics."""
    w = M.WinklerScore(coverage=COVERAGES).metric_args
    ref = EmpiricalCoverage(coverage=COVERAGES).metric_args
    assert list(w) == list(ref) == ["coverage"]
    np.testing.assert_array_equal(w["coverage"], ref["coverage"])
    q = M.QuantileCRPS(alpha=LEVELS).metric_args
    ref = PinballLoss(alpha=LEVELS).metric_args
    assert list(q) == list(ref) == ["alpha"]
    np.testing.assert_array_equal(q["alpha"], ref["alpha"])


# ----------------------------------------------------------------------- QuantileCRPS
def test_quantile_crps_by_index_is_the_midpoint_rule_per_day():
    y, q = quantile_data()
    levels = np.array(LEVELS)
    edges = np.concatenate([[0.0], (levels[1:] + levels[:-1]) / 2, [1.0]])
    weights = np.diff(edges)
    out = M.QuantileCRPS(multioutput="raw_values").evaluate_by_index(y, q.copy())
    for c in COLS:
        diff = y[c].to_numpy()[:, None] - q[c].to_numpy()
        pinball = np.where(diff >= 0, levels * diff, (levels - 1) * diff)
        np.testing.assert_allclose(out[c].to_numpy(), 2 * pinball @ weights, rtol=1e-12)


def test_quantile_crps_alpha_selects_the_levels():
    y, q = quantile_data()
    alpha = [0.1, 0.5, 0.9]
    expected = M.crps_quantiles(y, q, alpha=alpha)
    assert M.QuantileCRPS(alpha=alpha)(y, q.copy()) == pytest.approx(expected, rel=1e-12)
    assert expected != pytest.approx(M.crps_quantiles(y, q))
    assert M.QuantileCRPS(alpha=0.5)(y, q.copy()) == pytest.approx(
        M.crps_quantiles(y, q, alpha=0.5), rel=1e-12)


def test_quantile_crps_alpha_not_in_y_pred_raises_naming_it():
    y, q = quantile_data()
    with raises("QuantileCRPS: y_pred has no quantile(s) [0.3] for target 'ndx'; it has "
                "[0.1, 0.25, 0.5, 0.75, 0.9]. Predict them or drop them from alpha."):
        M.QuantileCRPS(alpha=[0.3, 0.5])(y, q.copy())


@pytest.mark.parametrize("metric, data", [(M.WinklerScore, interval_data),
                                          (M.QuantileCRPS, quantile_data)],
                         ids=["WinklerScore", "QuantileCRPS"])
def test_scoring_leaves_the_callers_forecast_frame_as_it_was(metric, data):
    y, pred = data()
    before = pred.copy()
    assert list(pred.columns.get_level_values(0).unique()) == ["spx", "ndx"]   # not sorted
    metric()(y, pred)
    metric(multioutput="raw_values").evaluate(y, pred)
    pd.testing.assert_frame_equal(pred, before)
