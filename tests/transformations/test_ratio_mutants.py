"""Ratio and LogRatio: the policies a wrong line would break without a round trip noticing.

Written against the survivors of ``python3 tasks.py mutate skfin/transformations/ratio``:
which rows an inverse may chain over (stored rows, then the periods right after them, for
integer, period and dated indexes), the messages that say where the chain breaks, the
statistics of ``standardize=True`` per column, and the estimator-check parameters.
"""

import re
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from skfin.datasets import load_sp500
from skfin.transformations import LogRatio, Ratio


@lru_cache
def _close():
    return load_sp500()["Close"]


def close():
    return _close().copy()


def monthly():
    """Month-end S&P 500 closes: a regular calendar, with a frequency."""
    return close().resample("ME").last()


def log_returns(prices):
    return np.log(prices / prices.shift(1))


# ------------------------------------------------------------------ standardize
def test_standardize_statistics_are_per_column():
    prices = load_sp500()[["Open", "High", "Low", "Close"]].iloc[:500]
    lr = LogRatio(standardize=True).fit(prices)
    raw = log_returns(prices).iloc[1:]
    np.testing.assert_allclose(lr.mean_, raw.mean().to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(lr.scale_, raw.std(ddof=0).to_numpy(), rtol=1e-12)
    assert lr.mean_.shape == lr.scale_.shape == (4,)


def test_standardize_needs_one_ratio_in_every_column():
    prices = load_sp500()[["Open", "Close"]].iloc[:30].copy()
    LogRatio(standardize=True).fit(prices.iloc[:2])  # one ratio per column is enough
    with pytest.raises(ValueError, match="^" + re.escape(
            "LogRatio(standardize=True) needs at least 2 consecutive non-missing prices per "
            "column to estimate the mean and the standard deviation; got n_samples=1. Fit "
            "on a longer series or use standardize=False.") + "$"):
        LogRatio(standardize=True).fit(prices.iloc[:1])
    # the Close column is observed on its last day only: no ratio there, though Open has
    prices.iloc[:-1, 1] = np.nan
    with pytest.raises(ValueError, match="got n_samples=30"):
        LogRatio(standardize=True, fill="ffill").fit(prices)


def test_standardize_skips_the_missing_ratios_of_a_filled_series():
    y = close().iloc[:300]
    y.iloc[:5] = np.nan  # nothing to carry forward before the first price
    lr = LogRatio(standardize=True, fill="ffill").fit(y)
    raw = log_returns(y).iloc[6:]
    assert lr.mean_[0] == pytest.approx(raw.mean(), rel=1e-12)
    assert lr.scale_[0] == pytest.approx(raw.std(ddof=0), rel=1e-12)


def test_a_price_without_spread_is_divided_by_one():
    y = close().iloc[:50]
    y[:] = y.iloc[0]  # a halted stock: the same price every day
    ratio = Ratio(standardize=True).fit(y)
    assert ratio.mean_[0] == 1.0 and ratio.scale_[0] == 1.0
    np.testing.assert_array_equal(ratio.transform(y).iloc[1:], 0.0)


def test_a_spread_just_above_the_noise_floor_is_kept():
    # the price ticks by 11 ulps and back: the ratios spread by ~10.4 machine epsilons,
    # just above the floor of 10 eps under which a series counts as flat
    y = close().iloc[:4]
    y[:] = y.iloc[0] * np.array([1.0, 1.0 + 11 * np.finfo(np.float64).eps] * 2)
    ratios = (y / y.shift(1)).iloc[1:].to_numpy()
    spread = np.std(ratios)
    assert 10 < spread / np.finfo(np.float64).eps < 11
    assert Ratio(standardize=True).fit(y).scale_[0] == spread


# ------------------------------------------------------------- where a chain starts
def test_inverse_over_the_end_of_the_stored_rows_continues_into_forecasts():
    y = close().reset_index(drop=True)
    lr = LogRatio().fit(y.iloc[:4000])
    returns = log_returns(y).iloc[3990:4010]  # ten stored rows, then ten after them
    np.testing.assert_allclose(lr.inverse_transform(returns), y.iloc[3990:4010], rtol=1e-10)


def test_inverse_of_other_values_over_the_stored_rows_chains_from_the_row_before():
    """In-sample forecasts (not the stored ratios) are chained from the stored level just
    before them; a row without a value restarts the chain at its stored level."""
    y = close()
    lr = LogRatio().fit(y.iloc[:200])
    forecasts = log_returns(y).iloc[100:112] + 0.01          # not the observed returns
    expected = y.iloc[99] * np.exp(np.cumsum(forecasts.to_numpy()))
    np.testing.assert_allclose(lr.inverse_transform(forecasts), expected, rtol=1e-12)
    forecasts.iloc[5] = np.nan
    restarted = np.r_[expected[:5], y.iloc[105],
                      y.iloc[105] * np.exp(np.cumsum(forecasts.to_numpy()[6:]))]
    np.testing.assert_allclose(lr.inverse_transform(forecasts), restarted, rtol=1e-12)


def test_inverse_from_the_first_stored_rows_takes_the_first_level():
    """The first stored row has no level before it: it takes its own stored level,
    whatever value it is given, and the chain starts there. From the second row on,
    the first stored level is the anchor."""
    y = close()
    lr = LogRatio().fit(y.iloc[:200])
    forecasts = log_returns(y).iloc[:10] + 0.01
    forecasts.iloc[0] = 0.05                                 # ignored: no level before it
    expected = np.r_[y.iloc[0], y.iloc[0] * np.exp(np.cumsum(forecasts.to_numpy()[1:]))]
    np.testing.assert_allclose(lr.inverse_transform(forecasts), expected, rtol=1e-12)
    np.testing.assert_allclose(lr.inverse_transform(forecasts.iloc[1:]), expected[1:],
                               rtol=1e-12)


def test_a_flat_forecast_given_as_integers_inverts_to_the_anchor():
    y = close()
    lr = LogRatio().fit(y.iloc[:200])
    flat = pd.Series(0, index=y.index[:5], name="Close")      # int64 zeros
    np.testing.assert_allclose(lr.inverse_transform(flat), y.iloc[0], rtol=1e-12)


def test_inverse_keeps_the_columns_of_a_frame():
    prices = load_sp500()[["Open", "Close"]].iloc[:300]
    ratio = Ratio().fit(prices)
    back = ratio.inverse_transform(ratio.transform(prices))
    assert list(back.columns) == ["Open", "Close"] and back.index.equals(prices.index)


def test_prices_are_positive_only_for_scikit_learn():
    for cls in (Ratio, LogRatio):
        assert cls().__sklearn_tags__().input_tags.positive_only is True


def test_update_appends_to_the_stored_rows():
    y = close()
    lr = LogRatio().fit(y.iloc[:100])
    lr.update(y.iloc[100:150])
    returns = log_returns(y).iloc[50:160]                     # fitted, updated, then new
    np.testing.assert_allclose(lr.inverse_transform(returns.iloc[:100]), y.iloc[50:150],
                               rtol=1e-10)
    out = lr.transform(y.iloc[90:160])
    np.testing.assert_allclose(out, returns.iloc[40:], rtol=1e-10)


def test_inverse_of_the_stored_rows_with_a_row_missing_names_the_anchor():
    y = close()
    lr = LogRatio().fit(y.iloc[:200])
    returns = log_returns(y).iloc[100:120].drop(y.index[105])
    with pytest.raises(ValueError) as error:
        lr.inverse_transform(returns)
    anchor = y.index[99]
    assert str(error.value) == (
        f"LogRatio.inverse_transform chains ratios from the level at {anchor!r}, so the "
        f"rows to invert must be the consecutive periods after it; got "
        f"[{', '.join(map(repr, returns.index[:5]))}, ...]. For forecasts, predict every "
        "step fh=[1, 2, ..., h] and select the steps you need afterwards.")


def test_inverse_from_the_first_stored_row_with_a_row_missing_is_refused():
    y = close()
    lr = Ratio().fit(y.iloc[:200])
    ratios = (y / y.shift(1)).iloc[:20].drop(y.index[3])
    with pytest.raises(ValueError, match=re.escape(f"level at {y.index[0]!r}")):
        lr.inverse_transform(ratios)


@pytest.mark.parametrize("first_row, where", [(1, "before"), (150, "between the rows of")])
def test_inverse_of_a_day_not_stored_says_where_it_lies(first_row, where):
    y = close()
    lr = LogRatio().fit(y.iloc[100:200].drop(y.index[150]))
    returns = log_returns(y).iloc[first_row:first_row + 3]
    first = returns.index[0]
    with pytest.raises(ValueError) as error:
        lr.inverse_transform(returns)
    assert str(error.value) == (
        f"LogRatio.inverse_transform needs the level just before {first!r}, the first "
        f"row to invert, but that row lies {where} the data seen in fit/update. Invert "
        "rows that continue the fitted series (or forecasts right after it), or refit on "
        "a series that covers them.")


def test_inverse_of_nothing_is_nothing():
    lr = LogRatio().fit(close().iloc[:100])
    empty = log_returns(close()).iloc[:0]
    out = lr.inverse_transform(empty)
    assert isinstance(out, pd.Series) and len(out) == 0


# ------------------------------------------------- the periods after the stored rows
def test_forecasts_after_an_integer_index_must_start_at_the_next_row():
    y = close().reset_index(drop=True)
    lr = LogRatio().fit(y.iloc[:4000])
    steps = pd.Series([0.01, 0.02], index=pd.RangeIndex(4000, 4002), name="Close")
    with pytest.raises(ValueError, match=re.escape("got [4001].")):
        lr.inverse_transform(steps.iloc[:1].set_axis(pd.Index([4001])))   # one step, too
    np.testing.assert_allclose(lr.inverse_transform(steps),
                               y.iloc[3999] * np.exp([0.01, 0.03]), rtol=1e-12)
    for index in ([4001, 4002], [4000, 4002]):
        with pytest.raises(ValueError, match=re.escape(
                f"level at 3999, so the rows to invert must be the consecutive periods "
                f"after it; got {index}.")):
            lr.inverse_transform(steps.set_axis(pd.Index(index)))


def test_gap_message_lists_five_rows_then_an_ellipsis():
    y = close().reset_index(drop=True)
    lr = LogRatio().fit(y.iloc[:100])
    for n, tail in ((5, "]. For forecasts"), (6, ", ...]. For forecasts")):
        steps = pd.Series(0.0, index=pd.RangeIndex(101, 101 + n), name="Close")
        with pytest.raises(ValueError) as error:
            lr.inverse_transform(steps)
        assert f"got [101, 102, 103, 104, 105{tail}" in str(error.value)


def test_forecasts_after_a_period_index_follow_its_frequency():
    y = monthly().to_period("M").iloc[:120]
    lr = LogRatio().fit(y)
    after = pd.period_range(y.index[-1] + 1, periods=3, freq="M")
    steps = pd.Series([0.01, -0.02, 0.03], index=after, name="Close")
    np.testing.assert_allclose(lr.inverse_transform(steps),
                               y.iloc[-1] * np.exp(np.cumsum(steps)), rtol=1e-12)
    with pytest.raises(ValueError, match=re.escape(f"level at {y.index[-1]!r}")):
        lr.inverse_transform(steps.set_axis(after + 1))


@pytest.mark.parametrize("stored_freq", [True, False])
def test_forecasts_after_a_dated_index_follow_the_frequency_of_either_side(stored_freq):
    y = monthly().iloc[:120]
    if not stored_freq:
        y.index = pd.DatetimeIndex(list(y.index))  # same dates, no frequency
    assert (y.index.freq is not None) is stored_freq
    lr = LogRatio().fit(y)
    after = pd.date_range(y.index[-1], periods=4, freq="ME")[1:]
    steps = pd.Series([0.01, -0.02, 0.03], index=after, name="Close")
    np.testing.assert_allclose(lr.inverse_transform(steps),
                               y.iloc[-1] * np.exp(np.cumsum(steps)), rtol=1e-12)
    skipped = pd.date_range(after[1], periods=3, freq="ME")
    with pytest.raises(ValueError, match=re.escape(f"level at {y.index[-1]!r}")):
        lr.inverse_transform(steps.set_axis(skipped))


def test_forecasts_after_the_exchange_calendar_skip_its_holidays():
    """``load_sp500`` carries the NYSE calendar (a custom business day): the periods
    after 2002-12-24 are the 26th and 27th, Christmas is not one of them."""
    y = close().iloc[:1000]
    assert y.index[-1] == pd.Timestamp("2002-12-24")
    lr = LogRatio().fit(y)
    steps = pd.Series([0.01, -0.02], index=pd.DatetimeIndex(["2002-12-26", "2002-12-27"]),
                      name="Close")
    np.testing.assert_allclose(lr.inverse_transform(steps),
                               y.iloc[-1] * np.exp(np.cumsum(steps)), rtol=1e-12)
    with pytest.raises(ValueError, match="consecutive periods"):
        lr.inverse_transform(steps.set_axis(pd.DatetimeIndex(["2002-12-25", "2002-12-26"])))


def test_forecasts_after_trading_days_are_trusted():
    """Trading days read without their calendar have no rule for "the next period":
    any later dates chain."""
    y = close().iloc[:1000]
    y.index = pd.DatetimeIndex(list(y.index))  # as read from a file: no frequency
    lr = LogRatio().fit(y)
    later = pd.DatetimeIndex(["2003-01-06", "2003-01-20", "2003-02-03"])
    steps = pd.Series([0.01, -0.02, 0.03], index=later, name="Close")
    np.testing.assert_allclose(lr.inverse_transform(steps),
                               y.iloc[-1] * np.exp(np.cumsum(steps)), rtol=1e-12)


# ------------------------------------------------------------------ test parameters
@pytest.mark.parametrize("cls", [Ratio, LogRatio])
def test_estimator_check_parameters_cover_both_policies(cls):
    """The estimator checks see the plain transformer and the standardised one that
    accepts missing prices: each round-trips a real series with a missing day."""
    params = cls.get_test_params()
    assert [p.get("standardize", False) for p in params] == [False, True]
    assert [p.get("fill", "raise") for p in params] == ["raise", "ffill"]
    y = close().iloc[:300]
    for p in params:
        transformer = cls(**p)
        np.testing.assert_allclose(transformer.inverse_transform(transformer.fit_transform(y)),
                                   y, rtol=1e-10)
    y.iloc[50] = np.nan
    transformer = cls(**params[1])
    back = transformer.inverse_transform(transformer.fit_transform(y))
    np.testing.assert_allclose(back, y.ffill(), rtol=1e-10)
