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
    assert search.best_params_["lstmregressor__hidden_size"] in (4, 8)
    assert np.isfinite(search.best_estimator_.predict(X.tail(20))).all()


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
    data = model._dataset(X.iloc[-1500:].to_numpy(np.float32),
                          y.iloc[-1500:].to_numpy(np.float32)[:, None, None])
    valid = model.net_.train_split(data)[1]
    score = model.net_.get_loss(model._forward(valid), valid[torch.arange(len(valid))][1]).item()
    assert score == pytest.approx(losses[best], rel=1e-4)   # ... and the best one is loaded


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
    assert model.predict(windows[-4:]).shape == (4,)
    with pytest.raises(ValueError, match="windows of 5 steps"):
        model.predict(windows[-4:, -5:])
