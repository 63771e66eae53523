"""Ratio and LogRatio on real prices: definition, round trips, sktime forecasting, errors."""

import pickle
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sktime.forecasting.compose import TransformedTargetForecaster
from sktime.forecasting.model_evaluation import evaluate
from sktime.forecasting.naive import NaiveForecaster
from sktime.split import ExpandingWindowSplitter

from skfin.datasets import load_sp500, load_wti
from skfin.transformations import LogRatio, Ratio

# sktime 1.2 announces a change of its forecasters' remember_data default on every instance
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@lru_cache
def _ohlcv():
    return load_sp500()


def ohlcv():
    return _ohlcv().copy()


def close():
    return ohlcv()["Close"]


def wti():
    return load_wti()


def assert_relative(actual, expected, rtol=1e-10):
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0)


# ------------------------------------------------------------------------- definition
def test_log_ratio_is_log_of_price_ratio_with_nan_first_row():
    y = close()
    out = LogRatio().fit_transform(y)
    assert isinstance(out, pd.Series) and out.index.equals(y.index) and out.name == "Close"
    assert np.isnan(out.iloc[0])
    assert_relative(out.iloc[1:], np.log(y.to_numpy()[1:] / y.to_numpy()[:-1]), rtol=1e-12)


def test_ratio_is_price_ratio():
    y = close()
    out = Ratio().fit_transform(y)
    assert_relative(out.iloc[1:], y.to_numpy()[1:] / y.to_numpy()[:-1], rtol=1e-14)


def test_design_target_alignment():
    """DESIGN's usage: next-day log return aligned with the features of day t."""
    y = close()
    target = LogRatio().fit_transform(y).shift(-1)
    assert target.index.equals(y.index)
    assert target.notna().sum() == len(y) - 1 and np.isnan(target.iloc[-1])
    assert target.iloc[0] == pytest.approx(np.log(y.iloc[1] / y.iloc[0]), rel=1e-14)


def test_warmup_drop_removes_only_the_first_row():
    y = close()
    out = LogRatio(warmup="drop").fit_transform(y)
    assert out.index.equals(y.index[1:]) and out.notna().all()


def test_standardize_uses_training_statistics_only():
    y = close()
    train = y.iloc[:3000]
    lr = LogRatio(standardize=True).fit(train)
    raw_train = np.log(train / train.shift(1)).dropna()
    assert lr.mean_[0] == pytest.approx(raw_train.mean(), rel=1e-12)
    assert lr.scale_[0] == pytest.approx(raw_train.std(ddof=0), rel=1e-12)
    out = lr.transform(y)
    raw = np.log(y / y.shift(1))
    assert_relative(out.iloc[1:], ((raw - raw_train.mean()) / raw_train.std(ddof=0)).iloc[1:], 1e-9)
    # the test period's returns do not move the statistics
    lr.update(y.iloc[3000:])
    assert lr.mean_[0] == pytest.approx(raw_train.mean(), rel=1e-12)


def test_multicolumn_frame_is_transformed_per_column():
    prices = ohlcv()[["Open", "High", "Low", "Close"]]
    out = LogRatio().fit_transform(prices)
    assert list(out.columns) == ["Open", "High", "Low", "Close"]
    assert_relative(out.iloc[1:], np.log(prices / prices.shift(1)).iloc[1:], 1e-12)


# ------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("cls", [Ratio, LogRatio])
@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("kind", ["series", "frame", "array"])
def test_round_trip_on_real_prices(cls, standardize, kind):
    data = {
        "series": close(),
        "frame": ohlcv()[["Open", "High", "Low", "Close", "Adj Close"]],
        "array": ohlcv()[["Close", "Adj Close"]].to_numpy(),
    }[kind]
    transformer = cls(standardize=standardize)
    back = transformer.inverse_transform(transformer.fit_transform(data))
    assert type(back) is type(data)
    assert_relative(back, data)


@pytest.mark.parametrize("cls", [Ratio, LogRatio])
def test_round_trip_with_dropped_first_row_is_anchored_on_it(cls):
    y = close()
    transformer = cls(warmup="drop")
    back = transformer.inverse_transform(transformer.fit_transform(y))
    assert back.index.equals(y.index[1:])
    assert_relative(back, y.iloc[1:])


@pytest.mark.parametrize("cls", [Ratio, LogRatio])
def test_round_trip_with_ffill_returns_the_filled_prices(cls):
    """Holidays come back as the carried-forward price; leading missing prices (nothing
    to carry) stay NaN, and the chain restarts at the first observed price."""
    y = wti().iloc[25:400].copy()
    y.iloc[:3] = np.nan
    transformer = cls(fill="ffill")
    back = transformer.inverse_transform(transformer.fit_transform(y))
    assert back.iloc[:3].isna().all()
    assert_relative(back.iloc[3:], y.ffill().iloc[3:])


def test_transform_of_later_rows_continues_from_the_fitted_prices():
    y = close()
    train, test = y.iloc[:4000], y.iloc[4000:]
    lr = LogRatio(standardize=True).fit(train)
    out = lr.transform(test)
    assert not np.isnan(out.iloc[0])  # no new first row: the last fitted price is used
    expected = (np.log(test.iloc[0] / train.iloc[-1]) - lr.mean_[0]) / lr.scale_[0]
    assert out.iloc[0] == pytest.approx(expected, rel=1e-12)
    assert_relative(lr.inverse_transform(out), test)  # anchored on train.iloc[-1]


def test_inverse_of_future_rows_chains_from_the_anchor_and_update_moves_it():
    y = close().reset_index(drop=True)
    lr = LogRatio().fit(y.iloc[:4000])
    assert lr.anchor_[0] == y.iloc[3999]
    future = pd.Series([0.01, -0.02, 0.005], index=pd.RangeIndex(4000, 4003), name="Close")
    levels = lr.inverse_transform(future)
    assert_relative(levels, y.iloc[3999] * np.exp(np.cumsum(future.to_numpy())))
    lr.update(y.iloc[4000:4100])
    assert lr.anchor_[0] == y.iloc[4099]
    future.index = pd.RangeIndex(4100, 4103)
    assert_relative(lr.inverse_transform(future), y.iloc[4099] * np.exp(np.cumsum(future)))


def test_pickled_transformer_inverts_the_same():
    y = close()
    lr = LogRatio(standardize=True).fit(y.iloc[:2000])
    restored = pickle.loads(pickle.dumps(lr))
    z = lr.transform(y.iloc[2000:2100])
    pd.testing.assert_series_equal(restored.inverse_transform(z), lr.inverse_transform(z))


# --------------------------------------------------------------- sktime forecasting
def _ttf(transformer, forecaster=None):
    return TransformedTargetForecaster(
        [("ratio", transformer), ("forecaster", forecaster or NaiveForecaster(strategy="last"))]
    )


@pytest.mark.parametrize("warmup", ["nan", "drop"])
def test_naive_last_on_log_returns_forecasts_the_last_return_compounded(warmup):
    """NaiveForecaster('last') on log returns repeats the last return r_T, so the price
    forecast is P_T * exp(h * r_T) (not P_T: that is naive on prices)."""
    y = close().reset_index(drop=True).iloc[:4000]
    f = _ttf(LogRatio(warmup=warmup)).fit(y, fh=[1, 2, 3, 4, 5])
    last_return = np.log(y.iloc[-1] / y.iloc[-2])
    assert_relative(f.predict(), y.iloc[-1] * np.exp(np.arange(1, 6) * last_return))


def test_naive_last_on_ratios_compounds_the_last_ratio():
    y = close().reset_index(drop=True).iloc[:4000]
    f = _ttf(Ratio(standardize=True)).fit(y, fh=[1, 2, 3])
    assert_relative(f.predict(), y.iloc[-1] * (y.iloc[-1] / y.iloc[-2]) ** np.arange(1, 4))


@pytest.mark.parametrize("standardize", [False, True])
def test_prediction_intervals_come_back_in_price_levels(standardize):
    y = close().reset_index(drop=True).iloc[:4000]
    fh = [1, 2, 3, 4, 5]
    f = _ttf(LogRatio(standardize=standardize, warmup="drop")).fit(y, fh=fh)
    bands = f.predict_interval(coverage=[0.8, 0.95])
    # the inner forecaster's bands on the (standardised) log-return scale
    lr = LogRatio(standardize=standardize, warmup="drop")
    inner = NaiveForecaster(strategy="last").fit(lr.fit_transform(y), fh=fh)
    inner_bands = inner.predict_interval(coverage=[0.8, 0.95])
    scale = lr.scale_[0] if standardize else 1.0
    shift = lr.mean_[0] if standardize else 0.0
    for column in inner_bands.columns:
        log_path = np.cumsum(inner_bands[column].to_numpy() * scale + shift)
        assert_relative(bands[column], y.iloc[-1] * np.exp(log_path))
    point = f.predict()
    for coverage in (0.8, 0.95):
        assert (bands[("Close", coverage, "lower")] < point).all()
        assert (point < bands[("Close", coverage, "upper")]).all()
    assert (bands[("Close", 0.95, "lower")] < bands[("Close", 0.8, "lower")]).all()
    assert (bands > 0).all().all()
    # one step ahead, exp is monotone: the bounds are exact price quantiles
    quantiles = f.predict_quantiles(alpha=[0.05, 0.5, 0.95])
    inner_q = inner.predict_quantiles(alpha=[0.05, 0.5, 0.95])
    assert_relative(
        quantiles.iloc[0], y.iloc[-1] * np.exp(inner_q.iloc[0].to_numpy() * scale + shift)
    )


def test_update_moves_the_anchor_in_transformed_target_forecaster():
    y = close().reset_index(drop=True)
    f = _ttf(LogRatio(standardize=True)).fit(y.iloc[:4000], fh=[1, 2, 3])
    mean = f.steps_[0][1].mean_.copy()
    f.update(y.iloc[4000:4250])
    last_return = np.log(y.iloc[4249] / y.iloc[4248])
    assert_relative(f.predict(), y.iloc[4249] * np.exp(np.arange(1, 4) * last_return))
    np.testing.assert_array_equal(f.steps_[0][1].mean_, mean)  # not re-estimated


def test_walk_forward_evaluate_with_update_strategy():
    """DESIGN's evaluate(..., strategy="update"): every fold is in price levels."""
    y = close().reset_index(drop=True).iloc[-700:]
    cv = ExpandingWindowSplitter(fh=[1, 2, 3], initial_window=500, step_length=100)
    results = evaluate(_ttf(LogRatio()), cv, y, strategy="update", return_data=True)
    assert len(results) == 2
    for _, fold in results.iterrows():
        train, pred = fold["y_train"], fold["y_pred"]
        last_return = np.log(train.iloc[-1] / train.iloc[-2])
        assert_relative(pred, train.iloc[-1] * np.exp(np.arange(1, 4) * last_return))


def test_wti_with_holidays_forecasts_on_business_days():
    y = wti()
    f = _ttf(LogRatio(fill="ffill"), NaiveForecaster(strategy="mean")).fit(y, fh=[1, 2])
    pred = f.predict()
    assert list(pred.index) == list(pd.to_datetime(["2019-01-04", "2019-01-07"]))
    assert (pred > 0).all()


def test_forecast_horizon_with_gaps_is_refused():
    y = close().reset_index(drop=True).iloc[:1000]
    f = _ttf(LogRatio()).fit(y, fh=[2, 5])
    with pytest.raises(ValueError, match="consecutive periods"):
        f.predict()


# ------------------------------------------------------------------ missing data
def test_fill_raise_names_the_first_missing_date():
    with pytest.raises(ValueError, match=r"NaN \(first missing value at 1986-02-17 \(row 32\)"):
        LogRatio().fit(wti())


def test_fill_ffill_gives_zero_log_return_on_missing_days():
    y = wti()
    out = LogRatio(fill="ffill").fit_transform(y)
    assert out.index.equals(y.index)
    assert (out[y.isna()] == 0).all()
    assert_relative(out.iloc[1:], np.log(y.ffill() / y.ffill().shift(1)).iloc[1:], 1e-12)


def test_fill_drop_removes_missing_days_and_spans_the_gap():
    y = wti()
    out = LogRatio(fill="drop").fit_transform(y)
    clean = y.dropna()
    assert out.index.equals(clean.index)
    assert_relative(out.iloc[1:], np.log(clean / clean.shift(1)).iloc[1:], 1e-12)


def test_ffill_is_causal_across_the_fit_boundary():
    """A missing first day after the fitted data takes the last fitted price."""
    y = wti()
    holiday = y.index.get_loc(y.index[y.isna()][5])
    lr = LogRatio(fill="ffill").fit(y.iloc[:holiday])
    out = lr.transform(y.iloc[holiday:])
    assert out.iloc[0] == 0.0


# ------------------------------------------------------------------------ errors
def test_zero_price_names_the_date():
    y = close()
    y.iloc[100] = 0.0
    with pytest.raises(ValueError, match=r"Zero values in data.*'Close'.*1999-05-27 \(row 100\)"):
        LogRatio().fit(y)


def test_negative_price_names_the_date():
    prices = ohlcv()[["Open", "Close"]]
    prices.iloc[7, 1] = -prices.iloc[7, 1]
    with pytest.raises(ValueError, match=r"Negative values in data.*'Close'.*1999-01-13"):
        Ratio().fit(prices)


def test_non_positive_price_in_transform_is_refused_too():
    y = close()
    lr = LogRatio().fit(y.iloc[:100])
    bad = y.iloc[100:200].copy()
    bad.iloc[3] = 0.0
    with pytest.raises(ValueError, match="strictly positive"):
        lr.transform(bad)


def test_infinite_price_is_refused():
    y = close()
    y.iloc[10] = np.inf
    with pytest.raises(ValueError, match="inf"):
        LogRatio().fit(y)


def test_shuffled_index_is_refused():
    y = close().iloc[:50].sample(frac=1.0, random_state=0)
    with pytest.raises(ValueError, match=r"time order.*sort_index"):
        LogRatio().fit(y)


def test_duplicated_dates_are_refused():
    y = close().iloc[:50]
    y = pd.concat([y, y.iloc[[10]]]).sort_index()
    with pytest.raises(ValueError, match="duplicates"):
        LogRatio().fit(y)


def test_1d_array_is_refused_with_sklearn_message():
    with pytest.raises(ValueError, match="Expected 2D array"):
        LogRatio().fit(close().to_numpy())


def test_inverse_before_the_fitted_data_is_refused():
    y = close()
    lr = LogRatio().fit(y.iloc[100:200])
    with pytest.raises(ValueError, match="before the data seen in fit"):
        lr.inverse_transform(LogRatio().fit_transform(y.iloc[50:60]))


def test_invalid_parameter_is_reported_at_fit():
    with pytest.raises(ValueError, match="'fill' parameter of LogRatio must be"):
        LogRatio(fill="bfill").fit(close())


# ------------------------------------------------------------ scikit-learn use
def test_set_output_pandas_and_feature_names():
    prices = ohlcv()[["Open", "Close"]]
    lr = LogRatio().set_output(transform="pandas").fit(prices.to_numpy())
    out = lr.transform(prices.to_numpy())
    assert list(out.columns) == ["x0", "x1"]
    lr = LogRatio().fit(prices)
    assert list(lr.get_feature_names_out()) == ["Open", "Close"]
    # set_output survives set_params (sktime resets the object there)
    lr = LogRatio().set_output(transform="pandas")
    lr.set_params(standardize=True)
    assert isinstance(clone(lr).fit_transform(prices.to_numpy()), pd.DataFrame)


def test_column_transformer_on_ohlcv():
    data = ohlcv()
    ct = ColumnTransformer(
        [
            ("logret", LogRatio(), ["Open", "High", "Low", "Close"]),
            ("volume", "passthrough", ["Volume"]),
        ]
    ).set_output(transform="pandas")
    out = ct.fit_transform(data)
    assert list(out.columns) == [
        "logret__Open",
        "logret__High",
        "logret__Low",
        "logret__Close",
        "volume__Volume",
    ]
    assert out.index.equals(data.index)
    assert_relative(
        out["logret__Close"].iloc[1:], np.log(data.Close / data.Close.shift(1)).iloc[1:], 1e-12
    )
