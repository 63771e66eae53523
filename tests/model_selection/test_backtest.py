"""skfin.model_selection.backtest on real S&P 500 data: no look-ahead, evaluate's protocol."""

import warnings
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from sktime.forecasting.model_evaluation import evaluate
from sktime.forecasting.naive import NaiveForecaster
from sktime.performance_metrics.forecasting import MeanAbsoluteError
from sktime.performance_metrics.forecasting.probabilistic import EmpiricalCoverage
from sktime.split import ExpandingWindowSplitter

from skfin import metrics
from skfin.datasets import load_sp500
from skfin.model_selection import BacktestResult, backtest

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@lru_cache
def _returns():
    close = load_sp500()["Close"].reset_index(drop=True)
    return (100 * np.log(close).diff()).dropna().rename("r").iloc[-600:]


@lru_cache
def _vol():
    r = _returns()
    rv = np.sqrt((r ** 2).rolling(5).sum()).dropna().rename("rv")
    return rv, r.loc[rv.index].to_frame()


class Recorder(NaiveForecaster):
    """NaiveForecaster that logs the last index of everything it is given."""

    log = []

    def _fit(self, y, X=None, fh=None):
        Recorder.log.append(("fit", y.index.max(), None if X is None else X.index.max()))
        return super()._fit(y, X=X, fh=fh)

    def _update(self, y, X=None, update_params=True):
        Recorder.log.append(("update", y.index.max(), None if X is None else X.index.max()))
        return super()._update(y, X=X, update_params=update_params)

    def _predict(self, fh, X=None):
        Recorder.log.append(("predict", self.cutoff[0], X))
        return super()._predict(fh, X=X)


@pytest.mark.parametrize("strategy", ["update", "refit"])
def test_no_model_sees_data_after_its_cutoff(strategy):
    rv, X = _vol()
    Recorder.log = []
    res = backtest({"rec": Recorder("mean")}, rv, X, fh=3, folds=6, step=4,
                   strategy=strategy, target="volatility", progress=False)
    # (point, interval and quantile forecasts each call _predict)
    predicts = [i for i, entry in enumerate(Recorder.log) if entry[0] == "predict"]
    cutoffs = [Recorder.log[i][1] for i in predicts]
    assert sorted(set(cutoffs)) == res.folds["cutoff"].tolist()
    first_test = res.forecasts.groupby("fold")["position"].min().to_numpy()
    assert (res.folds["cutoff"].to_numpy() < rv.index[first_test]).all()
    for i, cutoff in zip(predicts, cutoffs):
        assert Recorder.log[i][2] is None                     # no X is passed to predict
        for kind, y_last, x_last in Recorder.log[:i]:
            if kind != "predict":
                assert y_last <= cutoff and (x_last is None or x_last <= cutoff)
    fits = sum(entry[0] == "fit" for entry in Recorder.log)
    assert fits >= (6 if strategy == "refit" else 1)


def test_same_folds_and_forecasts_as_sktime_evaluate():
    r = _returns()
    res = backtest({"mean": NaiveForecaster("mean")}, r, fh=5, folds=4, step=25,
                   progress=False)
    first = len(r) - 3 * 25 - 5
    cv = ExpandingWindowSplitter(fh=[1, 2, 3, 4, 5], initial_window=first, step_length=25)
    ev = evaluate(NaiveForecaster("mean"), cv, r, strategy="update", return_data=True,
                  scoring=[MeanAbsoluteError(), EmpiricalCoverage(coverage=0.9)])
    assert res.folds["cutoff"].tolist() == ev["cutoff"].tolist()
    for k, row in ev.iterrows():
        ours = res.forecasts[res.forecasts["fold"] == k]
        np.testing.assert_allclose(ours["y_pred"], row.y_pred.to_numpy())
        np.testing.assert_allclose(ours["y_true"], row.y_test.to_numpy())
        assert ours["time"].tolist() == row.y_test.index.tolist()
    np.testing.assert_allclose(res.folds["coverage_90"], ev["test_EmpiricalCoverage"])
    np.testing.assert_allclose(res.folds["mae"], ev["test_MeanAbsoluteError"])


def test_fold_scores_and_leaderboard_are_what_they_say():
    r = _returns()
    models = {"last": NaiveForecaster("last"), "mean": NaiveForecaster("mean")}
    res = backtest(models, r, fh=5, folds=6, coverage=[0.8, 0.95], progress=False)
    assert isinstance(res, BacktestResult) and res.models == ["last", "mean"]
    f = res.forecasts
    board = res.leaderboard()
    assert board.index.tolist() == ["mean", "last"]              # sorted by MAE
    for model in models:
        mine = f[f["model"] == model]
        err = mine["y_true"] - mine["y_pred"]
        assert board.loc[model, "mae"] == pytest.approx(np.mean(np.abs(err)))
        assert board.loc[model, "rmse"] == pytest.approx(np.sqrt(np.mean(err ** 2)))
        inside = (mine["y_true"] >= mine["lower_95"]) & (mine["y_true"] <= mine["upper_95"])
        assert board.loc[model, "coverage_95"] == pytest.approx(inside.mean())
        assert board.loc[model, "width_80"] == pytest.approx(
            (mine["upper_80"] - mine["lower_80"]).mean())
        hits = np.sign(mine["y_true"]) == np.sign(mine["y_pred"])
        assert board.loc[model, "direction"] == pytest.approx(hits.mean())
        # one sign strategy over the contiguous test period (step = horizon = 5)
        path = res.strategy_path(model)
        assert path["position"].tolist() == list(range(len(r) - 30, len(r)))
        assert board.loc[model, "sharpe"] == pytest.approx(
            metrics.sharpe_ratio(path["y_true"] / 100, path["y_pred"]))
        assert board.loc[model, "folds"] == 6
    assert set(res.last_fold("mean")["fold"]) == {5}
    assert (res.folds["fit_seconds"] >= 0).all() and (res.folds["predict_seconds"] > 0).all()


def test_volatility_target_scores_qlike_on_squares():
    rv, X = _vol()
    res = backtest({"last": NaiveForecaster("last")}, rv, X, fh=2, folds=5,
                   target="volatility", progress=False)
    fold = res.forecasts[res.forecasts["fold"] == 0]
    assert res.folds["qlike"].iloc[0] == pytest.approx(
        metrics.qlike(fold["y_true"] ** 2, fold["y_pred"] ** 2))
    ref = rv.iloc[res.folds["cutoff"].iloc[0] - rv.index[0]]          # level at the cutoff
    moves = np.sign(fold["y_true"] - ref) == np.sign(fold["y_pred"] - ref)
    assert res.folds["direction"].iloc[0] == pytest.approx(moves.mean())
    assert "sharpe" not in res.folds


def test_skfin_forecasters_read_observed_X_over_their_past_window_only():
    """X in a backtest is observed up to each cutoff: clones get future_X=None, also nested."""
    from sktime.forecasting.compose import TransformedTargetForecaster
    from sktime.transformations.series.boxcox import LogTransformer

    from skfin.forecasting import TFTForecaster
    from skfin.model_selection._backtest import _past_covariates_only

    tft = TFTForecaster(window=8, hidden_size=4, n_heads=1, max_epochs=1, random_state=0)
    pipe = TransformedTargetForecaster([("log", LogTransformer()), ("tft", tft)])
    assert _past_covariates_only("log_tft", pipe).get_params()["tft__future_X"] is None
    assert pipe.get_params()["tft__future_X"] == "all"                # the template is kept
    rv, X = _vol()
    res = backtest({"tft": tft, "log_tft": pipe}, rv, X, fh=2, folds=2, target="volatility",
                   progress=False)
    assert res.models == ["tft", "log_tft"] and np.isfinite(res.folds["mae"]).all()


def test_failures_are_kept_apart_with_errors_warn():
    r = _returns()

    class Broken(NaiveForecaster):
        def _update(self, y, X=None, update_params=True):
            raise RuntimeError("cannot update")

    models = {"broken": Broken(), "mean": NaiveForecaster("mean")}
    with pytest.raises(RuntimeError, match="cannot update"):
        backtest(models, r, fh=2, folds=3, progress=False)
    with pytest.warns(UserWarning, match="model 'broken' failed"):
        res = backtest(models, r, fh=2, folds=3, errors="warn", progress=False)
    assert res.models == ["mean"] and "cannot update" in res.failures["broken"]


def test_bad_settings_say_what_to_fix():
    r = _returns()
    naive = {"n": NaiveForecaster()}
    with pytest.raises(ValueError, match="need a series of 1300 observations; got 600"):
        backtest(naive, r, fh=10, folds=100, min_train_size=300, progress=False)
    with pytest.raises(ValueError, match="coverage must be one or more values"):
        backtest(naive, r, coverage=1.2, progress=False)
    with pytest.raises(ValueError, match="fh must be an int >= 1"):
        backtest(naive, r, fh=[0, 1], progress=False)
    from skfin.forecasting import LSTMForecaster

    with pytest.raises(ValueError, match=r"missing value.*\['lstm'\] cannot read them"):
        backtest({**naive, "lstm": LSTMForecaster()}, r.where(r.index != r.index[3]),
                 progress=False)
    with pytest.raises(ValueError, match="same index as y"):
        backtest(naive, r, r.iloc[:-1].to_frame(), progress=False)
    with pytest.raises(TypeError, match="non-empty dict"):
        backtest([NaiveForecaster()], r, progress=False)


def test_wti_with_its_missing_days_scores_observed_points_only():
    """Raw WTI returns (NaN on holidays and the day after) with a forecaster that reads NaN:
    the folds run on the series as loaded, and every metric uses the observed points only."""
    from skfin.datasets import load_wti
    from skfin.forecasting import NeuralCDEForecaster

    r = (100 * np.log(load_wti()).diff()).iloc[-400:]
    cde = NeuralCDEForecaster(window=10, hidden_size=4, vf_hidden=8, max_epochs=1,
                              random_state=0)
    res = backtest({"cde": cde}, r, fh=5, folds=6, progress=False)
    f = res.forecasts
    assert f["y_true"].isna().any() and f["y_pred"].notna().all()
    observed = f.dropna(subset=["y_true"])
    mae = (observed["y_true"] - observed["y_pred"]).abs().groupby(observed["fold"]).mean()
    np.testing.assert_allclose(res.folds.set_index("fold")["mae"].loc[mae.index], mae)
    inside = observed["lower_90"].le(observed["y_true"]) & observed["y_true"].le(
        observed["upper_90"])
    np.testing.assert_allclose(res.folds.set_index("fold")["coverage_90"].loc[mae.index],
                               inside.groupby(observed["fold"]).mean())
    board = res.leaderboard()
    assert board.drop(columns="sharpe").notna().all(axis=None)
