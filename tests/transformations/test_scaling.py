"""scikit-learn scalers in sktime pipelines through series_scaler, on real prices."""

from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import MinMaxScaler, PolynomialFeatures, RobustScaler, StandardScaler
from sktime.forecasting.compose import ForecastingPipeline, TransformedTargetForecaster, YfromX
from sktime.forecasting.naive import NaiveForecaster
from sktime.transformations.adapt import TabularToSeriesAdaptor

from skfin.datasets import load_sp500
from skfin.transformations import LogRatio, series_scaler

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

FH = [1, 2, 3, 4, 5]


@lru_cache
def _close():
    return load_sp500()["Close"].reset_index(drop=True).iloc[:3000]


@pytest.mark.parametrize("scaler", [StandardScaler(), RobustScaler(), MinMaxScaler()], ids=repr)
def test_scaled_target_forecasts_and_bands_come_back_in_prices(scaler):
    """Scaling is affine and NaiveForecaster('last') is affine-equivariant (its bands
    scale with the residual spread), so scaling then unscaling must give exactly the
    forecasts and bands of the same forecaster on prices."""
    y = _close()
    scaled = TransformedTargetForecaster(
        [("scale", series_scaler(scaler)), ("naive", NaiveForecaster(strategy="last"))]
    ).fit(y, fh=FH)
    plain = NaiveForecaster(strategy="last").fit(y, fh=FH)
    np.testing.assert_allclose(scaled.predict(), plain.predict(), rtol=1e-10)
    np.testing.assert_allclose(scaled.predict(), y.iloc[-1], rtol=1e-10)
    np.testing.assert_allclose(
        scaled.predict_interval(coverage=0.9), plain.predict_interval(coverage=0.9), rtol=1e-10
    )


def test_scaler_is_fitted_on_the_training_window_only():
    y = _close()
    f = TransformedTargetForecaster([("scale", series_scaler()), ("naive", NaiveForecaster())]).fit(
        y.iloc[:2000], fh=[1]
    )
    adaptor = f.steps_[0][1]
    assert isinstance(adaptor.transformer_, StandardScaler)
    assert adaptor.transformer_.mean_[0] == pytest.approx(y.iloc[:2000].mean(), rel=1e-12)
    f.predict()
    assert adaptor.transformer_.mean_[0] == pytest.approx(y.iloc[:2000].mean(), rel=1e-12)


def test_log_ratio_then_scaler_round_trip():
    y = _close()
    f = TransformedTargetForecaster(
        [
            ("logret", LogRatio(warmup="drop")),
            ("scale", series_scaler(RobustScaler())),
            ("naive", NaiveForecaster(strategy="last")),
        ]
    ).fit(y, fh=FH)
    last_return = np.log(y.iloc[-1] / y.iloc[-2])
    np.testing.assert_allclose(
        f.predict(), y.iloc[-1] * np.exp(np.arange(1, 6) * last_return), rtol=1e-10
    )
    assert (f.predict_interval(coverage=0.9) > 0).all().all()


def test_scaled_exogenous_data_in_forecasting_pipeline():
    """Least squares is invariant to an affine scaling of X, so the pipeline with scaled
    X must forecast exactly the ordinary least squares fit on raw prices and volumes
    (computed with numpy.linalg.lstsq; scikit-learn 1.9's LinearRegression is inaccurate
    on the raw data, whose volumes are ~1e9, which is one reason to scale)."""
    ohlcv = load_sp500().reset_index(drop=True).iloc[:600]
    y, X = ohlcv["Close"], ohlcv[["Open", "Volume"]]
    X_train, X_future = X.iloc[:-3], X.iloc[-3:]
    scaled = ForecastingPipeline(
        [("scale", series_scaler(MinMaxScaler())), ("ols", YfromX(LinearRegression()))]
    ).fit(y.iloc[:-3], X=X_train, fh=[1, 2, 3])
    design = np.c_[np.ones(len(X_train)), X_train.to_numpy()]
    coef = np.linalg.lstsq(design, y.iloc[:-3].to_numpy(), rcond=None)[0]
    expected = np.c_[np.ones(3), X_future.to_numpy()] @ coef
    np.testing.assert_allclose(scaled.predict(X=X_future), expected, rtol=1e-8)


def test_returns_sktime_adaptor_with_a_clone():
    scaler = RobustScaler()
    adaptor = series_scaler(scaler)
    assert isinstance(adaptor, TabularToSeriesAdaptor)
    assert adaptor.transformer is not scaler and isinstance(adaptor.transformer, RobustScaler)
    assert adaptor.fit_in_transform is False
    assert adaptor.get_tag("capability:inverse_transform")


@pytest.mark.parametrize(
    ("scaler", "match"),
    [(PolynomialFeatures(), "missing inverse_transform"), (StandardScaler, "a class")],
)
def test_non_invertible_or_class_is_refused(scaler, match):
    with pytest.raises(TypeError, match=match):
        series_scaler(scaler)


# ------------------------------------------------------------ columns matched by name
OHLCV = ["Open", "High", "Low", "Close", "Volume"]


@pytest.mark.parametrize("scaler", [StandardScaler(), RobustScaler(), MinMaxScaler()], ids=repr)
def test_reordered_columns_are_realigned_by_name(scaler):
    """Each column is scaled with its own statistics, whatever the order at transform;
    the output keeps the input's order, and inverse_transform undoes it by name too."""
    ohlcv = load_sp500()
    scale = series_scaler(scaler).fit(ohlcv[OHLCV].iloc[:3000])
    new = ohlcv.iloc[3000:]
    shuffled = ["Volume", "Close", "Open", "Low", "High"]
    expected = scale.transform(new[OHLCV])
    got = scale.transform(new[shuffled])
    assert list(got.columns) == shuffled
    pd.testing.assert_frame_equal(got, expected[shuffled])
    # e.g. the volume column is scaled with the volume statistics, not the opening price's
    fitted = clone(scaler).fit(ohlcv[["Volume"]].iloc[:3000].to_numpy())
    np.testing.assert_allclose(got["Volume"], fitted.transform(new[["Volume"]].to_numpy())[:, 0])
    back = scale.inverse_transform(got)
    assert list(back.columns) == shuffled
    pd.testing.assert_frame_equal(back, new[shuffled], check_exact=False, rtol=1e-10)


@pytest.mark.parametrize(
    ("columns", "match"),
    [
        (["Open", "High", "Low", "Close"], r"missing \['Volume'\]"),
        (["Open", "High", "Low", "Close", "Volume", "Adj Close"], r"unknown \['Adj Close'\]"),
        (["Open", "High", "Low", "Adj Close", "Volume"],
         r"missing \['Close'\]; unknown \['Adj Close'\]"),
    ],
)
def test_missing_or_unknown_columns_are_refused(columns, match):
    ohlcv = load_sp500()
    ohlcv = ohlcv.assign(**{"Adj Close": ohlcv["Close"]})
    scale = series_scaler().fit(ohlcv[OHLCV].iloc[:3000])
    with pytest.raises(ValueError, match=match + r".*matched by name"):
        scale.transform(ohlcv[columns].iloc[3000:])
    with pytest.raises(ValueError, match=match):
        scale.inverse_transform(ohlcv[columns].iloc[3000:])


def test_unnamed_data_must_keep_the_fitted_width():
    ohlcv = load_sp500()[OHLCV]
    scale = series_scaler().fit(ohlcv.iloc[:3000])
    np.testing.assert_allclose(scale.transform(ohlcv.iloc[3000:].to_numpy()),
                               scale.transform(ohlcv.iloc[3000:]).to_numpy())
    with pytest.raises(ValueError, match=r"has 4 column\(s\), but it was fitted on 5"):
        scale.transform(ohlcv.iloc[3000:, :4].to_numpy())
