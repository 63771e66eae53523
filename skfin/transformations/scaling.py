"""scikit-learn scalers in sktime pipelines, without rewriting any scaler.

scikit-learn's scalers (``StandardScaler``, ``RobustScaler``, ``MinMaxScaler``, ...) are
used unchanged in scikit-learn pipelines. In sktime they are wrapped by sktime's own
:class:`~sktime.transformations.adapt.TabularToSeriesAdaptor`; :func:`series_scaler` only
builds that adaptor with the settings a forecasting target needs and checks the scaler
can be inverted, so forecasts and interval bounds come back on the original scale.
"""

from __future__ import annotations

from sklearn.base import clone
from sklearn.preprocessing import StandardScaler
from sktime.transformations.adapt import TabularToSeriesAdaptor

__all__ = ["series_scaler"]


def series_scaler(scaler=None):
    """Wrap a scikit-learn scaler as an invertible sktime transformer.

    The scaler is fitted on the data passed to ``fit`` (the training window) and then
    only applied: ``transform`` and ``inverse_transform`` never refit it, so forecasts
    are unscaled with the training statistics and nothing leaks from the future. (This
    is ``TabularToSeriesAdaptor(scaler, fit_in_transform=False)``, sktime's default,
    spelled out.) Columns are scaled independently, as in scikit-learn.

    Parameters
    ----------
    scaler : scikit-learn transformer or None, default=None
        A scaler with ``fit``, ``transform`` and ``inverse_transform``, e.g.
        ``StandardScaler()``, ``RobustScaler()`` or ``MinMaxScaler()``. It is cloned.
        None means ``StandardScaler()``.

    Returns
    -------
    transformer : sktime.transformations.adapt.TabularToSeriesAdaptor
        An sktime transformer for ``TransformedTargetForecaster`` (target, inverted on
        the forecasts and interval bounds) and ``ForecastingPipeline`` (exogenous data).

    Raises
    ------
    TypeError
        If ``scaler`` lacks ``fit``, ``transform`` or ``inverse_transform``.

    See Also
    --------
    sktime.transformations.adapt.TabularToSeriesAdaptor : the adaptor used.

    Examples
    --------
    >>> from sklearn.preprocessing import RobustScaler
    >>> from sktime.forecasting.compose import TransformedTargetForecaster
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from skfin.datasets import load_sp500
    >>> from skfin.transformations import LogRatio, series_scaler
    >>> y = load_sp500()["Close"].reset_index(drop=True)
    >>> f = TransformedTargetForecaster([
    ...     ("logret", LogRatio(warmup="drop")),
    ...     ("scale", series_scaler(RobustScaler())),
    ...     ("naive", NaiveForecaster(strategy="mean")),
    ... ]).fit(y, fh=[1, 2])
    >>> f.predict().round(2).tolist()
    [2507.21, 2507.56]
    """
    if scaler is None:
        scaler = StandardScaler()
    missing = [m for m in ("fit", "transform", "inverse_transform") if not hasattr(scaler, m)]
    if missing or isinstance(scaler, type):
        what = "a class" if isinstance(scaler, type) else f"missing {', '.join(missing)}"
        raise TypeError(
            f"series_scaler needs a scikit-learn scaler instance with fit, transform and "
            f"inverse_transform (e.g. StandardScaler()); got {scaler!r} ({what})."
        )
    return TabularToSeriesAdaptor(clone(scaler), fit_in_transform=False)
