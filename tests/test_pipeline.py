"""The DESIGN card's sklearn path, end to end on real S&P 500 data: indicators in a Pipeline in
front of a net, a time-ordered grid search, intervals and tomorrow's forecast through it."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.preprocessing import StandardScaler

from skfin.datasets import load_sp500
from skfin.pipeline import Pipeline, make_pipeline
from skfin.regressors import LSTMRegressor
from skfin.transformations import LogRatio, TechnicalIndicators


@pytest.fixture(scope="module")
def search():
    ohlcv = load_sp500().iloc[-900:]
    y = LogRatio().fit_transform(ohlcv["Close"]).shift(-1)     # next-day log return
    keep = y.notna()
    pipe = make_pipeline(TechnicalIndicators(), StandardScaler(),
                         LSTMRegressor(window=20, max_epochs=2, random_state=0))
    fitted = GridSearchCV(pipe, {"lstmregressor__hidden_size": [8, 16]},
                          cv=TimeSeriesSplit(3, gap=20)).fit(ohlcv[keep], y[keep])
    return fitted, ohlcv


def test_grid_search_keeps_the_class_and_scores_every_candidate(search):
    fitted, _ = search
    assert isinstance(fitted.best_estimator_, Pipeline)
    assert np.isfinite(fitted.cv_results_["mean_test_score"]).all()


def test_intervals_through_the_pipeline(search):
    fitted, ohlcv = search
    band = fitted.best_estimator_.predict_interval(ohlcv.tail(250), coverage=0.9)
    assert band.shape == (250, 2) and band.index.equals(ohlcv.index[-250:])
    lower, upper = band.to_numpy().T
    assert np.isfinite(band.to_numpy()).all() and (lower < upper).all()
    point = fitted.best_estimator_.predict(ohlcv.tail(250))
    assert ((lower <= point) & (point <= upper)).mean() > 0.9   # the band holds the forecast


def test_tomorrow_from_one_new_row_equals_the_full_pass(search):
    fitted, ohlcv = search
    best = fitted.best_estimator_
    assert best.predict(ohlcv.tail(1))[0] == pytest.approx(best.predict(ohlcv)[-1], abs=1e-6)
    q = best.predict_quantiles(ohlcv.tail(1), alpha=[0.05, 0.5, 0.95]).to_numpy()
    assert (np.diff(q, axis=1) > 0).all()


def test_methods_the_final_step_lacks_are_absent():
    pipe = make_pipeline(StandardScaler())
    assert not hasattr(pipe, "predict_interval") and not hasattr(pipe, "predict_quantiles")
