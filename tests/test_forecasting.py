"""Behaviour of the sktime face on real data (conformance is in tests/conformance)."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sktime.forecasting.model_evaluation import evaluate
from sktime.performance_metrics.forecasting import MeanAbsoluteError
from sktime.split import ExpandingWindowSplitter

from skfin.datasets import load_airline, load_wti
from skfin.forecasting import GRUForecaster, LSTMForecaster, MLPForecaster

FAST = dict(window=10, hidden_size=8, max_epochs=3, random_state=0)


def test_evaluate_with_update_runs_and_scores_are_finite(sp500_returns):
    y = sp500_returns.iloc[-700:]
    cv = ExpandingWindowSplitter(fh=[1, 2, 3], initial_window=500, step_length=50)
    res = evaluate(LSTMForecaster(**FAST), cv, y, strategy="update",
                   scoring=MeanAbsoluteError())
    assert len(res) == 4
    assert np.isfinite(res["test_MeanAbsoluteError"]).all()


def test_update_fine_tunes_from_current_weights(sp500_returns):
    y = sp500_returns.iloc[-600:]
    f = MLPForecaster(**FAST, update_epochs=1).fit(y.iloc[:500], fh=[1, 2])
    epochs = len(f.net_.history)
    before = f.predict()
    f.update(y.iloc[500:550])
    assert len(f.net_.history) == epochs + 1           # one more epoch, no refit
    assert f.cutoff[0] == y.index[549]
    after = f.predict()
    assert after.index[0] == y.index[550] and not np.allclose(before.to_numpy(), after.to_numpy())


def test_update_without_epochs_keeps_weights(sp500_returns):
    y = sp500_returns.iloc[-600:]
    f = MLPForecaster(**FAST, update_epochs=0).fit(y.iloc[:500], fh=[1])
    w = [p.detach().clone() for p in f.net_.module_.parameters()]
    f.update(y.iloc[500:550])
    assert all((a == b).all() for a, b in zip(w, f.net_.module_.parameters()))


def test_exogenous_and_multivariate(sp500, sp500_returns):
    y = sp500_returns.iloc[-400:].to_frame()
    y["range"] = (100 * (sp500["High"] - sp500["Low"]) / sp500["Close"]).to_numpy()[-400:]
    X = pd.DataFrame({"volume": np.log(sp500["Volume"].to_numpy()[-400:])}, index=y.index)
    # Volume is observed, not known ahead: a past covariate (future_X=None).
    f = GRUForecaster(**FAST, output="student_t", future_X=None).fit(y, X=X, fh=[1, 2, 3])
    pred = f.predict(X=X.iloc[-3:].set_axis(range(400 + y.index[0], 403 + y.index[0])))
    assert pred.shape == (3, 2) and list(pred.columns) == ["r", "range"]
    pd.testing.assert_frame_equal(pred, f.predict())          # rows after the cutoff unread
    q = f.predict_quantiles(alpha=[0.1, 0.9], X=None)
    assert q.shape == (3, 4) and (q[("r", 0.1)] < q[("r", 0.9)]).all()


def test_intervals_are_in_the_units_of_y():
    y = load_airline()
    f = MLPForecaster(window=24, max_epochs=30, random_state=0, output="quantile").fit(
        y.iloc[:-12], fh=list(range(1, 13)))
    band = f.predict_interval(coverage=0.9)
    middle = band.mean(axis=1)
    assert middle.between(200, 900).all()          # passengers in thousands, not z-scores
    assert (band.iloc[:, 0] < band.iloc[:, 1]).all()


def test_pickle_round_trip(sp500_returns):
    f = LSTMForecaster(**FAST).fit(sp500_returns.iloc[-300:], fh=[1, 2])
    pd.testing.assert_series_equal(f.predict(), pickle.loads(pickle.dumps(f)).predict())


# -- bad input --------------------------------------------------------------------------
def test_too_short_series_says_required_length(sp500_returns):
    with pytest.raises(ValueError, match=r"window \+ max\(fh\) = 10 \+ 5 = 15 observations.*got 12"):
        MLPForecaster(**FAST).fit(sp500_returns.iloc[:12], fh=[1, 5])


def test_nan_names_the_first_bad_date():
    wti = load_wti().asfreq("B")
    with pytest.raises(ValueError, match=r"column 'WTI' at row \d+ \(1986-"):
        MLPForecaster(**FAST).fit(wti.iloc[:300], fh=[1])


def test_dates_that_are_not_trading_days_get_a_fix(sp500):
    y = sp500["Close"].iloc[-300:].copy()
    dates = y.index.tolist()
    dates[100] = dates[100] + pd.offsets.Week(weekday=5)         # a Saturday: no calendar fits
    y.index = pd.DatetimeIndex(sorted(dates))
    with pytest.raises(ValueError, match=r"without a frequency that skfin could infer.*"
                                         r"with_trading_days"):
        MLPForecaster(**FAST).fit(y, fh=[1])


def test_unsorted_or_duplicated_index(sp500_returns):
    y = sp500_returns.iloc[-200:]
    shuffled = y.sample(frac=1.0, random_state=0)
    with pytest.raises(ValueError, match=r"not sorted: .* at position \d+ comes after .*sort_index"):
        MLPForecaster(**FAST).fit(shuffled, fh=[1])
    with pytest.raises(ValueError, match=r"duplicated time stamps \(first: 5026\)"):
        MLPForecaster(**FAST).fit(pd.concat([y, y.iloc[-5:]]), fh=[1])


def test_fh_beyond_fitted_horizon(sp500_returns):
    """Steps within the fitted horizon are served; beyond it, skfin says how to fix it."""
    f = MLPForecaster(**FAST).fit(sp500_returns.iloc[-300:], fh=[1, 2])
    assert len(f.predict(fh=[2])) == 1
    with pytest.raises(ValueError, match=r"max\(fh\)=5 exceeds horizon=2.*refit"):
        f.predict(fh=[5])


def test_in_sample_fh_is_refused(sp500_returns):
    with pytest.raises(NotImplementedError, match="can not perform in-sample prediction"):
        MLPForecaster(**FAST).fit(sp500_returns.iloc[-300:], fh=[0, 1])


def test_predict_before_fit():
    from sktime.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        LSTMForecaster().predict(fh=[1])
