"""scikit-learn scalers in sktime pipelines, without rewriting any scaler.

scikit-learn's scalers (``StandardScaler``, ``RobustScaler``, ``MinMaxScaler``, ...) are
used unchanged in scikit-learn pipelines. In sktime they are wrapped by sktime's own
:class:`~sktime.transformations.adapt.TabularToSeriesAdaptor`; :func:`series_scaler` only
builds that adaptor with the settings a forecasting target needs, checks the scaler can be
inverted, so forecasts and interval bounds come back on the original scale, and matches
pandas columns by name (sktime's adaptor hands the scaler bare arrays, so a frame with its
columns in another order would be scaled with the wrong column's statistics).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler
from sktime.transformations.adapt import TabularToSeriesAdaptor

__all__ = ["series_scaler"]


def _positional(columns: pd.Index) -> bool:
    """Whether column labels are mere positions ``0..k-1`` (an array, or an unnamed Series)."""
    return list(columns) == list(range(len(columns)))


class _ByNameAdaptor(TabularToSeriesAdaptor):
    """``TabularToSeriesAdaptor`` that matches pandas columns by name (see :func:`series_scaler`).

    The adaptor's inner data are frames, so that the column names reach ``_fit``,
    ``_transform`` and ``_inverse_transform``; the scaler still receives arrays, in the
    column order seen in ``fit``.

    Examples
    --------
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skfin.datasets import load_sp500
    >>> from skfin.transformations import series_scaler
    >>> ohlcv = load_sp500()
    >>> scale = series_scaler(MinMaxScaler()).fit(ohlcv[["High", "Low"]])
    >>> type(scale).__name__
    '_ByNameAdaptor'
    >>> scale.transform(ohlcv[["Low", "High"]]).max().round(6).to_dict()
    {'Low': 1.0, 'High': 1.0}
    >>> scale.transform(ohlcv[["Low", "Close"]])
    Traceback (most recent call last):
    ...
    ValueError: X passed to ... seen in fit (missing ['High']; unknown ['Close']). ...
    """

    def __init__(self, transformer, fit_in_transform=False, pass_y="auto", input_type=None,
                 pooling="local"):
        super().__init__(transformer, fit_in_transform=fit_in_transform, pass_y=pass_y,
                         input_type=input_type, pooling=pooling)
        if pooling == "local":
            self.set_tags(**{"X_inner_mtype": "pd.DataFrame"})

    def _fit(self, X, y=None):
        self._columns = X.columns
        return super()._fit(X, y)

    def _transform(self, X, y=None):
        return self._by_name(X, y, "transform")

    def _inverse_transform(self, X, y=None):
        return self._by_name(X, y, "inverse_transform")

    def _by_name(self, X, y, method):
        """Run ``method`` on ``X``'s columns in the fitted order; label the result like ``X``."""
        fitted = self._columns
        aligned = self._align(X, method)
        out = getattr(super(), f"_{method}")(aligned, y)
        if np.shape(out)[1] != len(fitted):       # the transformer changed the width
            return out
        out = pd.DataFrame(np.asarray(out), index=X.index, columns=aligned.columns)
        return out.set_axis(X.columns, axis=1) if aligned is X else out[X.columns]

    def _align(self, X, method):
        """``X`` if it has the fitted columns in the fitted order (or is positional), else
        ``X``'s columns reordered to the fitted order; missing/unknown columns raise."""
        fitted, columns = self._columns, X.columns
        where = f"series_scaler({type(self.transformer).__name__})"
        if columns.equals(fitted):
            return X
        # Arrays and unnamed series carry no names; sktime also hands forecasts back to
        # inverse_transform under position labels, or, for one series, under another name.
        positional = (_positional(columns) or _positional(fitted)
                      or (method == "inverse_transform" and len(fitted) == 1))
        if positional:
            if len(columns) != len(fitted):
                raise ValueError(
                    f"X passed to {where}.{method} has {len(columns)} column(s), but it was "
                    f"fitted on {len(fitted)}: {list(fitted)}. Pass the same columns as in fit."
                )
            return X
        missing = [c for c in fitted if c not in columns]
        unknown = [c for c in columns if c not in fitted]
        duplicated = sorted({c for c in [*fitted, *columns]
                             if list(fitted).count(c) > 1 or list(columns).count(c) > 1}, key=str)
        if missing or unknown or duplicated:
            problems = [f"{what} {cols}" for what, cols in
                        [("missing", missing), ("unknown", unknown), ("duplicated", duplicated)]
                        if cols]
            raise ValueError(
                f"X passed to {where}.{method} does not have the columns seen in fit "
                f"({'; '.join(problems)}). Columns are matched by name, in any order, never "
                f"by position: pass a frame with exactly the columns {list(fitted)}, e.g. "
                f"X[{list(fitted)!r}]."
            )
        return X[fitted]                           # same names, fitted order


def series_scaler(scaler=None):
    """Wrap a scikit-learn scaler as an invertible sktime transformer.

    The scaler is fitted on the data passed to ``fit`` (the training window) and then
    only applied: ``transform`` and ``inverse_transform`` never refit it, so forecasts
    are unscaled with the training statistics and nothing leaks from the future. (This
    is ``TabularToSeriesAdaptor(scaler, fit_in_transform=False)``, sktime's default,
    spelled out.) Columns are scaled independently, as in scikit-learn, and matched by
    **name**: a DataFrame with the fitted columns in another order is realigned to the
    fitted order for the scaler and comes back in its own order; a DataFrame with missing
    or unknown columns is refused with a ``ValueError`` naming them. Arrays and unnamed
    series have no names: they must have the fitted number of columns, in the fitted order.
    ``inverse_transform`` also takes one series under another name, as sktime passes
    forecasts.

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
        the forecasts and interval bounds) and ``ForecastingPipeline`` (exogenous data);
        a subclass of sktime's adaptor that matches columns by name.

    Raises
    ------
    TypeError
        If ``scaler`` lacks ``fit``, ``transform`` or ``inverse_transform``.
    ValueError
        From ``transform``/``inverse_transform``, if a DataFrame's columns are not those
        seen in ``fit`` (missing or unknown names, or another width).

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

    Columns are matched by name, whatever their order:

    >>> ohlcv = load_sp500()
    >>> scale = series_scaler().fit(ohlcv[["Open", "Close", "Volume"]])
    >>> out = scale.transform(ohlcv[["Volume", "Open", "Close"]].tail(3))
    >>> list(out.columns)
    ['Volume', 'Open', 'Close']
    >>> in_order = scale.transform(ohlcv[["Open", "Close", "Volume"]].tail(3))
    >>> out.equals(in_order[["Volume", "Open", "Close"]])
    True
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
    return _ByNameAdaptor(clone(scaler), fit_in_transform=False)
