"""The quantile and interval scorers (``skfin.metrics._scorers``): a Pipeline of several
transformers, the exact messages and reprs, extra keyword arguments. What mutation
testing (issue 17) found unchecked by ``test_metrics.py``. Data: S&P 500 daily log
returns and ranges (features of day t) and the next day's return (target).
"""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from skfin.datasets import load_sp500
from skfin.metrics import (
    empirical_coverage,
    make_interval_scorer,
    make_quantile_scorer,
    pinball_loss,
    winkler_score,
)


def _load():
    ohlcv = load_sp500().iloc[-1201:]
    r = 100 * np.log(ohlcv["Close"]).diff()
    X = np.column_stack([r, 100 * (ohlcv["High"] - ohlcv["Low"]) / ohlcv["Close"]])[1:-1]
    y = r.to_numpy()[2:]
    return X, y


_XY = _load()                                       # read once, at collection


def _xy():
    return _XY


class ResidualQuantiles(RegressorMixin, BaseEstimator):
    """A ridge forecast plus the empirical quantiles of its training residuals."""

    def fit(self, X, y):
        self.ridge_ = Ridge(alpha=1.0).fit(X, y)
        self.resid_ = y - self.ridge_.predict(X)
        return self

    def predict(self, X):
        return self.ridge_.predict(X)

    def predict_quantiles(self, X, alpha):
        q = np.quantile(self.resid_, alpha)
        return pd.DataFrame(self.predict(X)[:, None] + q,
                            columns=pd.MultiIndex.from_product([["y"], list(alpha)]))

    def predict_interval(self, X, coverage):
        cols = {}
        for c in coverage:
            lo, hi = np.quantile(self.resid_, [(1 - c) / 2, (1 + c) / 2])
            cols[("y", c, "lower")] = self.predict(X) + lo
            cols[("y", c, "upper")] = self.predict(X) + hi
        return pd.DataFrame(cols)


def test_scorers_pass_through_every_transformer_of_a_pipeline():
    X, y = _xy()
    train, test = slice(0, 900), slice(900, None)
    pipe = make_pipeline(StandardScaler(), PolynomialFeatures(2), ResidualQuantiles())
    pipe.fit(X[train], y[train])
    # the same model built step by step, by hand
    scaler = StandardScaler().fit(X[train])
    poly = PolynomialFeatures(2).fit(scaler.transform(X[train]))
    z_train = poly.transform(scaler.transform(X[train]))
    z_test = poly.transform(scaler.transform(X[test]))
    assert z_test.shape[1] == 6                         # 1, a, b, a², ab, b²
    final = ResidualQuantiles().fit(z_train, y[train])
    levels = [0.05, 0.5, 0.95]
    expected = pinball_loss(y[test], final.predict_quantiles(z_test, levels))
    scorer = make_quantile_scorer(pinball_loss, alpha=levels)
    assert scorer(pipe, X[test], y[test]) == pytest.approx(-expected, rel=1e-12)
    scorer = make_interval_scorer(empirical_coverage, coverage=0.9, greater_is_better=True)
    band = final.predict_interval(z_test, [0.9])
    inside = np.mean((y[test] >= band.iloc[:, 0]) & (y[test] <= band.iloc[:, 1]))
    assert scorer(pipe, X[test], y[test]) == pytest.approx(inside, rel=1e-12)


def test_scorer_without_the_method_names_it():
    X, y = _xy()
    scorer = make_quantile_scorer(pinball_loss, alpha=[0.1, 0.9])
    with pytest.raises(TypeError, match="^" + re.escape(
            "make_quantile_scorer(pinball_loss, alpha=[0.1, 0.9], greater_is_better=False) "
            "needs an estimator with predict_quantiles(X, alpha=...); Ridge has none.")
            + "$"):
        scorer(Ridge().fit(X, y), X, y)
    scorer = make_interval_scorer(winkler_score, coverage=0.8)
    pipe = make_pipeline(StandardScaler(), Ridge()).fit(X, y)   # last step lacks it too
    with pytest.raises(TypeError, match="^" + re.escape(
            "make_interval_scorer(winkler_score, coverage=[0.8], greater_is_better=False) "
            "needs an estimator with predict_interval(X, coverage=...); Pipeline has none.")
            + "$"):
        scorer(pipe, X, y)


def _scaled_pinball(y_true, y_pred, *, scale):
    return scale * pinball_loss(y_true, y_pred)


def test_extra_keywords_reach_the_score_and_the_repr():
    X, y = _xy()
    model = ResidualQuantiles().fit(X[:900], y[:900])
    scorer = make_quantile_scorer(_scaled_pinball, alpha=[0.25, 0.75], scale=0.01)
    assert repr(scorer) == ("make_quantile_scorer(_scaled_pinball, alpha=[0.25, 0.75], "
                            "greater_is_better=False, scale=0.01)")
    expected = pinball_loss(y[900:], model.predict_quantiles(X[900:], [0.25, 0.75])) / 100
    assert scorer(model, X[900:], y[900:]) == pytest.approx(-expected, rel=1e-12)
    up = make_interval_scorer(empirical_coverage, coverage=[0.5, 0.9], greater_is_better=True)
    assert repr(up) == ("make_interval_scorer(empirical_coverage, coverage=[0.5, 0.9], "
                        "greater_is_better=True)")
    band = model.predict_interval(X[900:], [0.5, 0.9])
    hits = [np.mean((y[900:] >= band.iloc[:, k]) & (y[900:] <= band.iloc[:, k + 1]))
            for k in (0, 2)]
    assert up(model, X[900:], y[900:]) == pytest.approx(np.mean(hits), rel=1e-12)


def _shifted_pinball(y_true, y_pred, *, scale, shift):
    return scale * pinball_loss(y_true, y_pred) + shift


def test_two_keywords_in_the_repr_and_a_quantile_scorer_to_maximise():
    X, y = _xy()
    model = ResidualQuantiles().fit(X[:900], y[:900])
    scorer = make_quantile_scorer(_shifted_pinball, alpha=[0.5], scale=2.0, shift=-1.0)
    assert repr(scorer) == ("make_quantile_scorer(_shifted_pinball, alpha=[0.5], "
                            "greater_is_better=False, scale=2.0, shift=-1.0)")
    loss = pinball_loss(y[900:], model.predict_quantiles(X[900:], [0.5]))
    assert scorer(model, X[900:], y[900:]) == pytest.approx(-(2 * loss - 1), rel=1e-12)
    up = make_quantile_scorer(pinball_loss, alpha=[0.5], greater_is_better=True)
    assert up(model, X[900:], y[900:]) == pytest.approx(loss, rel=1e-12)   # not negated


def test_bad_levels_are_named_by_the_factory():
    with pytest.raises(ValueError, match="^" + re.escape(
            "make_quantile_scorer: alpha must be values in the open interval (0, 1); got "
            "[0.0, 0.5].") + "$"):
        make_quantile_scorer(pinball_loss, alpha=[0.0, 0.5])
    with pytest.raises(ValueError, match="^" + re.escape(
            "make_interval_scorer: coverage must be values in the open interval (0, 1); got "
            "1.0.") + "$"):
        make_interval_scorer(winkler_score, coverage=1.0)
