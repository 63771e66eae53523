"""The finance point metrics at their edges, on real S&P 500 / NASDAQ returns.

Written against the survivors of ``python3 tasks.py mutate skfin/metrics/_finance``: every
error says which function, what was wrong and what to pass (checked word for word, since a
user reads them); boundaries (a return of exactly -100% or +100%, a scale series of exactly
``sp`` rows, a variance of exactly 0) sit on the side the docstrings promise; several
outputs, weights and references are compared with loops written out here.
"""

import re
import warnings
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import UndefinedMetricWarning

from skfin import metrics as M
from skfin.datasets import load_nasdaq, load_sp500


@lru_cache
def _returns2() -> np.ndarray:
    """S&P 500 and NASDAQ daily log returns, as fractions, on the same days."""
    close = pd.DataFrame({"spx": load_sp500()["Close"], "ndx": load_nasdaq()["Close"]})
    return np.log(close).diff().dropna().to_numpy()


def returns2():
    return _returns2().copy()


def spx():
    return returns2()[:, 0]


def raises(message, exception=ValueError):
    """``pytest.raises`` for exactly this message."""
    return pytest.raises(exception, match="^" + re.escape(message) + "$")


# --------------------------------------------------------------------------- direction
def test_hit_rate_averages_outputs_then_weighted_rows():
    r = returns2()[:300]
    truth, forecast = r[1:], r[:-1]
    forecast[::7] = 0.0                      # a flat call hits only a flat day
    weights = np.linspace(0.5, 2.0, len(truth))
    per_row = [np.mean([np.sign(t) == np.sign(f) for t, f in zip(tr, fo)])
               for tr, fo in zip(truth, forecast)]
    assert M.hit_rate(truth, forecast) == pytest.approx(np.mean(per_row), rel=1e-12)
    assert M.hit_rate(truth, forecast, sample_weight=weights) == pytest.approx(
        sum(w * h for w, h in zip(weights, per_row)) / weights.sum(), rel=1e-12)


def test_directional_accuracy_reference_per_row_per_output_and_scalar():
    r = returns2()[:200]
    levels = np.exp(np.cumsum(r, axis=0))              # two price paths from 1
    truth, forecast = levels[1:], levels[1:] * np.exp(r[:-1])   # momentum forecasts
    ref_rows = levels[:-1]
    expected = np.mean(np.sign(truth - ref_rows) == np.sign(forecast - ref_rows))
    # the previous outcome is the default reference
    assert M.directional_accuracy(truth, forecast, y_ref=ref_rows) == pytest.approx(expected)
    # one reference per row, as a 1D array: the same for every output
    one_ref = ref_rows[:, 0]
    by_hand = np.mean([np.mean([np.sign(t - q) == np.sign(f - q) for t, f in zip(tr, fo)])
                       for tr, fo, q in zip(truth, forecast, one_ref)])
    assert M.directional_accuracy(truth, forecast, y_ref=one_ref) == pytest.approx(by_hand)
    # a scalar (the last level before a multi-step forecast)
    q = levels[0, 0]
    scalar = np.mean(np.sign(truth - q) == np.sign(forecast - q))
    assert M.directional_accuracy(truth, forecast, y_ref=q) == pytest.approx(scalar)
    # weights with the default reference drop the first row's weight with the row
    w = np.arange(1.0, len(truth) + 1)
    hits = np.mean(np.sign(truth[1:] - truth[:-1]) == np.sign(forecast[1:] - truth[:-1]),
                   axis=1)
    assert M.directional_accuracy(truth, forecast, sample_weight=w) == pytest.approx(
        np.sum(w[1:] * hits) / w[1:].sum(), rel=1e-12)


def test_directional_accuracy_errors():
    r = returns2()[:10]
    with raises("directional_accuracy: with y_ref=None the previous outcome is the "
                "reference, so at least 2 rows are needed; got 1. Pass y_ref."):
        M.directional_accuracy(r[:1], r[:1])
    assert M.directional_accuracy(r[:2], r[:2]) == 1.0        # 2 rows: one scored
    with raises("directional_accuracy: y_ref must be a scalar or have one value per row "
                "(10); got 3 values."):
        M.directional_accuracy(r, r, y_ref=r[:3, 0])
    with raises("directional_accuracy: y_ref of shape (10, 3) does not match y_true of "
                "shape (10, 2)."):
        M.directional_accuracy(r, r, y_ref=np.ones((10, 3)))
    with pytest.raises(ValueError, match=r"^directional_accuracy: y_ref contains NaN"):
        M.directional_accuracy(r, r, y_ref=np.full(10, np.nan))


# ------------------------------------------------------------------------------ MASE
def test_mase_per_output_scale_and_seasonal_lag():
    r = returns2()
    train, test = r[:1000], r[1000:1250]
    pred = np.zeros_like(test)
    for sp in (1, 5):
        scales = [np.mean([abs(train[t, j] - train[t - sp, j]) for t in range(sp, 1000)])
                  for j in range(2)]
        maes = np.mean(np.abs(test), axis=0)
        assert M.mase(test, pred, y_train=train, sp=sp) == pytest.approx(
            np.mean(maes / scales), rel=1e-12)
    # no y_train: the test period is its own scale
    assert M.mase(test[:, 0], pred[:, 0]) == pytest.approx(
        np.mean(np.abs(test[:, 0])) / np.mean(np.abs(np.diff(test[:, 0]))), rel=1e-12)


def test_mase_scale_series_needs_more_than_sp_rows():
    r = spx()
    M.mase(r[:5], r[5:10], y_train=r[:6], sp=5)             # sp + 1 rows: one difference
    with raises("mase: the naive scale needs more than sp=5 rows of y_train; got 5."):
        M.mase(r[:5], r[5:10], y_train=r[:5], sp=5)
    with raises("mase: the naive scale needs more than sp=1 rows of y_true (no y_train "
                "given); got 1."):
        M.mase(r[:1], r[1:2])


@pytest.mark.parametrize("sp", [0, -1, 1.0, True, "1"])
def test_mase_refuses_a_period_that_is_not_a_positive_int(sp):
    r = spx()[:20]
    with raises(f"mase: sp must be an int >= 1; got sp={sp!r}."):
        M.mase(r, r, sp=sp)


def test_mase_errors_name_the_mismatch_and_the_flat_scale():
    r = returns2()[:50]
    with raises("mase: y_train has 1 columns but y_true has 2."):
        M.mase(r, r, y_train=r[:, 0])
    with pytest.raises(ValueError, match=r"^mase: y_train contains NaN"):
        M.mase(r, r, y_train=np.full((10, 2), np.nan))
    flat = r.copy()
    flat[:, 1] = flat[0, 1]                  # NASDAQ halted: its naive forecast is perfect
    with raises("mase: the naive forecast is perfect on y_train (scale 0), so MASE is "
                "undefined. Use a longer or non-constant series for the scale."):
        M.mase(r, r, y_train=flat)
    with raises("mase: the naive forecast is perfect on y_true (no y_train given) (scale "
                "0), so MASE is undefined. Use a longer or non-constant series for the "
                "scale."):
        M.mase(flat, r)


# ------------------------------------------------------------------ trading a sign
@pytest.mark.parametrize("func", ["strategy_return", "sharpe_ratio", "sortino_ratio",
                                  "max_drawdown", "strategy_returns"])
def test_trading_parameters_are_checked_with_their_messages(func):
    r = spx()[:30]
    metric = getattr(M, func)
    for cost in (-0.5, np.inf, np.nan, "5"):
        with raises(f"{func}: cost_bps must be a finite number >= 0 (basis points per unit "
                    f"of position change); got cost_bps={cost!r}."):
            metric(r, r, cost_bps=cost)
    metric(r, r, cost_bps=0)                                  # free trading is allowed
    with raises(f"{func}: returns must be one of ('log', 'simple'); got returns='pct'."):
        metric(r, r, returns="pct")
    with raises(f"{func}: trades one series, but y_true has 2 columns. Pass one column, "
                "e.g. the one-step-ahead column y[:, 0]."):
        metric(returns2()[:30], returns2()[:30])


@pytest.mark.parametrize("func", ["strategy_return", "sharpe_ratio", "sortino_ratio"])
def test_annualisation_factor_is_checked(func):
    r = spx()[:30]
    metric = getattr(M, func)
    for periods in (0, -252, "252", None):
        with raises(f"{func}: periods_per_year must be a positive number (252 for trading "
                    f"days, 52 for weeks, 12 for months); got periods_per_year="
                    f"{periods!r}."):
            metric(r, r, periods_per_year=periods)
    monthly = metric(r, np.ones_like(r), periods_per_year=12)
    daily = metric(r, np.ones_like(r), periods_per_year=252)
    power = 1.0 if func == "strategy_return" else 0.5
    assert daily == pytest.approx(monthly * (252 / 12) ** power, rel=1e-12)


def test_simple_returns_may_lose_everything_but_not_more():
    r = np.expm1(spx()[:20])
    r[4] = -1.0                                               # a default: -100%
    out = M.strategy_returns(r, np.ones_like(r), returns="simple")
    assert out[4] == -1.0
    r[9] = -1.0 - 1e-12
    with raises('strategy_returns: y_true holds simple returns below -1 (first at row 9), '
                'i.e. losses of more than 100%. Pass simple returns P[t] / P[t-1] - 1, or '
                'log returns with returns="log".'):
        M.strategy_returns(r, np.ones_like(r), returns="simple")
    # a log return below -1 is a loss of 63%: allowed
    log = spx()[:20]
    log[3] = -1.5
    with pytest.warns(UserWarning):
        assert M.strategy_returns(log, np.ones_like(log))[3] == pytest.approx(np.expm1(-1.5))


def test_returns_of_100_percent_or_more_warn_with_the_first_row():
    r = spx()[:20]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        M.strategy_returns(np.clip(r, -0.999, 0.999), r)      # below 100%: silent
    r[6], r[11] = 1.0, -2.5
    with pytest.warns(UserWarning) as record:
        M.strategy_returns(r, r)
    assert len(record) == 1
    assert str(record[0].message) == (
        "strategy_returns: y_true holds per-period returns of 100% or more (max |y_true| = "
        "2.5, first at row 6). Trading metrics read returns as fractions (0.01 = 1%): if "
        "these are prices or percentages, pass returns, or divide percentages by 100.")


def test_positions_turnover_and_costs_by_hand():
    r = spx()[200:212]
    forecast = np.array([0.0, 1, 1, -1, -1, 0, 1, -1, 0, 0, 2, 3]) * 1e-3
    position = [0, 1, 1, -1, -1, 0, 1, -1, 0, 0, 1, 1]
    previous = [0] + position[:-1]
    expected = [p * np.expm1(x) - 2.5e-4 * abs(p - q)
                for p, q, x in zip(position, previous, r)]
    np.testing.assert_allclose(M.strategy_returns(r, forecast, cost_bps=2.5), expected,
                               rtol=1e-12, atol=1e-15)
    wealth = np.cumprod(1 + np.array(expected))
    peak = np.maximum.accumulate(np.r_[1.0, wealth])[1:]
    assert M.max_drawdown(r, forecast, cost_bps=2.5) == pytest.approx(
        np.max(1 - wealth / peak), rel=1e-12)


def test_drawdown_counts_from_the_starting_wealth_and_is_never_negative():
    r = spx()
    first_loss = int(np.argmax(r < 0))
    # short from the first day: wealth falls below the starting 1 on the first up day
    losing = r[first_loss:first_loss + 1]
    assert M.max_drawdown(losing, np.ones(1)) == pytest.approx(-np.expm1(losing[0]))
    gains = r[r > 0][:25]
    assert M.max_drawdown(gains, np.ones_like(gains)) == 0.0


def test_undefined_ratios_say_why():
    r = spx()
    with pytest.warns(UndefinedMetricWarning) as record:
        assert np.isnan(M.sharpe_ratio(r[:1], r[:1]))
    assert str(record[0].message) == ("sharpe_ratio is undefined: 1 period(s), at least 2 "
                                      "are needed; returning nan.")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        M.sharpe_ratio(r[:2], np.ones(2))                     # 2 periods are enough
    with pytest.warns(UndefinedMetricWarning) as record:
        assert np.isnan(M.sharpe_ratio(r[:40], np.zeros(40)))
    assert str(record[0].message) == ("sharpe_ratio is undefined: the strategy's net returns "
                                      "do not vary; returning nan.")
    up = r[r > 0][:30]
    with pytest.warns(UndefinedMetricWarning) as record:
        assert np.isnan(M.sortino_ratio(up, up))
    assert str(record[0].message) == ("sortino_ratio is undefined: no period loses money "
                                      "(downside deviation 0); returning nan.")


# ------------------------------------------------------------------------------ QLIKE
def test_qlike_per_output_and_weights_by_hand():
    r = 100 * returns2()
    rv = pd.DataFrame(r ** 2).rolling(5).sum().to_numpy()[300:600]      # 5-day variance
    forecast = pd.DataFrame(r ** 2).rolling(250).mean().to_numpy()[295:595] * 5
    w = np.linspace(1.0, 3.0, len(rv))
    per_row = [np.mean([y / f - np.log(y / f) - 1 for y, f in zip(yr, fr)])
               for yr, fr in zip(rv, forecast)]
    assert M.qlike(rv, forecast) == pytest.approx(np.mean(per_row), rel=1e-12)
    assert M.qlike(rv, forecast, sample_weight=w) == pytest.approx(
        np.dot(w, per_row) / w.sum(), rel=1e-12)
    vol = M.qlike(np.sqrt(rv), np.sqrt(forecast), volatility=True)
    assert vol == pytest.approx(np.mean(per_row), rel=1e-12)
    # volatilities read as variances score differently: the flag is not ignored
    assert M.qlike(np.sqrt(rv), np.sqrt(forecast)) != pytest.approx(vol, rel=1e-3)


def test_qlike_refuses_a_zero_variance_counting_every_bad_value():
    r = 100 * spx()[:400]
    rv = pd.Series(r ** 2).rolling(5).sum().to_numpy()[5:]
    forecast = rv.mean() * np.ones_like(rv)
    bad = rv.copy()
    bad[[3, 17, 18]] = 0.0
    with raises("qlike: y_true must be > 0 (variances or volatilities); 3 value(s) are "
                "not, first at row 3. QLIKE is undefined there: a forecast must predict a "
                "positive variance."):
        M.qlike(bad, forecast)
    with raises("qlike: y_pred must be > 0 (variances or volatilities); 1 value(s) are "
                "not, first at row 0. QLIKE is undefined there: a forecast must predict a "
                "positive variance."):
        M.qlike(rv, np.r_[-1.0, forecast[1:]])
    tiny = np.full_like(rv, np.finfo(float).tiny)
    assert np.isfinite(M.qlike(tiny, tiny))                  # small but > 0 is fine


def test_mase_errors_name_mase():
    r = spx()[:20]
    with raises("mase: y_true has shape (20,) but y_pred has shape (19,). Pass forecasts "
                "and outcomes for the same rows and outputs."):
        M.mase(r, r[:19])


def test_trading_metrics_name_themselves_in_shape_errors():
    r = spx()[:20]
    with raises("sharpe_ratio: y_true has shape (20,) but y_pred has shape (19,). Pass "
                "forecasts and outcomes for the same rows and outputs."):
        M.sharpe_ratio(r, r[:19])


def test_strategy_returns_trade_for_free_by_default():
    r = spx()[:50]
    np.testing.assert_array_equal(M.strategy_returns(r[1:], r[:-1]),
                                  np.sign(r[:-1]) * np.expm1(r[1:]))


@pytest.mark.parametrize("func", ["sharpe_ratio", "max_drawdown", "strategy_return"])
def test_warnings_point_at_the_callers_line(func):
    r = spx()[:40]
    r[3] = 1.2                                                # a price-like jump
    with pytest.warns(UserWarning) as record:
        getattr(M, func)(r, np.zeros_like(r))
    with pytest.warns(UndefinedMetricWarning) as undefined:
        M.sharpe_ratio(r[:40], np.zeros(40))
    assert record[0].filename == undefined[-1].filename == __file__
