"""Price ratios ``x_t / x_{t-1}`` and log-ratios ``log(x_t / x_{t-1})``, invertible.

Hand-written because no library offers them with what a forecaster of prices needs:
sktime's :class:`~sktime.transformations.difference.Differencer` (whose anchoring this
module mirrors) works on differences, and ``ExponentTransformer``/``LogTransformer``
composed with it lose the price domain checks and the first-row policy. The maths are
one line each (``pandas.DataFrame.shift``, ``numpy.log``, ``numpy.cumsum``); the work is
in the policies, all documented on the classes:

* **first row**: it has no predecessor, so its ratio is NaN and the row is kept
  (``warmup="nan"``, same index as the input) or dropped (``warmup="drop"``);
* **anchor**: ``transform`` and ``inverse_transform`` continue from the levels seen in
  ``fit``/``update``. A row's ratio uses the stored level just before it; an inverse
  chains ratios from the stored level just before the first row to invert, which is the
  last observed level for forecasts;
* **prices** must be strictly positive and finite; missing prices follow ``fill``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import OneToOneFeatureMixin

from skfin.transformations._base import _SeriesTransformer

__all__ = ["Ratio", "LogRatio"]


class _RatioTransformer(OneToOneFeatureMixin, _SeriesTransformer):
    """Shared logic of :class:`Ratio` and :class:`LogRatio`."""

    _tags = {
        "capability:inverse_transform": True,
        "capability:inverse_transform:exact": True,
        "skip-inverse-transform": False,
    }

    _parameter_constraints: dict = {
        **_SeriesTransformer._parameter_constraints,
        "standardize": ["boolean"],
    }

    def __init__(self, *, standardize=False, warmup="nan", fill="raise"):
        self.standardize = standardize
        self.warmup = warmup
        self.fill = fill
        super().__init__()

    # the one place where Ratio and LogRatio differ -------------------------------
    @staticmethod
    def _forward(ratio):  # pragma: no cover - overridden
        raise NotImplementedError

    @staticmethod
    def _chain(anchor, values):  # pragma: no cover - overridden
        """Levels chained from ``anchor`` over unstandardised ``values`` (along axis 0)."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------
    def _requires_positive(self):
        return True

    def _raw(self, combined):
        """Unstandardised ratios of consecutive rows of ``combined``."""
        return self._forward(combined / combined.shift(1))

    def _fit(self, X, y=None):
        combined = self._prepare(X)
        self._check_positive(combined)
        self._history = combined
        if self.standardize:
            raw = self._raw(combined).to_numpy()
            n_valid = np.sum(~np.isnan(raw), axis=0)
            if n_valid.min() < 1:
                raise ValueError(
                    f"{type(self).__name__}(standardize=True) needs at least 2 "
                    "consecutive non-missing prices per column to estimate the mean and "
                    f"the standard deviation; got n_samples={len(X)}. Fit on a longer "
                    "series or use standardize=False."
                )
            self.mean_ = np.nanmean(raw, axis=0)
            scale = np.nanstd(raw, axis=0)
            # a constant series has no spread: divide by 1, as StandardScaler does
            self.scale_ = np.where(scale > 10 * np.finfo(np.float64).eps, scale, 1.0)
        self.anchor_ = combined.iloc[-1].to_numpy()
        return self

    def _transform(self, X, y=None):
        combined = self._prepare(X, self._history)
        self._check_positive(combined)
        values = self._raw(combined)
        if self.standardize:
            values = (values - self.mean_) / self.scale_
        out = self._select_rows(values, combined, X.index, n_warmup=1)
        return out.set_axis(X.columns, axis=1)

    def _update(self, X, y=None):
        combined = self._prepare(X, self._history)
        self._check_positive(combined)
        self._history = combined
        self.anchor_ = combined.iloc[-1].to_numpy()
        return self

    def _inverse_transform(self, X, y=None):
        values = np.array(X, dtype=np.float64)  # a writable copy
        if self.standardize:
            values = values * self.scale_ + self.mean_
        if len(X) == 0:
            return X.copy()
        history = self._history
        position, n_inside = self._locate(X.index)
        # levels known for the rows to invert (those inside the stored data)
        stored = np.full(values.shape, np.nan)
        stored[:n_inside] = history.iloc[position : position + n_inside].to_numpy()
        if position > 0:
            anchor = history.iloc[position - 1].to_numpy()
        else:  # the first stored row has no predecessor: it takes its stored level
            anchor = np.full(values.shape[1], np.nan)
            values[0] = np.nan
        levels = np.column_stack(
            [self._chain_from(anchor[j], values[:, j], stored[:, j]) for j in range(len(anchor))]
        )
        return pd.DataFrame(levels, index=X.index, columns=X.columns)

    def _chain_from(self, anchor, values, stored):
        """Levels of one column: ratios chained from ``anchor``; a row without a ratio
        (NaN) whose level is stored takes that level and the chain restarts there."""
        levels = np.empty_like(values)
        restarts = np.flatnonzero(np.isnan(values) & ~np.isnan(stored))
        start, level = 0, anchor
        for row in restarts:
            levels[start:row] = self._chain(level, values[start:row])
            levels[row] = level = stored[row]
            start = row + 1
        levels[start:] = self._chain(level, values[start:])
        return levels

    def _locate(self, index):
        """Position in the stored data of ``index[0]`` and how many rows lie inside it.

        The rows to invert must be consecutive periods: stored rows, then (or only)
        the periods right after the last stored row.
        """
        hist_index = self._history.index
        first = index[0]
        position = int(hist_index.searchsorted(first))
        if position < len(hist_index) and hist_index[position] == first:
            n_inside = min(len(index), len(hist_index) - position)
            if not index[:n_inside].equals(hist_index[position : position + n_inside]):
                raise ValueError(self._gap_message(index, hist_index[max(position - 1, 0)]))
            self._check_consecutive_after(index[n_inside:], hist_index)
            return position, n_inside
        if position == len(hist_index):  # forecasts
            self._check_consecutive_after(index, hist_index)
            return position, 0
        where = "before" if position == 0 else "between the rows of"
        raise ValueError(
            f"{type(self).__name__}.inverse_transform needs the level just before "
            f"{first!r}, the first row to invert, but that row lies {where} the data seen "
            "in fit/update. Invert rows that continue the fitted series (or forecasts "
            "right after it), or refit on a series that covers them."
        )

    def _check_consecutive_after(self, index, hist_index):
        """Rows after the stored data must be the periods right after its last row.

        Checked for integer indexes and indexes with a frequency; an irregular calendar
        (trading days) has no rule for "the next period", so its rows are trusted.
        """
        if len(index) == 0:
            return
        last = hist_index[-1]
        if pd.api.types.is_integer_dtype(hist_index.dtype):
            expected = np.arange(last + 1, last + 1 + len(index))
        elif isinstance(hist_index, pd.PeriodIndex):
            expected = pd.period_range(last, periods=len(index) + 1, freq=hist_index.freq)[1:]
        else:
            freq = getattr(hist_index, "freq", None) or getattr(index, "freq", None)
            if freq is None:
                return
            expected = pd.date_range(last, periods=len(index) + 1, freq=freq)[1:]
        if not np.array_equal(np.asarray(index), np.asarray(expected)):
            raise ValueError(self._gap_message(index, last))

    def _gap_message(self, index, anchor_label):
        shown = ", ".join(map(repr, index[:5])) + (", ..." if len(index) > 5 else "")
        return (
            f"{type(self).__name__}.inverse_transform chains ratios from the level at "
            f"{anchor_label!r}, so the rows to invert must be the consecutive periods "
            f"after it; got [{shown}]. For "
            "forecasts, predict every step fh=[1, 2, ..., h] and select the steps you "
            "need afterwards."
        )

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Return testing parameter settings for the estimator.

        Parameters
        ----------
        parameter_set : str, default="default"
            Name of the set of test parameters to return.

        Returns
        -------
        params : list of dict
            Parameters to create testing instances of the class.
        """
        return [{}, {"standardize": True, "fill": "ffill"}]


_PARAMETERS_DOC = """
    Parameters
    ----------
    standardize : bool, default=False
        If True, return ``(r - mean_) / scale_``, where ``mean_`` and ``scale_`` (the
        population standard deviation) are estimated on the data passed to ``fit`` only,
        per column, and never re-estimated by ``transform`` or ``update``.
    warmup : {"nan", "drop"}, default="nan"
        The first row has no predecessor, so it has no ratio. ``"nan"`` keeps it as NaN,
        so the output has the input's index (``y.shift(-1)`` aligns targets, as in the
        DESIGN); ``"drop"`` removes it, for forecasters that do not accept NaN.
    fill : {"raise", "ffill", "drop"}, default="raise"
        Missing prices. ``"raise"`` raises a ``ValueError`` naming the first missing
        date; ``"ffill"`` carries the last observed price forward (causal: a missing
        day has ratio 1, log-ratio 0; values before the first observation stay NaN);
        ``"drop"`` removes rows with a missing price, so the next ratio spans the gap.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Mean of the unstandardised values on the fit data. Only if ``standardize``.
    scale_ : ndarray of shape (n_features,)
        Their population standard deviation (1 where it is 0). Only if ``standardize``.
    anchor_ : ndarray of shape (n_features,)
        The last level seen in ``fit``/``update``: forecasts are chained from it.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen in ``fit`` (only for a DataFrame with string column names).
"""

_POLICY_NOTES = """
    Notes
    -----
    The transformer is an sktime transformer (``fit``, ``transform``,
    ``inverse_transform``, ``update``; Series, DataFrame and panels) and a scikit-learn
    transformer (``get_feature_names_out``, ``set_output``, passes the scikit-learn
    estimator checks that do not need a zero price) with the same parameters.

    *Anchor.* ``fit`` stores the prices it sees and ``update`` appends new ones. The
    ratio of a row uses the stored price just before it, so transforming the rows that
    follow the fitted data does not produce a NaN at their start. ``inverse_transform``
    chains ratios from the stored price just before the first row it gets: the last
    observed price for forecasts (what sktime's ``TransformedTargetForecaster`` passes),
    the fit data's own prices for an in-sample series, which is recovered exactly: a
    stored row without a ratio (the first row, or a missing price) takes its stored
    level and the chain restarts there. The rows to invert must be consecutive periods.
    An array has no time index: its rows count as periods 0, 1, ... of the data seen
    in ``fit``.

    *Prediction intervals.* sktime inverts each quantile path separately. For a
    one-step horizon the bounds are exact price quantiles (the inverse is monotone);
    for longer horizons a bound is the price reached if every step sat at that quantile,
    a conservative band, as with sktime's ``Differencer``.
"""


class Ratio(_RatioTransformer):
    __doc__ = (
        """Gross return ``x_t / x_{t-1}``, invertible back to price levels.

    Works column by column on a Series or DataFrame of strictly positive prices.
"""
        + _PARAMETERS_DOC
        + """
    See Also
    --------
    LogRatio : ``log(x_t / x_{t-1})``, additive over time.
"""
        + _POLICY_NOTES
        + """
    Examples
    --------
    >>> from skfin.datasets import load_sp500
    >>> from skfin.transformations import Ratio
    >>> close = load_sp500()["Close"]
    >>> ratio = Ratio()
    >>> r = ratio.fit_transform(close)
    >>> r.iloc[:3].round(6).tolist()
    [nan, 1.013582, 1.02214]
    >>> prices = ratio.inverse_transform(r)
    >>> bool(((prices - close).abs() / close).max() < 1e-10)
    True
"""
    )

    @staticmethod
    def _forward(ratio):
        return ratio

    @staticmethod
    def _chain(anchor, values):
        return anchor * np.cumprod(values, axis=0)


class LogRatio(_RatioTransformer):
    __doc__ = (
        """Log return ``log(x_t / x_{t-1})``, invertible back to price levels.

    Works column by column on a Series or DataFrame of strictly positive prices.
    With ``standardize=True`` the output is ``(log_ratio - mean_) / scale_``.
"""
        + _PARAMETERS_DOC
        + """
    See Also
    --------
    Ratio : ``x_t / x_{t-1}``.
    TechnicalIndicators : its ``log_return_1`` column equals ``LogRatio`` output.
"""
        + _POLICY_NOTES
        + """
    Examples
    --------
    Next-day log return as a target, row-aligned with features of day ``t``:

    >>> from skfin.datasets import load_sp500
    >>> from skfin.transformations import LogRatio
    >>> close = load_sp500()["Close"]
    >>> y = LogRatio().fit_transform(close).shift(-1)
    >>> y.iloc[:2].round(6).tolist()
    [0.013491, 0.021899]

    In sktime, forecasts of log returns come back as prices, chained from the last
    price seen in ``fit``:

    >>> from sktime.forecasting.compose import TransformedTargetForecaster
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> y = close.reset_index(drop=True)  # sktime needs a regular index to forecast
    >>> f = TransformedTargetForecaster(
    ...     [("logret", LogRatio(warmup="drop")), ("naive", NaiveForecaster(strategy="mean"))]
    ... ).fit(y, fh=[1, 2, 3])
    >>> bool((f.predict_interval(coverage=0.9) > 0).all().all())
    True
"""
    )

    @staticmethod
    def _forward(ratio):
        return np.log(ratio)

    @staticmethod
    def _chain(anchor, values):
        return anchor * np.exp(np.cumsum(values, axis=0))
