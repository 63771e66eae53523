"""Behaviour of the sklearn face on real S&P 500 data (conformance is in tests/conformance)."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfin.engine import TrainingDivergedError
from skfin.regressors import GRURegressor, LSTMRegressor, MLPRegressor
from skfin.registry import all_regressors

FAST = dict(window=10, hidden_size=8, max_epochs=2, random_state=0)


def fast(cls, **overrides):
    """``FAST`` restricted to what ``cls`` takes (attention nets size with d_model)."""
    params = cls().get_params()
    return {k: v for k, v in {**FAST, **overrides}.items() if k in params}


@pytest.fixture(scope="module")
def small(sp500_xy):
    X, y = sp500_xy
    return X.iloc[-600:], y.iloc[-600:]


def test_grid_search_in_a_pipeline(small):
    X, y = small
    pipe = make_pipeline(StandardScaler(), LSTMRegressor(**FAST))
    search = GridSearchCV(pipe, {"lstmregressor__hidden_size": [4, 8]},
                          cv=TimeSeriesSplit(3, gap=10)).fit(X, y)
    # each candidate's score, recomputed independently with cross_val_score
    from sklearn.model_selection import cross_val_score

    expected = {size: cross_val_score(make_pipeline(StandardScaler(),
                                                    LSTMRegressor(**{**FAST, "hidden_size": size})),
                                      X, y, cv=TimeSeriesSplit(3, gap=10)).mean()
                for size in (4, 8)}
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               [expected[4], expected[8]], rtol=1e-6)
    assert expected[4] != expected[8]                 # the size reached the net
    best = max(expected, key=expected.get)
    assert search.best_params_["lstmregressor__hidden_size"] == best
    refit = make_pipeline(StandardScaler(), LSTMRegressor(**{**FAST, "hidden_size": best}))
    np.testing.assert_allclose(search.best_estimator_.predict(X.tail(20)),
                               refit.fit(X, y).predict(X.tail(20)), rtol=1e-6)


@pytest.mark.parametrize("cls", all_regressors(), ids=lambda c: c.__name__)
def test_pickle_round_trip_gives_identical_predictions(cls, small):
    X, y = small
    model = cls(**fast(cls, output="quantile")).fit(X, y)
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(model.predict(X), clone.predict(X))
    pd.testing.assert_frame_equal(model.predict_interval(X), clone.predict_interval(X))


@pytest.mark.parametrize("cls", all_regressors(), ids=lambda c: c.__name__)
def test_same_random_state_gives_bit_identical_fits(cls, small):
    X, y = small
    a, b = cls(**fast(cls)).fit(X, y), cls(**fast(cls)).fit(X, y)
    for (name, pa), (_, pb) in zip(a.net_.module_.state_dict().items(),
                                   b.net_.module_.state_dict().items()):
        assert torch.equal(pa, pb), name
    c = cls(**fast(cls, random_state=1)).fit(X, y)
    assert not np.array_equal(a.predict(X), c.predict(X))


def test_fit_leaves_the_global_rng_alone(small):
    X, y = small
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    MLPRegressor(**FAST).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)


def test_feature_names_survive_fit_and_predict_warns_nothing(small):
    X, y = small
    model = MLPRegressor(**FAST).fit(X, y)
    assert list(model.feature_names_in_) == list(X.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(X.tail(20))
    with pytest.warns(UserWarning, match="feature names"):
        model.predict(X.tail(20).to_numpy())


def test_multi_horizon_y_and_interval_format(small):
    X, y = small
    Y = pd.concat({f"r+{k}": y.shift(-k + 1) for k in (1, 2, 3)}, axis=1).dropna()
    model = GRURegressor(**FAST, output="gaussian").fit(X.loc[Y.index], Y)
    assert model.predict(X.tail(5)).shape == (5, 3)
    intervals = model.predict_interval(X.tail(5), coverage=[0.8, 0.95])
    assert list(intervals.columns.get_level_values(0).unique()) == ["r+1", "r+2", "r+3"]
    assert (intervals[("r+1", 0.95, "lower")] < intervals[("r+1", 0.8, "lower")]).all()
    assert intervals.index.equals(X.tail(5).index)


@pytest.mark.parametrize("output", ["point", "quantile", "gaussian", "student_t"])
def test_every_output_gives_ordered_quantiles(small, output):
    X, y = small
    model = MLPRegressor(**FAST, output=output).fit(X, y)
    q = model.predict_quantiles(X.tail(50), alpha=[0.1, 0.5, 0.9]).to_numpy()
    assert np.isfinite(q).all() and (np.diff(q, axis=1) >= 0).all()


def test_validation_tail_early_stopping_restores_best_weights(sp500_xy):
    X, y = sp500_xy
    model = MLPRegressor(window=10, max_epochs=60, patience=3, lr=3e-3, random_state=0)
    model.fit(X.iloc[-1500:], y.iloc[-1500:])
    history = model.net_.history
    losses = history[:, "valid_loss"]
    assert len(history) < 60                        # stopped early
    best = int(np.argmin(losses))
    assert losses[best] < losses[-1]                # the last epoch was not the best ...
    valid = model.net_.train_split.positions(1500)[1]          # the validation tail's rows
    errors = model.predict(X.iloc[-1500:])[valid] - y.iloc[-1500:].to_numpy()[valid]
    assert np.mean(errors ** 2) == pytest.approx(losses[best], rel=1e-4)  # ... it is loaded


def test_quiet_by_default_and_progress_bar_when_verbose(small, capsys, tmp_path, monkeypatch):
    X, y = small
    monkeypatch.chdir(tmp_path)
    MLPRegressor(**FAST).fit(X, y)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    assert list(tmp_path.iterdir()) == []           # no files or log folders written
    MLPRegressor(**FAST, verbose=1).fit(X, y)
    assert "epoch" in capsys.readouterr().err


def test_divergence_stops_with_error_and_keeps_finite_weights(small):
    X, y = small
    model = MLPRegressor(**FAST)
    with pytest.raises(TrainingDivergedError, match="diverged.*were restored"):
        model.fit(X, y * 1e37)                      # finite in float64, squares overflow
    assert all(torch.isfinite(p).all() for p in model.net_.module_.parameters())


# -- bad input --------------------------------------------------------------------------
def test_nan_in_X_names_column_and_row(small):
    X, y = small
    X = X.copy()
    X.iloc[17, 1] = np.nan
    with pytest.raises(ValueError, match=r"column 'range' at row 17 \(2016-"):
        MLPRegressor(**FAST, missing="raise").fit(X, y)


def test_inf_in_y_is_named(small):
    X, y = small
    y = y.copy()
    y.iloc[3] = np.inf
    with pytest.raises(ValueError, match="y contains NaN or inf.*'next_r' at row 3"):
        MLPRegressor(**FAST).fit(X, y)


def test_non_numeric_column_is_named(small):
    X, y = small
    X = X.assign(ticker="SPX")
    with pytest.raises(TypeError, match=r"non-numeric column\(s\) \['ticker'\]"):
        MLPRegressor(**FAST).fit(X, y)


def test_length_mismatch(small):
    X, y = small
    with pytest.raises(ValueError, match="1 of X's index labels .* are not in y's index"):
        MLPRegressor(**FAST).fit(X, y.iloc[:-1])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        MLPRegressor(**FAST).fit(X.to_numpy(), y.iloc[:-1].to_numpy())


def test_wrong_number_of_features_at_predict(small):
    X, y = small
    model = MLPRegressor(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="X has 1 features, but MLPRegressor is expecting 2"):
        model.predict(X[["r"]].to_numpy())


def test_predict_before_fit(small):
    with pytest.raises(NotFittedError):
        LSTMRegressor().predict(small[0])


def test_bad_hyperparameter_is_named(small):
    with pytest.raises(ValueError, match="'dropout' parameter of LSTMRegressor must be"):
        LSTMRegressor(dropout=1.5).fit(*small)


def test_three_d_windows_are_accepted(small):
    X, y = small
    values = X.to_numpy()
    windows = np.stack([values[i - 9:i + 1] for i in range(9, len(values))])
    model = MLPRegressor(**FAST).fit(windows, y.iloc[9:])
    pred = model.predict(windows[-4:])
    assert pred.shape == (4,)
    # each window is one sample: its forecast does not depend on the others passed with it
    np.testing.assert_allclose([model.predict(w[None])[0] for w in windows[-4:]], pred,
                               rtol=1e-5, atol=1e-6)
    # and the whole window is read: changing its oldest step changes the forecast
    older = windows[-4:].copy()
    older[:, 0] = windows[:4, 0]
    assert not np.allclose(model.predict(older), pred)
    with pytest.raises(ValueError, match="windows of 5 steps"):
        model.predict(windows[-4:, -5:])


# -- sample weights ---------------------------------------------------------------------
def _windows(X, y, window):
    """Pre-built windows ``[n, window, F]`` of the rows of X and the target of each."""
    values = X.to_numpy(np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(values, window, axis=0)
    return np.ascontiguousarray(windows.transpose(0, 2, 1)), y.to_numpy()[window - 1:]


# One batch, no validation tail, no dropout: a fit is then a deterministic function of the
# set of samples, so fits on different but equivalent sets can be compared.
EXACT = dict(window=10, hidden_size=8, d_model=8, max_epochs=2, batch_size=4096, dropout=0.0,
             valid_fraction=0.0, patience=None, uncertainty="head", random_state=0)

NOT_EQUIVALENT = {
    "CNNLSTMRegressor": "BatchNorm's batch statistics also read the zero-weight samples",
    "MultiTaskRegressor": "MultiTaskNet.auxiliary_loss takes no sample weights (warned)",
}


@pytest.mark.parametrize("cls", [
    pytest.param(cls, marks=pytest.mark.xfail(strict=True, reason=NOT_EQUIVALENT[cls.__name__]))
    if cls.__name__ in NOT_EQUIVALENT else cls
    for cls in all_regressors()], ids=lambda c: c.__name__)
def test_integer_weights_equal_repeated_windows_and_zero_equals_removed(cls, sp500_xy):
    """Weights 0..3 on real windows fit like the windows repeated 0..3 times."""
    X, y = sp500_xy
    windows, target = _windows(X.iloc[-300:], y.iloc[-300:], 10)
    weight = np.ones(len(target), dtype=int)
    weight[50:120] = 0                                      # a block left out
    weight[200:230] = 3                                     # a block counted thrice
    params = {k: v for k, v in EXACT.items() if k in cls().get_params()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)        # MultiTask's auxiliary loss
        weighted = cls(**params).fit(windows, target, sample_weight=weight).predict(windows)
    repeated = cls(**params).fit(np.repeat(windows, weight, axis=0),
                                 np.repeat(target, weight)).predict(windows)
    unweighted = cls(**params).fit(windows, target).predict(windows)
    np.testing.assert_allclose(weighted, repeated, rtol=0, atol=2e-6)
    assert np.abs(unweighted - repeated).max() > 1e-4      # the weights did change the fit


def test_unit_or_constant_weights_fit_like_no_weights_to_the_bit(small):
    X, y = small
    plain = LSTMRegressor(**FAST).fit(X, y).predict(X)
    for weight in (np.ones(len(y)), np.full(len(y), 2.5), pd.Series(1.0, index=y.index)):
        np.testing.assert_array_equal(
            LSTMRegressor(**FAST).fit(X, y, sample_weight=weight).predict(X), plain)


def test_validation_loss_is_the_weighted_mean_of_the_tail(small):
    X, y = small
    weight = np.where(np.arange(len(y)) % 3 == 0, 0.0, 1.0 + np.arange(len(y)) / len(y))
    model = MLPRegressor(**FAST, patience=None).fit(X, y, sample_weight=weight)
    valid = model.net_.train_split.positions(len(y))[1]         # the validation tail's rows
    w = weight[valid]
    truth = y.to_numpy(np.float32)[valid]                        # what the net trained on
    point = model.predict(X)[valid]
    squared = (point - truth) ** 2
    weighted, unweighted = np.sum(w * squared) / np.sum(w), squared.mean()
    recorded = model.net_.history[-1, "valid_loss"]
    assert recorded == pytest.approx(weighted, rel=1e-5)
    assert recorded != pytest.approx(unweighted, rel=1e-3)
    # Point-model intervals are calibrated on the tail's samples with positive weight.
    residuals = truth - point
    assert 0 < (w > 0).sum() < len(w)
    np.testing.assert_allclose(model.residuals_[:, 0, 0], residuals[w > 0], rtol=1e-6,
                               atol=1e-6)


def test_warm_up_rows_drop_their_weights(sp500):
    from skfin.transformations import TechnicalIndicators

    X = TechnicalIndicators().fit_transform(sp500).iloc[:700]
    y = (100 * np.log(sp500["Close"]).diff().shift(-1)).loc[X.index].fillna(0.0)
    lead = int(X.notna().all(axis=1).to_numpy().argmax())
    assert lead > 0                                          # the indicators' warm-up
    weight = np.linspace(0.5, 2.0, len(y))
    other = weight.copy()
    other[:lead] = 100.0                                     # only warm-up rows differ
    scaled = (X - X.mean()) / X.std()
    a = MLPRegressor(**FAST).fit(scaled, y, sample_weight=weight)
    b = MLPRegressor(**FAST).fit(scaled, y, sample_weight=other)
    assert a.n_warmup_ == lead
    np.testing.assert_array_equal(a.predict(scaled), b.predict(scaled))
    only_warm_up = np.zeros(len(y))
    only_warm_up[:lead] = 1.0
    with pytest.raises(ValueError,
                       match=rf"once the {lead} leading rows with missing values \(warm-up\)"):
        MLPRegressor(**FAST).fit(scaled, y, sample_weight=only_warm_up)


def test_bad_sample_weights_are_refused(small):
    X, y = small
    model = MLPRegressor(**FAST)
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        model.fit(X, y, sample_weight=np.r_[-1.0, np.ones(len(y) - 1)])
    with pytest.raises(ValueError, match="Input sample_weight contains NaN"):
        model.fit(X, y, sample_weight=np.r_[np.nan, np.ones(len(y) - 1)])
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(599,\), expected \(600,\)"):
        model.fit(X, y, sample_weight=np.ones(len(y) - 1))
    with pytest.raises(ValueError, match="at least one non-zero"):
        model.fit(X, y, sample_weight=np.zeros(len(y)))
    recent_only = np.r_[np.zeros(len(y) - 125), np.ones(125)]   # tail 120, gap 10
    with pytest.raises(ValueError, match="training samples .* are zero .* lower valid_fraction"):
        model.fit(X, y, sample_weight=recent_only)
    old_only = np.r_[np.ones(len(y) - 150), np.zeros(150)]
    with pytest.raises(ValueError, match="validation tail .* are zero.*valid_fraction=0"):
        model.fit(X, y, sample_weight=old_only)
    MLPRegressor(**FAST, valid_fraction=0.0).fit(X, y, sample_weight=old_only)   # fine


def test_sample_weight_through_a_pipeline_and_multitask_warning(small):
    from skfin.regressors import MultiTaskRegressor

    X, y = small
    weight = pd.Series(np.linspace(0.5, 1.5, len(y)), index=y.index)
    pipe = make_pipeline(StandardScaler(), LSTMRegressor(**FAST))
    pipe.fit(X, y, lstmregressor__sample_weight=weight)
    plain = make_pipeline(StandardScaler(), LSTMRegressor(**FAST)).fit(X, y)
    assert not np.array_equal(pipe.predict(X), plain.predict(X))
    with pytest.warns(UserWarning, match="auxiliary loss that takes no sample weights"):
        MultiTaskRegressor(**FAST).fit(X, y, sample_weight=weight.to_numpy())


# -- warm start and partial_fit ---------------------------------------------------------
def test_warm_start_continues_from_the_fitted_weights(small):
    X, y = small
    model = LSTMRegressor(**FAST, patience=None).fit(X, y)
    fitted = {k: v.clone() for k, v in model.net_.module_.state_dict().items()}
    steps = model.net_.optimizer_.state_dict()["state"][0]["step"].item()
    # One more epoch at a vanishing learning rate: a warm start stays where it was ...
    model.set_params(warm_start=True, max_epochs=1, lr=1e-12).fit(X, y)
    assert len(model.net_.history) == 3                       # 2 epochs + 1 more
    assert model.net_.optimizer_.state_dict()["state"][0]["step"].item() == 1.5 * steps
    for name, value in model.net_.module_.state_dict().items():
        torch.testing.assert_close(value, fitted[name], rtol=0, atol=1e-6)
    assert model.net_.optimizer_.param_groups[0]["lr"] == 1e-12   # the new settings
    # ... while a cold start re-initialises.
    model.set_params(warm_start=False).fit(X, y)
    assert len(model.net_.history) == 1
    moved = max((model.net_.module_.state_dict()[k] - v).abs().max().item()
                for k, v in fitted.items())
    assert moved > 1e-2


def test_warm_start_keeps_the_fitted_shape_or_says_why_not(small):
    X, y = small
    model = GRURegressor(**FAST, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="X has 1 features, but GRURegressor is expecting 2 "
                                         "features as input: warm_start=True continues"):
        model.fit(X[["r"]], y)
    with pytest.raises(ValueError, match="feature names should match"):
        model.fit(X.rename(columns={"range": "hl"}), y)
    with pytest.raises(ValueError, match=r"y has 2 column\(s\) \(horizon steps\), but "
                                         "GRURegressor was fitted with 1"):
        model.fit(X, pd.concat({"r+1": y, "r+2": y}, axis=1))
    with pytest.raises(ValueError, match="fitted on windows of 10 rows, but window=20"):
        model.set_params(window=20).fit(X, y)
    with pytest.raises(ValueError, match=r"architecture would change \(hidden_size: 8 -> 16\)"):
        model.set_params(window=10, hidden_size=16).fit(X, y)
    model.set_params(hidden_size=8).fit(X, y)                    # restored: continues
    assert len(model.net_.history) == 4
    with pytest.raises(ValueError, match="'warm_start' parameter of GRURegressor must be"):
        GRURegressor(warm_start="yes").fit(X, y)


def test_refit_with_another_window_uses_it():
    """set_params(window=...) takes effect at the next (cold) fit."""
    from skfin.datasets import load_vix

    vix = np.log(load_vix().ffill().to_numpy())[-400:]
    model = MLPRegressor(**FAST).fit(vix[:-1, None], vix[1:])
    model.set_params(window=5).fit(vix[:-1, None], vix[1:])
    assert model.window_ == 5 and model.net_.module_.body[0].in_features == 5


def _range_xy(sp500_xy):
    """Today's return and range -> tomorrow's range (volatility clusters: learnable)."""
    X, _ = sp500_xy
    return X.iloc[-1001:-1], X["range"].iloc[-1000:].set_axis(X.index[-1001:-1])


def test_two_partial_fits_lower_the_training_loss_on_sp500(sp500_xy):
    X, y = _range_xy(sp500_xy)
    model = LSTMRegressor(window=10, hidden_size=8, random_state=0)

    def mse():
        return float(np.mean((model.predict(X) - y.to_numpy()) ** 2))

    model.partial_fit(X, y)
    once = mse()
    model.partial_fit(X, y)
    twice = mse()
    history = model.net_.history[:, "train_loss"]
    assert len(history) == 2 and history[1] < history[0]
    assert twice < 0.9 * once


def test_partial_fit_starts_fresh_then_continues_without_reinitialising(sp500_xy):
    X, y = _range_xy(sp500_xy)
    first = MLPRegressor(window=10, random_state=0).partial_fit(X, y)
    again = MLPRegressor(window=10, random_state=0).partial_fit(X, y)
    for (name, a), (_, b) in zip(first.net_.module_.state_dict().items(),
                                 again.net_.module_.state_dict().items()):
        assert torch.equal(a, b), name                         # seeded first call
    net = first.net_
    first.partial_fit(X.iloc[-300:], y.iloc[-300:])
    assert first.net_ is net and len(net.history) == 2        # same engine, one more epoch
    assert "valid_loss" not in net.history[-1]                 # no validation tail
    with pytest.raises(ValueError, match="X has 1 features, but MLPRegressor is expecting 2 "
                                         "features as input: partial_fit continues"):
        first.partial_fit(X[["r"]], y)
    first.fit(X, y)                                            # fit starts over
    assert first.net_ is not net and "valid_loss" in first.net_.history[-1]


def test_partial_fit_on_consecutive_chunks_reads_windows_across_the_boundary(sp500_xy,
                                                                             monkeypatch):
    X, y = _range_xy(sp500_xy)
    cut = 600
    model = GRURegressor(window=10, hidden_size=8, random_state=0).partial_fit(X[:cut], y[:cut])
    seen = {}
    train = type(model)._train_partial

    def spy(self, dataset, epochs, **shape):
        seen["dataset"] = dataset
        return train(self, dataset, epochs, **shape)

    monkeypatch.setattr(type(model), "_train_partial", spy)
    model.partial_fit(X[cut:], y[cut:])
    x, target = seen["dataset"][[0]]
    # The new chunk's first window ends at its first row and starts 9 rows back, in chunk 1.
    torch.testing.assert_close(x[0].cpu(), torch.tensor(X.iloc[cut - 9:cut + 1].to_numpy(),
                                                        dtype=torch.float32))
    assert float(target[0, 0, 0]) == pytest.approx(y.iloc[cut])
    assert len(seen["dataset"]) == len(X) - cut                # samples: the new rows only
    # Both chunks are kept as context: predictions do not depend on how many rows are passed.
    assert model._fit_index.equals(X.index)
    np.testing.assert_allclose(model.predict(X.iloc[cut:cut + 5]),
                               model.predict(X.iloc[:cut + 5])[-5:], rtol=1e-5)
    # The same chunk again (arrays, no index): replaced, not appended.
    arrays = GRURegressor(window=10, hidden_size=8, random_state=0)
    for _ in range(3):
        arrays.partial_fit(X.to_numpy()[:cut], y.to_numpy()[:cut])
    assert len(arrays._fit_rows) == cut and len(arrays.net_.history) == 3


def test_incremental_training_leaves_the_global_rng_alone(small):
    X, y = small
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    model = MLPRegressor(**FAST).partial_fit(X, y).partial_fit(X, y)
    model.set_params(warm_start=True).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)


def test_the_sklearn_face_does_not_import_sktime():
    """sktime costs about an ``import torch``; its trading-day shim waits until it is used."""
    import subprocess
    import sys

    code = """
import sys
from skfin.datasets import load_msft
from skfin.regressors import LSTMRegressor
assert not [m for m in sys.modules if m.startswith("sktime")], "sktime was imported"
from sktime.forecasting.naive import NaiveForecaster   # imported later: still patched
from sktime.forecasting.base import ForecastingHorizon
assert ForecastingHorizon.to_absolute_int._skfin_trading_days
close = load_msft()["Close"].iloc[-300:]
days = NaiveForecaster().fit(close, fh=[1, 2]).predict().index.strftime("%a %d %b").tolist()
assert days == ["Mon 13 Nov", "Tue 14 Nov"], days
"""
    subprocess.run([sys.executable, "-c", code], check=True)
