"""PurgedExpandingWindowSplitter on real S&P 500 closes: folds, evaluate, conformance."""

from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sktime.forecasting.model_evaluation import evaluate
from sktime.forecasting.naive import NaiveForecaster
from sktime.performance_metrics.forecasting import MeanAbsoluteError
from sktime.split import ExpandingWindowSplitter
from sktime.utils.estimator_checks import check_estimator

from skfin.datasets import load_sp500
from skfin.model_selection import PurgedExpandingWindowSplitter

# sktime 1.2 announces a change of its forecasters' remember_data default on every instance
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@lru_cache
def _close() -> pd.Series:
    return load_sp500()["Close"].reset_index(drop=True)         # count in trading days


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(horizon=st.integers(1, 30), gap=st.integers(0, 30),
       initial_window=st.integers(3000, 4800), step_length=st.integers(50, 500))
def test_training_ends_gap_before_the_test_window(horizon, gap, initial_window, step_length):
    y = _close()
    cv = PurgedExpandingWindowSplitter(horizon=horizon, initial_window=initial_window,
                                       step_length=step_length, gap=gap)
    np.testing.assert_array_equal(cv.fh, np.arange(gap + 1, gap + horizon + 1))
    cutoffs = cv.get_cutoffs(y)
    folds = list(cv.split(y))
    assert len(folds) == cv.get_n_splits(y) == len(cutoffs) > 0
    for k, ((train, test), cutoff) in enumerate(zip(folds, cutoffs)):
        np.testing.assert_array_equal(train, np.arange(initial_window + k * step_length))
        assert train[-1] == cutoff
        np.testing.assert_array_equal(test, cutoff + gap + np.arange(1, horizon + 1))
        assert test[-1] < len(y)


@pytest.mark.parametrize("horizon,gap", [(5, 0), (5, 3), ([1, 5, 20], 2)])
def test_folds_are_expanding_window_splitter_with_shifted_fh(horizon, gap):
    y = _close()
    ours = PurgedExpandingWindowSplitter(horizon=horizon, initial_window=4000,
                                         step_length=250, gap=gap)
    steps = np.arange(1, horizon + 1) if isinstance(horizon, int) else np.array(horizon)
    theirs = ExpandingWindowSplitter(fh=steps + gap, initial_window=4000, step_length=250)
    np.testing.assert_array_equal(ours.get_cutoffs(y), theirs.get_cutoffs(y))
    for (tr1, te1), (tr2, te2) in zip(ours.split(y), theirs.split(y), strict=True):
        np.testing.assert_array_equal(tr1, tr2)
        np.testing.assert_array_equal(te1, te2)


def test_evaluate_scores_the_points_after_the_gap():
    y = _close()
    cv = PurgedExpandingWindowSplitter(horizon=5, initial_window=4500, step_length=250, gap=2)
    res = evaluate(NaiveForecaster("last"), cv, y, scoring=MeanAbsoluteError(),
                   return_data=True)
    assert len(res) == 3
    for row, cutoff in zip(res.itertuples(), [4499, 4749, 4999]):
        assert row.cutoff == cutoff and row.y_train.index[-1] == cutoff
        np.testing.assert_array_equal(row.y_test.index, cutoff + np.arange(3, 8))
        np.testing.assert_array_equal(row.y_pred.index, row.y_test.index)
        # the random walk forecasts the last training close, for every step
        expected = np.mean(np.abs(y.iloc[cutoff + 3:cutoff + 8] - y.iloc[cutoff]))
        assert row.test_MeanAbsoluteError == pytest.approx(expected, rel=1e-12)


def test_set_params_and_clone_recompute_fh():
    cv = PurgedExpandingWindowSplitter(horizon=3, gap=1)
    np.testing.assert_array_equal(cv.fh, [2, 3, 4])
    cv.set_params(gap=4)
    np.testing.assert_array_equal(cv.fh, [5, 6, 7])
    np.testing.assert_array_equal(cv.clone().fh, [5, 6, 7])
    assert cv.get_params()["gap"] == 4 and "fh" not in cv.get_params()


@pytest.mark.parametrize("params,match", [
    ({"gap": -1}, "'gap' parameter .* must be an int in the range \\[0, inf\\)"),
    ({"horizon": 0}, "'horizon' parameter .* must be an int >= 1"),
    ({"horizon": [1, 1, 2]}, "list of distinct ints >= 1"),
    ({"horizon": [0.5]}, "list of distinct ints >= 1"),
])
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        PurgedExpandingWindowSplitter(**params)


def test_too_short_series_names_the_numbers():
    cv = PurgedExpandingWindowSplitter(horizon=5, initial_window=5029, gap=2)
    with pytest.raises(ValueError, match=r"`max\(fh\)`=7, but len\(y\)=5031"):
        list(cv.split(_close()))


def test_sktime_conformance():
    results = check_estimator(PurgedExpandingWindowSplitter, verbose=False)
    assert len(results) >= 40, f"only {len(results)} checks ran"      # 45 with sktime 1.x
    failed = {name: str(r)[:300] for name, r in results.items() if r != "PASSED"}
    assert not failed, failed


def test_evaluate_counts_the_folds_and_returns_sktimes_result(monkeypatch):
    """skfin's evaluate is sktime's, plus a bar that ends at the number of folds."""
    import numpy as np
    import pandas as pd
    import tqdm.auto
    from sktime.forecasting.model_evaluation import evaluate as sktime_evaluate
    from sktime.forecasting.naive import NaiveForecaster
    from sktime.split import ExpandingWindowSplitter

    from skfin.datasets import load_sp500
    from skfin.model_selection import evaluate

    counts = {}

    class Recording(tqdm.auto.tqdm):
        def close(self):                     # may run twice (exit, then garbage collection)
            counts[id(self)] = (self.n, self.total)
            super().close()

    monkeypatch.setattr(tqdm.auto, "tqdm", Recording)
    r = (100 * np.log(load_sp500()["Close"]).diff()).iloc[1:]
    X = pd.DataFrame({"dow": r.index.dayofweek.astype(float)}, index=r.index)
    cv = ExpandingWindowSplitter(fh=[1, 2], initial_window=4400, step_length=150)
    ours = evaluate(NaiveForecaster(), cv, r, X=X, strategy="update", return_data=True)
    theirs = sktime_evaluate(NaiveForecaster(), cv, r, X=X, strategy="update", return_data=True)
    assert list(counts.values()) == [(len(theirs), len(theirs))] and len(theirs) == 5
    pd.testing.assert_frame_equal(ours.drop(columns=["fit_time", "pred_time"]),
                                  theirs.drop(columns=["fit_time", "pred_time"]))
