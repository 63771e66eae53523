"""Causality: changing a real series after time t leaves every output at or before t unchanged.

Property tests (hypothesis) over windows of real data, the time t and the change made
after t (a real series corrupted on purpose: rescaled, or its future replaced by the same
prices in reverse order). Outputs up to t must be *identical*, not merely close: rolling
windows, EWMs and forward fills only ever read earlier rows.
"""

from functools import lru_cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from skfin.datasets import load_sp500, load_wti
from skfin.transformations import HARFeatures, LogRatio, Ratio, TechnicalIndicators

N_ROWS = 260  # a window of real data per example: long enough for every warm-up
N_TRAIN = 120  # where a transformer with fitted statistics is fitted

WTI_CLOSE_ONLY = {
    "close": "WTI",
    "high": None,
    "low": None,
    "volume": None,
    "atr_windows": (),
    "stochastic": None,
    "obv": False,
    "volume_change": False,
}


@lru_cache
def _data(name):
    if name == "sp500_close":
        return load_sp500()["Close"]
    if name == "sp500_ohlcv":
        return load_sp500()
    return load_wti()


CASES = {
    "Ratio": (Ratio(), "sp500_close"),
    "LogRatio": (LogRatio(), "sp500_close"),
    "LogRatio-standardize": (LogRatio(standardize=True), "sp500_close"),
    "LogRatio-wti-ffill": (LogRatio(fill="ffill"), "wti"),
    "TechnicalIndicators": (TechnicalIndicators(), "sp500_ohlcv"),
    "TechnicalIndicators-wti-ffill": (TechnicalIndicators(**WTI_CLOSE_ONLY, fill="ffill"), "wti"),
    "HARFeatures": (HARFeatures(), "sp500_ohlcv"),
    "HARFeatures-garman_klass-log": (HARFeatures(estimator="garman_klass", log=True),
                                     "sp500_ohlcv"),
    "HARFeatures-yang_zhang": (HARFeatures(estimator="yang_zhang", yang_zhang_window=10),
                               "sp500_ohlcv"),
    "HARFeatures-wti-ffill": (HARFeatures(close="WTI", fill="ffill"), "wti"),
}


def _corrupt_after(data, t, how, factor):
    """A copy of ``data`` whose rows after position ``t`` are changed."""
    changed = data.copy()
    if how == "rescale":
        changed.iloc[t + 1 :] = data.iloc[t + 1 :].to_numpy() * factor
    else:  # the same real prices, in reverse order
        changed.iloc[t + 1 :] = data.iloc[t + 1 :].to_numpy()[::-1]
    return changed


def _prefix_unchanged(transform, data, t, how, factor):
    """Whether ``transform`` gives identical rows ``<= t`` for ``data`` and a copy
    changed after ``t``."""
    changed = _corrupt_after(data, t, how, factor)
    original, perturbed = np.asarray(transform(data)), np.asarray(transform(changed))
    return np.array_equal(original[: t + 1], perturbed[: t + 1], equal_nan=True)


def _fit_transform(transformer, data):
    # Any fitted statistic would leak the future if fitted on the whole series, so a
    # transformer that estimates one (standardize=True) is fitted once, on the first
    # rows of the real series, and then transforms both versions.
    if getattr(transformer, "standardize", False):
        return clone(transformer).fit(data.iloc[:N_TRAIN]).transform
    return lambda x: clone(transformer).fit_transform(x)


@pytest.mark.parametrize("case", list(CASES))
@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    start=st.integers(0, 4000),
    t=st.integers(0, N_ROWS - 2),
    how=st.sampled_from(["rescale", "reverse"]),
    factor=st.floats(0.5, 2.0).filter(lambda f: abs(f - 1) > 1e-3),
)
def test_outputs_up_to_t_ignore_changes_after_t(case, start, t, how, factor):
    transformer, data_name = CASES[case]
    data = _data(data_name).iloc[start : start + N_ROWS]
    assert _prefix_unchanged(_fit_transform(transformer, data), data, t, how, factor)


def test_the_property_detects_a_look_ahead():
    """The check has teeth: the DESIGN's next-day target (shift(-1)) reads the future."""
    data = _data("sp500_close").iloc[:N_ROWS]

    def target(x):
        return LogRatio().fit_transform(x).shift(-1)

    assert not _prefix_unchanged(target, data, t=100, how="rescale", factor=1.5)
    assert _prefix_unchanged(LogRatio().fit_transform, data, t=100, how="rescale", factor=1.5)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    start=st.integers(0, 4000), t=st.integers(N_TRAIN - 1, N_ROWS - 2), factor=st.floats(0.5, 2.0)
)
def test_standardisation_statistics_come_from_the_training_rows_only(start, t, factor):
    """mean_ and scale_ of LogRatio(standardize=True) only read the rows passed to fit."""
    data = _data("sp500_close").iloc[start : start + N_ROWS]
    changed = _corrupt_after(data, t, "rescale", factor)
    a = LogRatio(standardize=True).fit(data.iloc[:N_TRAIN])
    b = LogRatio(standardize=True).fit(changed.iloc[:N_TRAIN])
    np.testing.assert_array_equal(a.mean_, b.mean_)
    np.testing.assert_array_equal(a.scale_, b.scale_)
