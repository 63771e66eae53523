"""The interval and quantile metrics' input checks, message by message (issue 17: mutation
testing left most mutants of ``_interval_input`` and ``_quantile_input`` alive because no
test read these messages).

Each case corrupts a real interval (or quantile) forecast of S&P 500 log returns (a rolling
90% band) in one way and checks the exact message, naming the metric, the numbers and the
fix.
"""

import re

import numpy as np
import pandas as pd
import pytest

from skfin.datasets import load_sp500
from skfin.metrics import (
    crps_quantiles,
    empirical_coverage,
    mean_interval_width,
    pinball_loss,
    winkler_score,
)


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


# -- the quantile metrics and the checks they share with the interval ones ------------
@pytest.fixture(scope="module")
def quantiles(band):
    """The same forecasts read as quantiles: levels 0.05, 0.1, 0.9 and 0.95."""
    y, frame = band
    source = {0.05: ("r", 0.9, "lower"), 0.1: ("r", 0.8, "lower"),
              0.9: ("r", 0.8, "upper"), 0.95: ("r", 0.9, "upper")}
    return y, pd.DataFrame({("r", a): frame[col] for a, col in source.items()})


def _hand_pinball(y, q, a):
    diff = y - q
    return np.maximum(a * diff, (a - 1) * diff)


def test_quantile_forecasts_score_in_any_layout(quantiles):
    y, q = quantiles
    y_, q9 = y.to_numpy(), q[("r", 0.9)].to_numpy()
    hand = np.mean([_hand_pinball(y_, q[("r", a)].to_numpy(), a).mean() for a in q["r"]])
    assert pinball_loss(y, q) == pytest.approx(hand)
    # an array in any level order, an (n, 1) array and a 1D array for one level
    arr = q[[("r", 0.95), ("r", 0.05), ("r", 0.9), ("r", 0.1)]].to_numpy()
    assert pinball_loss(y, arr, alpha=[0.95, 0.05, 0.9, 0.1]) == pytest.approx(hand)
    one = _hand_pinball(y_, q9, 0.9).mean()
    assert pinball_loss(y, q9[:, None], alpha=0.9) == pytest.approx(one)
    assert pinball_loss(y, q9, alpha=[0.9]) == pytest.approx(one)
    # a single forecast row is a valid input
    assert pinball_loss(y.iloc[:1], q.iloc[:1], alpha=0.9) == pytest.approx(
        _hand_pinball(y_[0], q9[0], 0.9))


@pytest.mark.parametrize("alpha, shown", [
    ([0.1, 1.0], "[0.1, 1.0]"),       # 1 is outside the open interval
    (0.0, "0.0"),
    ([], "[]"),
    ([[0.1, 0.9]], "[[0.1, 0.9]]"),  # levels are a flat list
])
def test_levels_must_be_a_flat_list_in_the_open_unit_interval(quantiles, alpha, shown):
    y, q = quantiles
    with pytest.raises(ValueError, match=re.escape(
            f"pinball_loss: alpha must be values in the open interval (0, 1); got {shown}.")):
        pinball_loss(y, q[[("r", 0.1), ("r", 0.9)]].to_numpy(), alpha=alpha)
    with pytest.raises(ValueError, match=re.escape(
            f"crps_quantiles: alpha must be values in the open interval (0, 1); got {shown}.")):
        crps_quantiles(y, q, alpha=alpha)


def test_levels_repeated_or_not_numbers(quantiles):
    y, q = quantiles
    arr = q[[("r", 0.1), ("r", 0.9)]].to_numpy()
    with pytest.raises(ValueError, match=re.escape(
            "pinball_loss: alpha has repeated values: [0.9, 0.9].")):
        pinball_loss(y, arr, alpha=[0.9, 0.9])
    with pytest.raises(TypeError, match=re.escape(
            "pinball_loss: alpha must hold numbers; got list that does not convert to float "
            "(could not convert string to float: 'low').")):
        pinball_loss(y, arr, alpha=["low", "high"])


def test_frame_levels_are_checked_like_alpha(quantiles, band):
    y, q = quantiles
    q1 = q.rename(columns={0.95: 1.0}, level=1)
    with pytest.raises(ValueError, match=re.escape(
            "pinball_loss: alpha must be values in the open interval (0, 1); got array([")):
        pinball_loss(y, q1)
    _, frame = band
    c1 = frame.rename(columns={0.9: 1.0}, level=1)
    with pytest.raises(ValueError, match=re.escape(
            "empirical_coverage: coverage must be values in the open interval (0, 1); got "
            "array([")):
        empirical_coverage(y, c1)
    with pytest.raises(ValueError, match=re.escape(
            "winkler_score: coverage must be values in the open interval (0, 1); got 1.5.")):
        winkler_score(y, frame, coverage=1.5)
    with pytest.raises(ValueError, match=re.escape(
            "winkler_score: coverage must be values in the open interval (0, 1); got 0.0.")):
        winkler_score(y, frame.to_numpy()[:, 2:], coverage=0.0)


def test_quantile_frame_structure(quantiles):
    y, q = quantiles
    flat = q.copy()
    flat.columns = [f"{a}_{b}" for a, b in q.columns]
    with pytest.raises(ValueError, match=re.escape(
            "pinball_loss: a quantile DataFrame needs 2-level columns (target, alpha), as "
            "predict_quantiles returns; got 1 level(s).")):
        pinball_loss(y, flat)
    with pytest.raises(ValueError, match=re.escape(
            "pinball_loss: y_pred has no quantile(s) [0.5] for target 'r'; it has "
            "[0.05, 0.1, 0.9, 0.95]. Predict them or drop them from alpha.")):
        pinball_loss(y, q, alpha=[0.5, 0.9])
    two = pd.concat([q, q[[("r", 0.9)]].rename(columns={"r": "s"}, level=0)], axis=1)
    yy = pd.concat([y, y.rename("s")], axis=1)
    with pytest.raises(ValueError, match=re.escape(
            "crps_quantiles: targets have different quantile levels ([0.05, 0.1, 0.9, 0.95] "
            "vs [0.9]); pass alpha to choose common ones.")):
        crps_quantiles(yy, two)
    # y_true's columns are matched to the targets by name, whatever their order
    swapped = yy[["s", "r"]].assign(s=0.0)
    assert pinball_loss(swapped, two, alpha=0.9) == pytest.approx(
        (_hand_pinball(y, q[("r", 0.9)], 0.9).mean()
         + _hand_pinball(0.0, q[("r", 0.9)], 0.9).mean()) / 2)


def test_quantile_array_structure(quantiles):
    y, q = quantiles
    arr = q[[("r", 0.1), ("r", 0.9)]].to_numpy()
    with pytest.raises(ValueError, match=re.escape(
            "pinball_loss: y_pred is an array, so alpha (its quantile levels) is required; "
            "or pass the DataFrame that predict_quantiles returns.")):
        pinball_loss(y, arr)
    with pytest.raises(ValueError, match=re.escape(
            f"pinball_loss: an array y_pred must have shape (n_samples, len(alpha)) = "
            f"(n_samples, 2); got ({len(y)},).")):
        pinball_loss(y, arr[:, 0], alpha=[0.1, 0.9])
    with pytest.raises(ValueError, match=re.escape(
            f"pinball_loss: an array y_pred must have shape (n_samples, len(alpha)) = "
            f"(n_samples, 1); got ({len(y)}, 2).")):
        pinball_loss(y, arr, alpha=0.9)
    with pytest.raises(ValueError, match=re.escape(
            "pinball_loss: y_pred forecasts 1 target(s) ['y'] but y_true has 2 column(s).")):
        pinball_loss(pd.concat([y, y.rename("s")], axis=1), arr, alpha=[0.1, 0.9])
    with pytest.raises(ValueError, match=re.escape(
            f"crps_quantiles: y_true has {len(y) - 1} rows but y_pred has {len(y)}. Pass "
            "forecasts and outcomes for the same rows.")):
        crps_quantiles(y.iloc[1:], arr, alpha=[0.1, 0.9])
    for empty in (arr[:0], q.iloc[:0]):
        with pytest.raises(ValueError, match=re.escape(
                "pinball_loss: y_pred is empty; it needs at least one row.")):
            pinball_loss(y.iloc[:0], empty, alpha=[0.1, 0.9])


def test_forecasts_that_are_not_numbers(quantiles, band):
    y, q = quantiles
    bad = q.astype(object)
    bad.iloc[2, 1] = "n/a"
    convert = "that does not convert to float (could not convert string to float: 'n/a')."
    with pytest.raises(TypeError, match=re.escape(
            f"pinball_loss: y_pred must hold numbers; got DataFrame {convert}")):
        pinball_loss(y, bad)
    with pytest.raises(TypeError, match=re.escape(
            f"pinball_loss: y_pred must hold numbers; got ndarray {convert}")):
        pinball_loss(y, bad.to_numpy(), alpha=[0.05, 0.1, 0.9, 0.95])
    _, frame = band
    for bound in ("lower", "upper"):
        broken = frame.astype(object)
        broken.loc[broken.index[2], ("r", 0.9, bound)] = "n/a"
        with pytest.raises(TypeError, match=re.escape(
                f"empirical_coverage: y_pred must hold numbers; got Series {convert}")):
            empirical_coverage(y, broken)
    with pytest.raises(TypeError, match=re.escape(
            f"winkler_score: y_pred must hold numbers; got ndarray {convert}")):
        winkler_score(y, broken.to_numpy()[:, 2:], coverage=0.9)


def test_non_finite_values_are_named_by_column_and_date(quantiles, band):
    y, q = quantiles
    day = f"({y.index[3].date()})"
    fill = "Fill or drop them first"
    nan_q = q.copy()
    nan_q.iloc[3, 2] = np.nan                                       # ("r", 0.9)
    with pytest.raises(ValueError, match=re.escape(
            f"pinball_loss: y_pred contains NaN or inf: 1 value(s), first in column "
            f"('r', 0.9) at row 3 {day}. {fill}")):
        pinball_loss(y, nan_q)
    with pytest.raises(ValueError, match=re.escape(
            f"pinball_loss: y_pred contains NaN or inf: 1 value(s), first in column 0.9 at "
            f"row 3. {fill}")):
        pinball_loss(y, nan_q.to_numpy(), alpha=[0.05, 0.1, 0.9, 0.95])
    nan_y = y.copy()
    nan_y.iloc[3] = np.inf
    with pytest.raises(ValueError, match=re.escape(
            f"crps_quantiles: y_true contains NaN or inf: 1 value(s), first in column 'r' at "
            f"row 3 {day}. {fill}")):
        crps_quantiles(nan_y, q)
    _, frame = band
    # bounds of several coverages: the row and column are those of the frame
    for col in [("r", 0.8, "lower"), ("r", 0.9, "upper")]:
        nan_b = frame.copy()
        nan_b.loc[nan_b.index[3], col] = np.nan
        with pytest.raises(ValueError, match=re.escape(
                f"empirical_coverage: y_pred ({col[2]}) contains NaN or inf: 1 value(s), "
                f"first in column {col!r} at row 3 {day}. {fill}")):
            empirical_coverage(y, nan_b)
    for k, bound in enumerate(("lower", "upper")):
        arr = frame.to_numpy()[:, 2:].copy()
        arr[3, k] = np.nan
        with pytest.raises(ValueError, match=re.escape(
                f"empirical_coverage: y_pred ({bound}) contains NaN or inf: 1 value(s), first "
                f"in column {bound!r} at row 3. {fill}")):
            empirical_coverage(y, arr)


def test_interval_array_needs_coverage_and_is_one_target(band):
    y, frame = band
    with pytest.raises(ValueError, match=re.escape(
            f"got {frame.shape}. For several targets or coverages pass the DataFrame that "
            "predict_interval returns.")):
        empirical_coverage(y, frame.to_numpy())
    two = frame.to_numpy()[:, 2:]
    with pytest.raises(ValueError, match=re.escape(
            "winkler_score: y_pred is an array, so coverage (the intervals' nominal coverage) "
            "is required; or pass the DataFrame that predict_interval returns.")):
        winkler_score(y, two)
    with pytest.raises(ValueError, match=re.escape(
            "empirical_coverage: y_pred forecasts 1 target(s) ['y'] but y_true has 2 "
            "column(s).")):
        empirical_coverage(pd.concat([y, y.rename("s")], axis=1), two)


# -- two bugs found by the mutation run (fixed): a label that is not a number, and level
# lists of different lengths, each got numpy's bare error instead of the metric's -------
@pytest.mark.parametrize("kind", ["quantile", "interval"])
def test_level_labels_that_are_not_numbers(quantiles, band, kind):
    y, q = quantiles
    if kind == "quantile":
        func, arg, bad = pinball_loss, "alpha", q.rename(columns={0.95: "top"}, level=1)
    else:
        func, arg, bad = empirical_coverage, "coverage", band[1].rename(columns={0.9: "top"},
                                                                         level=1)
    with pytest.raises(TypeError, match=re.escape(
            f"{func.__name__}: {arg} must hold numbers; got ndarray that does not convert to "
            "float (could not convert string to float: 'top').")):
        func(y, bad)


def test_targets_with_level_lists_of_different_lengths(quantiles):
    y, q = quantiles
    two = pd.concat([q, q[[("r", 0.1), ("r", 0.9)]].rename(columns={"r": "s"}, level=0)],
                    axis=1)
    with pytest.raises(ValueError, match=re.escape(
            "crps_quantiles: targets have different quantile levels ([0.05, 0.1, 0.9, 0.95] "
            "vs [0.1, 0.9]); pass alpha to choose common ones.")):
        crps_quantiles(pd.concat([y, y.rename("s")], axis=1), two)

