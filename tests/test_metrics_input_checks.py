"""The interval metrics' input checks, message by message (issue 17: mutation testing left
most mutants of ``_interval_input`` alive because no test read these messages).

Each case corrupts a real interval forecast of S&P 500 log returns (a rolling 90% band) in
one way and checks the exact message, naming the metric, the numbers and the fix.
"""

import re

import numpy as np
import pandas as pd
import pytest

from skfin.datasets import load_sp500
from skfin.metrics import empirical_coverage, mean_interval_width, winkler_score


@pytest.fixture(scope="module")
def band():
    """y, and a 90% (and 80%) band per day from the previous 60 days' quantiles."""
    r = (100 * np.log(load_sp500()["Close"]).diff()).dropna().iloc[-160:]
    rolling = r.rolling(60)
    q = {level: rolling.quantile(level).shift(1) for level in (0.05, 0.1, 0.9, 0.95)}
    keep = q[0.05].notna()
    columns = pd.MultiIndex.from_tuples([("r", 0.8, "lower"), ("r", 0.8, "upper"),
                                         ("r", 0.9, "lower"), ("r", 0.9, "upper")])
    frame = pd.DataFrame(np.c_[q[0.1], q[0.9], q[0.05], q[0.95]][keep.to_numpy()],
                         index=r.index[keep], columns=columns)
    return r[keep].rename("r"), frame


def test_a_well_formed_band_scores(band):
    y, frame = band
    inside = ((y >= frame[("r", 0.9, "lower")]) & (y <= frame[("r", 0.9, "upper")])).mean()
    assert empirical_coverage(y, frame, coverage=0.9) == pytest.approx(inside)
    arr = frame[[("r", 0.9, "lower"), ("r", 0.9, "upper")]].to_numpy()
    assert empirical_coverage(y, arr) == pytest.approx(inside)
    width = (frame[("r", 0.9, "upper")] - frame[("r", 0.9, "lower")]).mean()
    assert mean_interval_width(y, arr) == pytest.approx(width)


def test_frame_needs_three_column_levels(band):
    y, frame = band
    flat = frame.copy()
    flat.columns = [f"{a}_{b}_{c}" for a, b, c in frame.columns]
    with pytest.raises(ValueError, match=re.escape(
            "empirical_coverage: an interval DataFrame needs 3-level columns (target, "
            "coverage, 'lower'|'upper'), as predict_interval returns; got 1 level(s).")):
        empirical_coverage(y, flat)


def test_missing_coverage_is_named_with_those_present(band):
    y, frame = band
    with pytest.raises(ValueError, match=re.escape(
            "winkler_score: y_pred has no interval(s) of coverage [0.95] for target 'r'; "
            "it has [0.8, 0.9].")):
        winkler_score(y, frame, coverage=[0.9, 0.95])


def test_targets_with_different_coverages(band):
    y, frame = band
    two = pd.concat([frame, frame[["r"]].rename(columns={"r": "s"}, level=0)
                     .drop(columns=[("s", 0.8, "lower"), ("s", 0.8, "upper")])], axis=1)
    with pytest.raises(ValueError, match=re.escape(
            "mean_interval_width: targets have different coverages ([0.8, 0.9] vs [0.9]); "
            "pass coverage to choose common ones.")):
        mean_interval_width(pd.concat([y, y.rename("s")], axis=1), two)
    # choosing a common coverage works, and both targets are scored
    width = mean_interval_width(pd.concat([y, y.rename("s")], axis=1), two, coverage=0.9)
    assert width == pytest.approx((frame[("r", 0.9, "upper")]
                                   - frame[("r", 0.9, "lower")]).mean())


def test_missing_bound_column(band):
    y, frame = band
    broken = frame.drop(columns=[("r", 0.9, "upper")])
    with pytest.raises(ValueError, match=re.escape(
            "empirical_coverage: y_pred lacks a 'lower' or 'upper' column for target 'r'")):
        empirical_coverage(y, broken, coverage=0.9)


def test_array_shape_and_coverage(band):
    y, frame = band
    arr = frame.to_numpy()                                         # 4 columns
    with pytest.raises(ValueError, match=re.escape(
            f"empirical_coverage: an array y_pred must have shape (n_samples, 2), columns "
            f"lower and upper; got {arr.shape}.")):
        empirical_coverage(y, arr)
    two = arr[:, 2:]
    with pytest.raises(ValueError, match=re.escape(
            "winkler_score: y_pred is an array, so coverage (the intervals' nominal "
            "coverage) is required")):
        winkler_score(y, two)
    with pytest.raises(ValueError, match=re.escape(
            "winkler_score: an array y_pred holds one interval per row, so coverage must be "
            "one value; got [0.8, 0.9].")):
        winkler_score(y, two, coverage=[0.8, 0.9])
    assert winkler_score(y, two, coverage=0.9) > mean_interval_width(y, two)


def test_empty_crossed_and_misaligned(band):
    y, frame = band
    two = frame.to_numpy()[:, 2:]
    with pytest.raises(ValueError, match=re.escape(
            "mean_interval_width: y_pred is empty; it needs at least one row.")):
        mean_interval_width(y.iloc[:0], two[:0])
    crossed = two.copy()
    crossed[[3, 7]] = crossed[[3, 7]][:, ::-1]
    with pytest.raises(ValueError, match=re.escape(
            "empirical_coverage: 2 interval(s) have lower > upper, first at row 3. Check the "
            "column order (lower, upper).")):
        empirical_coverage(y, crossed)
    with pytest.raises(ValueError, match=re.escape(
            f"empirical_coverage: y_true has {len(y) - 1} rows but y_pred has {len(y)}.")):
        empirical_coverage(y.iloc[1:], two)
    with pytest.raises(ValueError, match=re.escape(
            "empirical_coverage: y_pred forecasts 1 target(s) ['r'] but y_true has 2 "
            "column(s).")):
        empirical_coverage(pd.concat([y, y.rename("s")], axis=1), frame, coverage=0.9)
