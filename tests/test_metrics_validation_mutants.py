"""The point metrics' shared input checks (``skfin.metrics._validation``), message by
message and branch by branch: what mutation testing (issue 17) found unchecked by
``test_metrics.py``. Inputs are real S&P 500 closes and log returns; each expectation is
worked out from the definitions (NumPy's conversions, the documented messages).
"""

import re

import numpy as np
import pandas as pd
import pytest

from skfin.datasets import load_sp500
from skfin.metrics import hit_rate
from skfin.metrics._validation import _as_2d, _labels, _point_pair, _row_weights, _values

SP = load_sp500().iloc[-9:]
CLOSE = SP["Close"]                                     # 9 closes, a DatetimeIndex
R = np.log(CLOSE).diff().dropna().rename("r")           # 8 log returns


def test_values_unwraps_pandas_and_converts_to_float64():
    volume = SP["Volume"].iloc[-5:]                     # whole numbers of shares
    as_int = volume.to_numpy().astype(np.int64)
    got = _values(as_int, "y_true", "hit_rate")
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, as_int.astype(float))
    frame = SP[["Open", "Close"]]
    got = _values(frame, "y_true", "hit_rate")
    assert type(got) is np.ndarray and got.dtype == np.float64
    np.testing.assert_array_equal(got, np.column_stack([SP["Open"], SP["Close"]]))


def test_values_names_the_metric_argument_and_type():
    words = CLOSE.index.strftime("%Y-%m-%d").to_series(index=CLOSE.index)   # strings
    with pytest.raises(TypeError) as info:
        _values(words, "y_pred", "hit_rate")
    cause = info.value.__cause__
    assert isinstance(cause, ValueError)                # NumPy's own error, chained
    assert str(info.value) == (f"hit_rate: y_pred must hold numbers; got Series that does "
                               f"not convert to float ({cause}).")
    with pytest.raises(TypeError, match=r"^hit_rate: y_true must hold numbers; got dict "):
        _values({"a": 1.0}, "y_true", "hit_rate")


def test_labels_of_frames_series_and_arrays():
    frame = SP[["Open", "Close"]]
    columns, index = _labels(frame)
    assert columns == ["Open", "Close"] and index is frame.index
    columns, index = _labels(R)
    assert columns == ["r"] and index is R.index
    columns, index = _labels(R.rename(None))
    assert columns is None and index.equals(R.index)
    assert _labels(R.to_numpy()) == (None, None)


def test_as_2d_shapes_and_messages():
    got = _as_2d(R, "y_true", "hit_rate")
    assert got.shape == (8, 1)
    np.testing.assert_array_equal(got[:, 0], R.to_numpy())
    two = SP[["Open", "Close"]].to_numpy()
    np.testing.assert_array_equal(_as_2d(two, "y_true", "hit_rate"), two)
    cube = two[:, :, None]
    with pytest.raises(ValueError, match=re.escape(
            "hit_rate: y_pred must be 1D (n_samples,) or 2D (n_samples, n_outputs); got "
            "shape (9, 2, 1).")):
        _as_2d(cube, "y_pred", "hit_rate")
    with pytest.raises(ValueError, match=re.escape(
            "hit_rate: y_true is empty; it needs at least one row.")):
        _as_2d(R.iloc[:0], "y_true", "hit_rate")
    # a NaN is named by its column and date when y is pandas
    gappy = SP[["Open", "Close"]].copy()
    gappy.iloc[3, 1] = np.nan
    day = SP.index[3].date()
    with pytest.raises(ValueError, match=re.escape(
            f"hit_rate: y_true contains NaN or inf: 1 value(s), first in column 'Close' at "
            f"row 3 ({day}).")):
        _as_2d(gappy, "y_true", "hit_rate")


def test_point_pair_names_the_original_shapes():
    yt, yp = _point_pair(R.iloc[1:], R.iloc[:-1], "hit_rate")
    np.testing.assert_array_equal(yt[:, 0], R.to_numpy()[1:])
    np.testing.assert_array_equal(yp[:, 0], R.to_numpy()[:-1])
    with pytest.raises(ValueError, match=re.escape(
            "hit_rate: y_true has shape (8,) but y_pred has shape (7, 1). Pass forecasts and "
            "outcomes for the same rows and outputs.")):
        _point_pair(R, R.to_numpy()[:7, None], "hit_rate")


def test_row_weights_accepts_zeros_and_weights_summing_to_one():
    assert _row_weights(None, 8, "hit_rate") is None
    w = np.full(8, 1 / 8)                                # sums to exactly 1.0
    assert w.sum() == 1.0
    np.testing.assert_array_equal(_row_weights(w, 8, "hit_rate"), w)
    # a zero weight drops a row; the hit rate over the others, by hand
    y, f = R.to_numpy()[1:], R.to_numpy()[:-1]           # 7 days, yesterday as forecast
    zero_first = np.r_[0.0, np.ones(6)]
    hits = np.sign(y) == np.sign(f)
    assert hit_rate(y, f, sample_weight=zero_first) == pytest.approx(hits[1:].mean())
    volume = SP["Volume"].iloc[-7:]                      # a pandas weight is unwrapped
    assert hit_rate(y, f, sample_weight=volume) == pytest.approx(
        (hits * volume.to_numpy()).sum() / volume.sum())


def test_row_weights_messages():
    with pytest.raises(ValueError, match=re.escape(
            "hit_rate: sample_weight must have one weight per row (8); got shape (7,).")):
        _row_weights(np.ones(7), 8, "hit_rate")
    message = re.escape("hit_rate: sample_weight must be >= 0 and not all 0.")
    with pytest.raises(ValueError, match=f"^{message}$"):
        _row_weights(np.zeros(8), 8, "hit_rate")
    signed = R.to_numpy()                                # returns: some negative, sum != 0
    assert (signed < 0).any() and signed.sum() != 0
    with pytest.raises(ValueError, match=f"^{message}$"):
        _row_weights(signed, 8, "hit_rate")
    gappy = np.ones(8)
    gappy[5] = np.inf
    with pytest.raises(ValueError, match=re.escape(
            "hit_rate: sample_weight contains NaN or inf: 1 value(s), first in column 0 at "
            "row 5.")):
        _row_weights(gappy, 8, "hit_rate")


def test_each_check_names_the_metric_that_called_it():
    words = CLOSE.index.strftime("%Y-%m-%d").to_numpy()                 # not numbers
    with pytest.raises(TypeError, match=r"^hit_rate: y_pred must hold numbers; got ndarray "):
        _as_2d(words, "y_pred", "hit_rate")
    with pytest.raises(ValueError, match=re.escape(
            "hit_rate: y_true is empty; it needs at least one row.")):
        _point_pair(R.iloc[:0], R.iloc[:0], "hit_rate")
    with pytest.raises(ValueError, match=re.escape(
            "hit_rate: y_pred must be 1D (n_samples,) or 2D (n_samples, n_outputs); got "
            "shape (8, 1, 1).")):
        _point_pair(R, R.to_numpy()[:, None, None], "hit_rate")
    with pytest.raises(TypeError, match=(r"^hit_rate: sample_weight must hold numbers; got "
                                         r"ndarray that does not convert to float")):
        _row_weights(words[1:], 8, "hit_rate")


def test_pandas_is_unwrapped_before_the_float_conversion():
    # Dates are not numbers. A tz-aware date column unwraps (``to_numpy``) to Timestamp
    # objects, which ``float()`` refuses: the metric names the argument. (Converting the
    # Series itself would go through pandas' ``__array__``, which turns tz-aware dates
    # into nanoseconds since 1970 and lets them through as "numbers".)
    dates = CLOSE.index.tz_localize("America/New_York").to_series(index=CLOSE.index)
    with pytest.raises(TypeError) as info:
        _values(dates, "y_true", "hit_rate")
    assert str(info.value).startswith(
        "hit_rate: y_true must hold numbers; got Series that does not convert to float (")
    assert "Timestamp" in str(info.value)
    with pytest.raises(TypeError, match=r"^hit_rate: y_true must hold numbers; got DataFrame"):
        _values(dates.to_frame("day"), "y_true", "hit_rate")
    with pytest.raises(TypeError, match=r"^hit_rate: y_true must hold numbers; got Series"):
        hit_rate(dates, R.reindex(CLOSE.index).fillna(0.0))


def test_dates_and_durations_are_not_scored_as_nanoseconds():
    # tz-naive dates unwrap to datetime64, which NumPy would turn into nanoseconds since
    # 1970: every metric then "scored" the calendar (hit_rate of the index with itself: 1.0)
    days = CLOSE.index.to_series(index=CLOSE.index)
    with pytest.raises(TypeError, match=r"^hit_rate: y_true must hold numbers; got dates "
                                        r"or durations \(datetime64\[ns\]\)\. Pass the "
                                        r"values \(prices, returns\), not the index\.$"):
        hit_rate(days, days)
    gaps = days.diff().dropna()                                 # timedelta64: durations
    with pytest.raises(TypeError, match=r"y_pred must hold numbers; got dates or durations"):
        _values(gaps, "y_pred", "hit_rate")
