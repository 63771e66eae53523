"""The sktime face: one thin forecaster class per architecture.

Forecasters are direct multi-horizon: one net predicts steps ``1..max(fh)`` at once from the
last ``window`` observations of ``y`` (and of the exogenous ``X``, if given). ``y`` and ``X``
are standardised with statistics of the data seen in ``fit`` (and only that), and forecasts
are mapped back. ``update`` fine-tunes the current weights for ``update_epochs`` epochs, so a
walk-forward ``evaluate(..., strategy="update")`` costs a fraction of refitting.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sktime.forecasting.base import BaseForecaster, ForecastingHorizon
from sktime.utils.validation.forecasting import check_fh

from skfin import nets
from skfin.calendars import CALENDAR_FEATURES, calendar_features, trading_calendar
from skfin.engine.causal import _EFFECT_DOC, _EFFECT_NOTES, _CausalEffect
from skfin.engine.data import WindowDataset
from skfin.engine.meta import MAML, adapt, meta_train
from skfin.engine.device import resolve_device
from skfin.engine.estimator import (
    NeuralEstimatorMixin,
    as_numeric,
    check_finite,
    check_float32_range,
    check_levels,
    check_output,
    fill_doc,
    _starts,
)

__all__ = ["NeuralForecaster", "MLPForecaster", "LSTMForecaster", "GRUForecaster",
           "AttentionLSTMForecaster", "ResidualLSTMForecaster", "BayesianLSTMForecaster",
           "CNNLSTMForecaster", "TCNForecaster", "WaveNetForecaster",
           "TransformerForecaster", "PatchTSTForecaster", "AutoformerForecaster",
           "NBEATSForecaster", "MultiTaskForecaster", "TFTForecaster",
           "MambaForecaster", "S4DForecaster", "DeepKoopmanForecaster",
           "NeuralODEForecaster", "CausalLSTMForecaster", "NeuralCDEForecaster",
           "LagLlamaForecaster", "PatchDecoderForecaster"]

def _check_input(data, what: str, allow_nan: bool = False) -> None:
    """Name the first NaN, unsorted or duplicated time stamp before sktime converts ``data``.

    With ``allow_nan`` (a net that reads missing values), NaN passes and inf is refused.
    """
    if not isinstance(data, (pd.Series, pd.DataFrame)):
        return
    if len(data) == 0:
        raise ValueError(
            f"{what} is empty (0 rows): there are no observations to learn from. Pass at "
            "least window + max(fh) rows."
        )
    index = data.index
    if index.has_duplicates:
        first = index[index.duplicated()][0]
        raise ValueError(
            f"{what} has duplicated time stamps (first: {first}). Keep one row per time "
            f"stamp, e.g. {what}[~{what}.index.duplicated()]."
        )
    if not index.is_monotonic_increasing:
        pos = int(np.argmax(np.asarray(index[1:] < index[:-1]))) + 1
        raise ValueError(
            f"{what}'s time index is not sorted: {index[pos]} at position {pos} comes after "
            f"{index[pos - 1]}. Sort it with {what}.sort_index()."
        )
    frame = data.to_frame() if isinstance(data, pd.Series) else data
    numeric = frame.select_dtypes("number")
    other = [c for c in frame.columns if c not in numeric.columns]
    if other:
        raise TypeError(
            f"{what} must be numeric; column {other[0]!r} has dtype {frame[other[0]].dtype} "
            f"(text or categorical values are not supported). Convert it first, e.g. "
            f"pd.to_numeric({what}[...], errors='raise'), or encode categories as numbers."
        )
    values = numeric.to_numpy(np.float64)
    missing = np.isnan(values).any(axis=1)
    lead = int(np.argmin(missing)) if not missing.all() else len(missing)
    if not allow_nan and 0 < lead < len(missing) and not missing[lead:].any():
        raise ValueError(
            f"{what}'s first {lead} row(s) are NaN and the rest is complete: the warm-up of a "
            f"transformer (a ratio's first row, an indicator's window). Drop them, e.g. "
            f"{what}.iloc[{lead}:], or let the transformer drop them: "
            "LogRatio(warmup='drop'), TechnicalIndicators(warmup='drop')."
        )
    check_finite(np.where(np.isnan(values), 0.0, values) if allow_nan else values, what,
                 list(numeric.columns), index)


def _check_observed(values: np.ndarray, what: str, names, index, allow_nan: bool) -> None:
    """:func:`check_finite`; with ``allow_nan``, inf only, and every column seen at least once."""
    if not allow_nan:
        check_finite(values, what, names, index)
        return
    missing = np.isnan(values)
    check_finite(np.where(missing, 0.0, values), what, names, index)
    empty = missing.all(axis=0) if len(values) else np.zeros(values.shape[1:], bool)
    if empty.any():
        raise ValueError(
            f"{what} column {names[int(np.argmax(empty))]!r} has no observed value (all NaN): "
            "there is nothing to learn from it. Drop it, or pass more rows."
        )


def _elapsed(index: pd.Index, unit: float | None = None) -> tuple[np.ndarray, float]:
    """Time elapsed before each row of ``index`` and the unit it is counted in.

    Dates count in days, periods and integers in steps; the unit is ``unit`` or, when None,
    the median gap (so 1.0 is a typical step: a trading day, a month). The first row has
    no predecessor here and gets 1.0; nets that read time ignore it.
    """
    if isinstance(index, pd.DatetimeIndex):
        if index.hasnans:
            raise ValueError(
                f"y's DatetimeIndex has a missing time stamp (NaT) at position "
                f"{int(np.argmax(index.isna()))}; a net that reads time needs the date of "
                "every observation. Drop or fix that row."
            )
        t = np.asarray((index - index[0]) / pd.Timedelta(days=1), dtype=np.float64)
    elif isinstance(index, pd.PeriodIndex):
        t = index.asi8.astype(np.float64)
    elif pd.api.types.is_numeric_dtype(index.dtype):
        t = np.asarray(index, dtype=np.float64)
    else:
        raise ValueError(
            f"A net that reads time cannot read it from an index of dtype {index.dtype}. "
            "Use a DatetimeIndex (real elapsed time: weekends and holidays count), a "
            "PeriodIndex or an integer index (equally spaced observations)."
        )
    gaps = np.diff(t)
    if unit is None:
        unit = float(np.median(gaps)) if len(gaps) else 1.0
    return np.concatenate([[1.0], gaps / unit]).astype(np.float32), unit


def _panel_series(y: pd.DataFrame, X: pd.DataFrame | None, name: str) -> list:
    """``[(label, [y | X] of the series, its time index), ...]`` of a panel, in order.

    A panel is sktime's ``pd-multiindex`` / ``pd_multiindex_hier``: every index level but
    the last names the series, the last is time. Series of different sampling
    frequencies (daily and monthly, say) are refused: one net reads one kind of step.
    """
    if X is not None and not isinstance(X, pd.DataFrame):
        X = getattr(X, "X", X)                        # sktime's VectorizedDF: its panel
    levels = list(range(y.index.nlevels - 1))
    both = y if X is None else pd.concat([y, X.reindex(y.index)], axis=1)
    series, steps = [], {}
    for label, part in both.groupby(level=levels, sort=False):
        label = label[0] if isinstance(label, tuple) and len(label) == 1 else label
        index = part.index.get_level_values(-1)
        part = part.droplevel(levels)
        series.append((label, part, index))
        steps[label] = _median_step(index)
    known = {k: v for k, v in steps.items() if v is not None}
    if known and max(known.values()) > 1.5 * min(known.values()):
        shown = ", ".join(f"{k!r}: {v:g}" for k, v in list(known.items())[:6])
        raise ValueError(
            f"{name}.pretrain got series sampled at different frequencies (median step "
            f"between observations, in days or index units: {shown}). One net reads one "
            "kind of step: resample them to a common frequency (e.g. daily returns, or "
            "monthly), or pretrain on the series of one frequency."
        )
    return series


def _median_step(index: pd.Index) -> float | None:
    """Median spacing of ``index``: days for dates, units for integers and periods."""
    if len(index) < 2:
        return None
    if isinstance(index, pd.DatetimeIndex):
        return float(np.median(np.diff(index.asi8)) / 86_400e9)
    if isinstance(index, pd.PeriodIndex):
        return float(np.median(np.diff(index.to_timestamp().asi8)) / 86_400e9)
    try:
        return float(np.median(np.diff(np.asarray(index, dtype=np.float64))))
    except (TypeError, ValueError):
        return None


def _with_calendar(data, seen: pd.Index | None = None):
    """``data`` with its trading-day frequency attached, if it has dates but no frequency.

    Daily market data has no pandas frequency (weekends and holidays are missing), so
    sktime could not place forecasts in time. The calendar is inferred from the dates
    (with those seen before, on ``update``): see :mod:`skfin.calendars`. Anything else is
    returned unchanged, and sktime's own checks apply.
    """
    if not isinstance(data, (pd.Series, pd.DataFrame)):
        return data
    index = data.index
    if not isinstance(index, pd.DatetimeIndex) or index.freq is not None or len(index) == 0:
        return data
    dates = index if seen is None or not isinstance(seen, pd.DatetimeIndex) else seen.union(index)
    try:
        freq = trading_calendar(dates)
        out = data.copy()
        out.index = pd.DatetimeIndex(index, freq=freq)
    except (ValueError, TypeError):
        return data                     # not a daily trading-day index: sktime decides
    return out


class NeuralForecaster(NeuralEstimatorMixin, BaseForecaster):
    """Base of the sktime face. Subclasses set ``_module`` and list their parameters."""

    _tags = {
        "authors": ["skfin developers"],
        "maintainers": ["skfin developers"],
        "python_dependencies": ["torch", "skorch"],
        "y_inner_mtype": "pd.DataFrame",
        "X_inner_mtype": "pd.DataFrame",
        "capability:multivariate": True,
        "capability:exogenous": True,
        "capability:insample": False,
        "capability:pred_int": True,
        "capability:pred_int:insample": False,
        "capability:missing_values": False,
        "capability:categorical_in_X": False,
        "capability:update": True,
        "capability:random_state": True,
        # pretrain(panel) trains one global net over many series; fit then fine-tunes it
        "capability:pretrain": True,
        "requires-fh-in-fit": True,
        # X may start later than y (an indicator's warm-up dropped in a ForecastingPipeline):
        # _align_Xy keeps the rows both have, and refuses anything else.
        "X-y-must-have-same-index": False,
    }
    # The forecaster keeps the data that update() fine-tunes on itself (``_seen``), so
    # sktime need not store a second copy (and stops warning about its default changing).
    _config = {"remember_data": False}

    def _init(self, params: dict) -> None:
        """Store the constructor's arguments unchanged, then run sktime's set-up."""
        for name, value in params.items():
            if name not in ("self", "__class__"):
                setattr(self, name, value)
        BaseForecaster.__init__(self)
        # sktime sets these only when remember_data is on at construction; a user (or
        # sktime's own tests) may switch it on later with set_config.
        self._y, self._X = None, None
        # Known-future columns are read at every step 1..max(fh): sktime must pass them all.
        self.set_tags(**{"capability:non_contiguous_X": self.future_X is None,
                         "capability:missing_values": self._reads_missing()})

    @classmethod
    def _reads_missing(cls) -> bool:
        """Whether the net reads NaN as missing (sktime's ``capability:missing_values``)."""
        return nets.handles_missing(getattr(cls, "_module", None))

    def fit(self, y, X=None, fh=None):
        _check_input(y, "y", self._reads_missing())
        _check_input(X, "X", self._reads_missing())
        y, X = _with_calendar(y), _with_calendar(X)
        return super().fit(y, X=X, fh=fh)

    def update(self, y, X=None, update_params=True):
        _check_input(y, "y", self._reads_missing())
        _check_input(X, "X", self._reads_missing())
        seen = self._seen[0].index if getattr(self, "_seen", None) is not None else None
        y, X = _with_calendar(y, seen), _with_calendar(X, seen)
        cutoff = self.cutoff if self.is_fitted else None
        freq = getattr(getattr(y, "index", None), "freq", None)
        if (freq is not None and self._fh is not None and self._fh._freq is not None
                and freq != self._fh._freq):
            # New dates taught the inferred calendar a holiday: keep fh's steps, drop its
            # old calendar (sktime refuses to mix two frequencies).
            steps = self._fh.to_relative(self.cutoff).to_numpy()
            self._fh = ForecastingHorizon(steps, is_relative=True)
        super().update(y, X=X, update_params=update_params)
        if cutoff is not None and self.cutoff[0] < cutoff[0]:
            # sktime's rule: rows already seen are overwritten, the cutoff never moves back
            self._set_cutoff(cutoff)
        return self

    def _check_fh(self, fh, pred_int=False):
        """Accept any subset of the fitted horizon at predict (sktime asks for the same fh).

        The net forecasts steps ``1..max(fh)`` of ``fit`` at once, so ``fit(fh=[1..5])``
        then ``predict(fh=[2, 4])`` just selects steps; :meth:`_steps` refuses steps beyond
        the fitted horizon with a clear message.
        """
        if fh is None or not self.is_fitted or self._fh is None:
            return super()._check_fh(fh, pred_int=pred_int)
        super()._check_fh(None, pred_int=pred_int)
        return check_fh(fh, freq=self._cutoff)

    def predict_quantiles(self, fh=None, X=None, alpha=None):
        if alpha is not None:
            check_levels(alpha, "alpha")
        return super().predict_quantiles(fh=fh, X=X, alpha=alpha)

    def predict_interval(self, fh=None, X=None, coverage=0.90):
        check_levels(coverage, "coverage")
        return super().predict_interval(fh=fh, X=X, coverage=coverage)

    # -- data ------------------------------------------------------------------------
    def _frame(self, y: pd.DataFrame, X: pd.DataFrame | None) -> np.ndarray:
        """Check and standardise ``[y | X]`` into one float32 array ``[n_rows, n_features]``."""
        parts = [as_numeric(y, "y")]
        if X is not None:
            parts.append(as_numeric(X, "X"))
        values = np.concatenate([p.to_numpy(np.float64) for p in parts], axis=1)
        names = [*y.columns, *([] if X is None else X.columns)]
        what = "y" if X is None else "y or X"
        if self._reads_missing():
            check_finite(np.where(np.isnan(values), 0.0, values), what, names, y.index)
        else:
            check_finite(values, what, names, y.index)
        return ((values - self.loc_) / self.scale_).astype(np.float32)

    def _training_set(self) -> WindowDataset:
        y, X = self._seen
        values = self._frame(y, X)
        device = self.net_.device if hasattr(self, "net_") else resolve_device(self.device)
        min_rows = self.window + self.horizon_
        if len(values) < min_rows:
            raise ValueError(
                f"{type(self).__name__} needs at least window + max(fh) = {self.window} + "
                f"{self.horizon_} = {min_rows} observations to build one training sample; "
                f"got {len(values)}. Pass a longer series, or lower window or fh."
            )
        series = torch.as_tensor(values, device=device)
        future = series[:, self._future_positions()] if self.n_future_ else None
        ends = torch.arange(self.window - 1, len(values) - self.horizon_, device=device)
        offsets = torch.arange(1, self.horizon_ + 1, device=device)
        if self._reads_missing():          # train only on windows whose targets were observed
            observed = series[ends.unsqueeze(1) + offsets, :self.n_targets_].isfinite()
            ends = ends[observed.flatten(1).all(dim=1)]
            if len(ends) == 0:
                raise ValueError(
                    f"{type(self).__name__} found no window whose {self.horizon_} target "
                    "step(s) were all observed (not NaN). Pass a series with fewer gaps, or "
                    "a shorter fh."
                )
        return WindowDataset(series, ends, self.window, targets=series[:, :self.n_targets_],
                             target_offsets=offsets, future=future,
                             dt=self._dt(y.index, device))

    def _dt(self, index: pd.Index, device) -> torch.Tensor | None:
        """Elapsed time before each row of ``index`` for a net that reads time (else None)."""
        if not nets.reads_time(self._module):
            return None
        dt, self.time_unit_ = _elapsed(index, getattr(self, "time_unit_", None))
        return torch.as_tensor(dt, device=device)

    def _align_Xy(self, y: pd.DataFrame, X: pd.DataFrame | None):
        """``y`` and ``X`` on their common rows when ``X`` only lacks ``y``'s first rows."""
        if X is None or X.index.equals(y.index):
            return y, X
        common = y.index.intersection(X.index)
        if len(common) and y.index[-len(common):].equals(common) and X.index.equals(common):
            return y.loc[common], X
        missing = y.index.difference(X.index)
        raise ValueError(
            f"X must have a row for every time stamp of y (or lack only y's first rows, as "
            f"after an indicator's warm-up); {len(missing)} of y's time stamps have no row "
            f"in X (first: {missing[0] if len(missing) else None}) and X has "
            f"{len(X.index.difference(y.index))} rows that y has not. Align them first."
        )

    def _future_columns(self, X: pd.DataFrame | None) -> list:
        """The columns of ``X`` known ahead, as ``future_X`` names them, and the calendar's."""
        calendar = list(getattr(self, "calendar_columns_", []))
        if X is None or self.future_X is None:
            return calendar
        if isinstance(self.future_X, str):                      # "all"
            return list(X.columns)
        unknown = [c for c in self.future_X if c not in X.columns]
        if unknown:
            raise ValueError(
                f"future_X names columns {unknown} that X does not have; X has "
                f"{list(X.columns)}. Name columns of X, or use future_X='all' or None."
            )
        return [c for c in X.columns if c in {*self.future_X, *calendar}]

    def _calendar_columns(self, X: pd.DataFrame | None) -> list:
        """The names of the calendar columns that ``calendar`` adds to ``X``."""
        calendar = getattr(self, "calendar", None)
        if calendar is None or calendar is False:
            return []
        features = None if calendar is True else calendar
        if isinstance(features, str):
            features = [features]
        if features is not None and not (
                isinstance(features, (list, tuple)) and features
                and all(isinstance(f, str) for f in features)):
            raise TypeError(
                f"calendar must be None, True, or names of calendar features (from "
                f"{list(CALENDAR_FEATURES)}); got {calendar!r}."
            )
        names = [f"calendar_{n}" for n in (CALENDAR_FEATURES if features is None else features)]
        clash = [c for c in names if X is not None and c in X.columns]
        if clash:
            raise ValueError(
                f"X already has the column(s) {clash} that calendar={calendar!r} adds. "
                "Rename them, or drop them and let the forecaster build the calendar."
            )
        return names

    def _add_calendar(self, X: pd.DataFrame | None, index: pd.Index) -> pd.DataFrame | None:
        """``X`` with the calendar features of its rows (of ``index`` when X is None)."""
        names = getattr(self, "calendar_columns_", [])
        if not names:
            return X
        features = [n.removeprefix("calendar_") for n in names]
        rows = index if X is None else X.index
        try:
            calendar = calendar_features(rows, features)
        except TypeError as exc:
            raise ValueError(
                f"{type(self).__name__}(calendar={self.calendar!r}) reads calendar features "
                f"from the dates of y, but y is indexed by a {type(rows).__name__}. Index y "
                "by its dates (a DatetimeIndex or PeriodIndex), or set calendar=None."
            ) from exc
        return calendar if X is None else pd.concat([X, calendar], axis=1)

    def _future_positions(self) -> list[int]:
        """Positions of the known-future columns in ``[y | X]``."""
        columns = list(self._seen[1].columns)
        return [self.n_targets_ + columns.index(c) for c in self.future_columns_]

    def _future_X(self, X: pd.DataFrame | None) -> np.ndarray:
        """Standardised known-future X ``[horizon, n_future]`` at steps 1..horizon after the cutoff
        (the calendar's columns built here for those days)."""
        ahead = ForecastingHorizon(np.arange(1, self.horizon_ + 1), is_relative=True)
        index = ahead.to_absolute_index(self.cutoff)
        columns = self.future_columns_
        calendar = getattr(self, "calendar_columns_", [])
        given = [c for c in columns if c not in calendar]      # the user's known-future X
        if given:
            self._check_future_rows(X, index, given)
            X = X.loc[index, given]
        X = self._add_calendar(X if given else None, index)
        values = as_numeric(X.loc[index, columns], "X").to_numpy(np.float64)
        check_finite(values, "X", columns, index)
        positions = self._future_positions()
        loc, scale = self.loc_[positions], self.scale_[positions]
        return ((values - loc) / scale).astype(np.float32)

    def _check_future_rows(self, X: pd.DataFrame | None, index: pd.Index, columns: list) -> None:
        """Refuse an ``X`` at predict that lacks a known-future row or column."""
        name, span = type(self).__name__, f"{index[0]} .. {index[-1]}"
        if X is None:
            raise ValueError(
                f"{name} was fitted with exogenous X, which it reads as known-future "
                f"covariates (future_X={self.future_X!r}): pass X with rows for the "
                f"{self.horizon_} steps after the cutoff ({span}) to predict, e.g. "
                "f.predict(fh, X=X_future). If X is only observed up to the cutoff (prices, "
                "volatility), refit with future_X=None."
            )
        missing = index.difference(X.index)
        if len(missing):
            raise ValueError(
                f"X passed to {name}.predict lacks {len(missing)} of the {self.horizon_} rows "
                f"after the cutoff that it reads as known-future covariates (first missing: "
                f"{missing[0]}). Pass X with a row for every step {span}, even when fh asks "
                "for fewer steps."
            )
        absent = [c for c in columns if c not in X.columns]
        if absent:
            raise ValueError(
                f"X passed to {name}.predict lacks the known-future columns {absent} it was "
                f"fitted with (future_X={self.future_X!r}). Pass X with columns {columns}."
            )

    def _steps(self, fh) -> np.ndarray:
        steps = np.asarray(fh.to_relative(self.cutoff), dtype=np.int64)
        if (steps < 1).any():
            raise ValueError(
                f"{type(self).__name__} forecasts out of sample only; fh has in-sample "
                f"steps {steps[steps < 1].tolist()}. Use fh >= 1."
            )
        if steps.max() > self.horizon_:
            raise ValueError(
                f"max(fh)={steps.max()} exceeds horizon={self.horizon_} of the fitted "
                f"{type(self).__name__}. Use a smaller fh or refit with a longer fh."
            )
        return steps

    # -- sktime hooks ----------------------------------------------------------------
    def _fit(self, y, X=None, fh=None):
        self._check_hyperparams()
        if isinstance(y.index, pd.DatetimeIndex) and self.cutoff.freq is None:
            raise ValueError(
                "y has a DatetimeIndex without a frequency that skfin could infer (it is not "
                "a daily trading-day index), so forecasts cannot be placed in time. Attach "
                "one, e.g. y.asfreq('D') for calendar days, or skfin.calendars."
                "with_trading_days(y, exchange='XNYS') for a market's trading days."
            )
        y, X = self._align_Xy(y, X)
        self.horizon_ = int(np.max(fh.to_relative(self.cutoff)))
        self._steps(fh)
        self.n_targets_ = y.shape[1]
        self.n_exog_ = 0 if X is None else X.shape[1]
        self.calendar_columns_ = self._calendar_columns(X)
        X = self._add_calendar(X, y.index)
        self.future_columns_ = self._future_columns(X)
        self.n_future_ = len(self.future_columns_)
        self._seen = (y, X)
        both = y if X is None else pd.concat([y, X], axis=1)
        what = "y" if X is None else "y or X"
        values = as_numeric(both, what).to_numpy(np.float64)
        _check_observed(values, what, list(both.columns), y.index, self._reads_missing())
        check_float32_range(np.nan_to_num(values), what, list(both.columns))
        self.__dict__.pop("time_unit_", None)            # set from this fit's index
        self.loc_, self.scale_, self.variance_unit_ = self._scaling(
            values, list(both.columns), self.n_targets_)
        shape = dict(n_features=values.shape[1], window=self.window, horizon=self.horizon_,
                     n_targets=self.n_targets_, n_future=self.n_future_)
        pretrained = getattr(self, "pretrained_net_", None)
        if pretrained is not None:
            self._check_pretrained(shape, list(both.columns))
            self.horizon_ = shape["horizon"]
            if getattr(self, "meta", None) is not None:
                self._maml_adapt(self._training_set(), shape)
                return self
        self._train(self._training_set(), start_from=pretrained, **shape)
        return self

    def _scaling(self, values: np.ndarray, columns: list, n_targets: int):
        """``(loc, scale, variance_unit)`` that standardise the columns of ``values``.

        Mean and standard deviation per column (``standardize=True``; a constant column
        keeps scale 1), or none. With ``loss="qlike"`` a variance target stays a variance:
        divided by its mean, never centred (``variance_unit`` is then 1, the loss's unit).
        """
        if self.standardize:
            with np.errstate(over="ignore", invalid="ignore"):
                std = np.nanstd(values, axis=0)
            if not np.isfinite(std).all() or (std > np.finfo(np.float32).max).any():
                col = columns[int(np.argmax(~np.isfinite(std) | (std > 3e38)))]
                raise ValueError(
                    f"Column {col!r} is too large to standardise (its variance overflows). "
                    "Rescale it first, e.g. divide by a power of ten or take log returns."
                )
            loc, scale = np.nanmean(values, axis=0), np.where(std > 0, std, 1.0)
        else:
            loc, scale = np.zeros(values.shape[1]), np.ones(values.shape[1])
        unit = self._check_variance_target(values[:, :n_targets], columns[:n_targets])
        variance_unit = 1.0                            # loss="qlike": the loss's target unit
        if self.loss == "qlike" and self.standardize:
            means = np.nanmean(values[:, :n_targets], axis=0)
            loc[:n_targets] = 0.0
            scale[:n_targets] = np.where(means > 0, means, unit)
        elif self.loss == "qlike":
            variance_unit = unit
        return loc, scale, variance_unit

    # -- pretraining on a panel (sktime's pretrain) ----------------------------------
    def _pretrain(self, y, X=None, fh=None):
        """One global net over every series of the panel ``y`` (sktime's ``pretrain``).

        Each series is standardised by its own mean and standard deviation (so series in
        different units train together) and cut into windows that never cross into
        another series; each is validated on its own most recent samples. The trained
        engine is kept as ``pretrained_net_``; ``fit`` on a series then starts from its
        weights (fine-tuning, with ``freeze``) instead of a random initialisation.
        """
        if fh is None:
            raise ValueError(
                f"{type(self).__name__}.pretrain needs fh: the net forecasts steps "
                "1..max(fh) at once, and fit fine-tunes that same head. Pass e.g. "
                "fh=[1, 2, 3, 4, 5]."
            )
        self._check_hyperparams()
        if getattr(self, "calendar", None) not in (None, False):
            raise ValueError(
                f"{type(self).__name__}.pretrain does not build calendar features yet "
                f"(calendar={self.calendar!r}): pretrain and fine-tune with calendar=None, "
                "or give the calendar as columns of X with future_X=None."
            )
        if not fh.is_relative:
            raise ValueError(
                f"{type(self).__name__}.pretrain takes fh as steps ahead (relative), e.g. "
                "fh=[1, 2, 3, 4, 5]: a panel's series end at different dates."
            )
        return self._pretrain_on(y, X, int(np.max(fh.to_numpy())), start_from=None)

    def _pretrain_update(self, y, X=None, fh=None):
        """Another panel (or batch of one): training continues from the pretrained weights."""
        shape = self.pretrained_shape_
        if fh is not None:
            if not fh.is_relative or int(np.max(fh.to_numpy())) != shape["horizon"]:
                raise ValueError(
                    f"{type(self).__name__} was pretrained for fh up to "
                    f"{shape['horizon']} steps; pretrain again with that horizon, or "
                    "start from a new estimator."
                )
        return self._pretrain_on(y, X, shape["horizon"], start_from=self.pretrained_net_)

    def _pretrain_on(self, y, X, horizon: int, start_from):
        name = type(self).__name__
        series = _panel_series(y, X, name)
        n_targets = y.shape[1]
        columns = [*y.columns, *([] if X is None else X.columns)]
        blocks, dts, ends, starts, offset, unit = [], [], [], [], 0, None
        min_rows = self.window + horizon
        for label, part, index in series:
            values = as_numeric(part, "y" if X is None else "y or X").to_numpy(np.float64)
            _check_observed(values, "y", columns, index, allow_nan=False)
            check_float32_range(values, "y", columns)
            if len(values) < min_rows:
                raise ValueError(
                    f"Series {label!r} of the panel has {len(values)} observations, fewer "
                    f"than window + max(fh) = {self.window} + {horizon} = {min_rows} needed "
                    "for one training sample. Drop it, give it more history, or lower "
                    "window or fh."
                )
            loc, scale, _ = self._scaling(values, columns, n_targets)
            blocks.append(((values - loc) / scale).astype(np.float32))
            if nets.reads_time(self._module):
                dt, unit = _elapsed(index, unit)          # one time unit for the panel
                dts.append(dt)
            n_ends = len(values) - horizon - self.window + 1
            ends.append(offset + self.window - 1 + np.arange(n_ends))
            starts.append(np.full(n_ends, offset))
            offset += len(values)
        device = resolve_device(self.device)
        features = torch.as_tensor(np.concatenate(blocks), device=device)
        dataset = WindowDataset(
            features, torch.as_tensor(np.concatenate(ends), device=device), self.window,
            targets=features[:, :n_targets],
            target_offsets=torch.arange(1, horizon + 1, device=device),
            dt=torch.as_tensor(np.concatenate(dts), device=device) if dts else None,
            starts=torch.as_tensor(np.concatenate(starts), device=device))
        shape = dict(n_features=len(columns), window=self.window, horizon=horizon,
                     n_targets=n_targets, n_future=0)
        if start_from is not None:
            self._check_pretrained(shape, columns)
        if getattr(self, "meta", None) is None:
            self._train(dataset, start_from=start_from, freeze=None, **shape)
            # Only pretrained_* attributes survive: sktime keeps them apart from fit's.
            self.pretrained_net_ = self.__dict__.pop("net_")
            self.__dict__.pop("_calibration", None)
        else:
            self.pretrained_net_, losses = self._meta_pretrain(dataset, start_from, shape)
            self.pretrained_meta_loss_ = [*getattr(self, "pretrained_meta_loss_", []), *losses]
        self.pretrained_shape_ = {**shape, "columns": columns}
        self.pretrained_series_ = [*getattr(self, "pretrained_series_", []),
                                   *[label for label, _, _ in series]]
        return self

    def _maml(self) -> MAML:
        return MAML() if self.meta == "maml" else self.meta

    def _meta_pretrain(self, dataset: WindowDataset, start_from, shape: dict):
        """A new engine meta-trained by MAML on ``dataset`` (from ``start_from``'s weights)."""
        net = self._build_engine(n_windows=len(dataset), starts=_starts(dataset), freeze=None,
                                 **shape)
        with net._seeded():
            net.initialize()
        if start_from is not None:
            net.module_.load_state_dict(start_from.module_.state_dict())
        losses = meta_train(net, dataset, self._maml(), epochs=self.max_epochs,
                            grad_clip=self.grad_clip)
        return net, losses

    def _maml_adapt(self, dataset: WindowDataset, shape: dict) -> None:
        """``fit`` after a MAML ``pretrain``: the pretrained weights, adapted by MAML's
        inner steps on the last ``support`` training windows (before the validation tail,
        which calibrates the intervals of point models, as after any fit)."""
        config = self._maml()
        net = self._build_engine(n_windows=len(dataset), **shape)
        self._continue_from(self.pretrained_net_, net, weights_only=True)
        train = dataset if net.train_split is None else net.train_split(dataset)[0]
        x, y = train[torch.arange(max(0, len(train) - config.support), len(train))]
        x = x["x"] if isinstance(x, dict) else x
        net.module_.train()
        with net._seeded():
            adapt(net.module_, net.criterion_, x, y, inner_lr=config.inner_lr,
                  inner_steps=config.inner_steps)
        net.module_.eval()
        self.net_ = net
        self._calibrate(dataset)

    def _check_pretrained(self, shape: dict, columns: list) -> None:
        """Refuse data that the pretrained net cannot read or forecast."""
        name, pre = type(self).__name__, self.pretrained_shape_
        if shape["n_features"] != pre["n_features"] or shape["n_targets"] != pre["n_targets"]:
            raise ValueError(
                f"{name} was pretrained on {pre['n_targets']} target column(s) and "
                f"{pre['n_features'] - pre['n_targets']} exogenous column(s) "
                f"({pre['columns']}); this data has {shape['n_targets']} and "
                f"{shape['n_features'] - shape['n_targets']} ({columns}). Pass data with the "
                "same columns, or pretrain again."
            )
        if shape["horizon"] > pre["horizon"]:
            raise ValueError(
                f"max(fh)={shape['horizon']} exceeds the horizon {pre['horizon']} that "
                f"{name} was pretrained for. Use fh up to {pre['horizon']}, or pretrain "
                "with a longer fh."
            )
        if shape.get("n_future"):
            raise ValueError(
                f"{name} was pretrained without known-future covariates; fine-tune with "
                "future_X=None."
            )
        shape["horizon"] = pre["horizon"]        # the pretrained head forecasts these steps

    def _update(self, y, X=None, update_params=True):
        old_y, old_X = self._seen
        y, X = self._align_Xy(y, X)
        if self.n_exog_ and X is None:
            raise ValueError(
                f"{type(self).__name__} was fitted with exogenous X; pass the X that goes "
                "with the new y to update as well."
            )
        X = self._add_calendar(X, y.index)
        self._seen = (y.combine_first(old_y), None if old_X is None else X.combine_first(old_X))
        if update_params and self.update_epochs > 0:
            self._finetune(self._training_set(), self.update_epochs)
        return self

    def _last_window(self, X_future: pd.DataFrame | None = None) -> WindowDataset:
        """The last window; with known-future columns, also ``X_future`` at steps 1..horizon."""
        y, X = self._seen
        values = self._frame(y.iloc[-self.window:], None if X is None else X.iloc[-self.window:])
        if len(values) < self.window:
            raise ValueError(
                f"{type(self).__name__} needs the last window={self.window} observations to "
                f"forecast; only {len(values)} are known."
            )
        features = torch.as_tensor(values, device=self.net_.device)
        end = torch.tensor([self.window - 1], device=features.device)
        dt = self._dt(y.index[-self.window:], features.device)
        if not self.n_future_:
            return WindowDataset(features, end, self.window, dt=dt)
        past = values[:, self._future_positions()]
        rows = np.concatenate([past, self._future_X(X_future)])                   # [W+H, K]
        offsets = torch.arange(1, self.horizon_ + 1, device=features.device)
        return WindowDataset(features, end, self.window, target_offsets=offsets,
                             future=torch.as_tensor(rows, device=features.device), dt=dt)

    # -- serving (skfin.export) -------------------------------------------------------
    def _serving_spec(self) -> dict:
        """What :mod:`skfin.export` builds the served graph from: ``loc_``/``scale_``."""
        y, X = self._seen
        T = self.n_targets_
        return {"scaling": {"in_loc": self.loc_, "in_scale": self.scale_,
                            "out_loc": self.loc_[:T], "out_scale": self.scale_[:T]},
                "window": self.window, "horizon": self.horizon_,
                "features": [*y.columns, *([] if X is None else X.columns)],
                "targets": list(y.columns), "dt": nets.reads_time(self._module)}

    def _serving_windows(self, X=None, n: int | None = None):
        """The raw last window ``[1, window, n_features]`` that ``predict`` reads (``n``:
        the windows ending at the last ``n`` rows seen); with ``dt`` for a net that reads
        time. See :func:`skfin.export.windows`."""
        y, X_seen = self._seen
        frame = y if X_seen is None else pd.concat([y, X_seen], axis=1)
        values = frame.to_numpy(np.float32, copy=True)
        ends = np.arange(len(values))[self.window - 1:][-(n or 1):]
        dataset = WindowDataset(torch.as_tensor(values), torch.as_tensor(ends), self.window,
                                dt=self._dt(y.index, "cpu"))
        x = dataset[torch.arange(len(dataset))][0]
        if isinstance(x, dict):
            return x["x"].numpy(), x["dt"].numpy()
        return x.numpy()

    def _unscale(self, values: np.ndarray) -> np.ndarray:
        """Map standardised target values ``[..., T, ...]`` (T on axis 1) back to levels."""
        shape = (1, self.n_targets_) + (1,) * (values.ndim - 2)
        return (values * self.scale_[:self.n_targets_].reshape(shape)
                + self.loc_[:self.n_targets_].reshape(shape))

    def _predict(self, fh, X=None):
        steps = self._steps(fh)
        point = self._point(self._forward(self._last_window(X), paths=False))[0]  # [H, T]
        values = self._unscale(point[steps - 1])                              # [len(fh), T]
        check_output(values, type(self).__name__)
        index = fh.to_absolute_index(self.cutoff)
        return pd.DataFrame(values, index=index, columns=self._seen[0].columns)

    def _predict_quantiles(self, fh, X=None, alpha=None):
        steps = self._steps(fh)
        levels = [float(a) for a in alpha]
        q = self._quantiles(self._forward(self._last_window(X)), levels)[0]   # [H, T, L]
        q = self._unscale(q[steps - 1])                                       # [len(fh), T, L]
        check_output(q, type(self).__name__)
        columns = pd.MultiIndex.from_product([list(self._seen[0].columns), alpha])
        return pd.DataFrame(q.reshape(len(steps), -1), index=fh.to_absolute_index(self.cutoff),
                            columns=columns)

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Two tiny configurations that keep sktime's conformance suite to seconds.

        The architecture's sizes come from its registry entry
        (``test_params`` of :class:`skfin.registry.Architecture`); the training settings are
        shared: a few epochs, the second configuration with quantiles, no validation and
        per-window normalisation (so the suite runs every net inside
        :class:`skfin.nets.WindowNorm` too).
        """
        from skfin.registry import tiny_params

        small, smaller = tiny_params(cls)
        return [
            {**small, "max_epochs": 2, "batch_size": 16, "random_state": 0},
            {**smaller, "max_epochs": 1, "output": "quantile", "valid_fraction": 0.0,
             "update_epochs": 1, "standardize": "window", "random_state": 1},
        ]


@fill_doc
class MLPForecaster(NeuralForecaster):
    """Feed-forward net on the flattened window, as an sktime forecaster.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {net_params}
    {common_params}
    {forecaster_params}

    Examples
    --------
    >>> from skfin.datasets import load_airline
    >>> from skfin.forecasting import MLPForecaster
    >>> y = load_airline()
    >>> f = MLPForecaster(window=24, max_epochs=20, random_state=0).fit(y, fh=[1, 2, 3])
    >>> f.predict().shape
    (3,)
    """

    _module = nets.MLP

    def __init__(self, *, window=32, hidden_size=32, num_layers=1, dropout=0.1,
                 output="point", quantiles=None,
                 uncertainty="head", n_draws=50, loss=None, max_epochs=100, batch_size=64,
                 lr=1e-3, weight_decay=1e-2, grad_clip=1.0, lr_schedule=None,
                 valid_fraction=0.2, patience=10, mixed_precision="auto", device="auto",
                 random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class LSTMForecaster(NeuralForecaster):
    """LSTM over the past window, as an sktime forecaster.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {net_params}
    {common_params}
    {forecaster_params}

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import LSTMForecaster
    >>> close = load_sp500()["Close"]                        # dates as loaded: trading days
    >>> r = 100 * np.log(close).diff().dropna().iloc[-1500:]
    >>> f = LSTMForecaster(window=20, hidden_size=16, max_epochs=2, output="quantile",
    ...                    random_state=0).fit(r, fh=[1, 2, 3, 4, 5])
    >>> f.predict_interval(coverage=0.9).shape
    (5, 2)
    """

    _module = nets.LSTM

    def __init__(self, *, window=32, hidden_size=32, num_layers=1, dropout=0.1,
                 bidirectional=False, attention=False, output="point", quantiles=None,
                 uncertainty="head", n_draws=50,
                 loss=None, max_epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2,
                 grad_clip=1.0, lr_schedule=None, valid_fraction=0.2, patience=10,
                 mixed_precision="auto", device="auto", random_state=None, verbose=0,
                 update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class GRUForecaster(NeuralForecaster):
    """GRU over the past window, as an sktime forecaster.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {net_params}
    {common_params}
    {forecaster_params}

    Examples
    --------
    >>> from skfin.datasets import load_vix
    >>> from skfin.forecasting import GRUForecaster
    >>> vix = load_vix().ffill()                               # business days, as loaded
    >>> f = GRUForecaster(window=20, max_epochs=2, random_state=0).fit(vix, fh=[1, 5, 10])
    >>> [str(day.date()) for day in f.predict().index]
    ['2019-01-04', '2019-01-10', '2019-01-17']
    """

    _module = nets.GRU

    def __init__(self, *, window=32, hidden_size=32, num_layers=1, dropout=0.1,
                 bidirectional=False, attention=False, output="point", quantiles=None,
                 uncertainty="head", n_draws=50,
                 loss=None, max_epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2,
                 grad_clip=1.0, lr_schedule=None, valid_fraction=0.2, patience=10,
                 mixed_precision="auto", device="auto", random_state=None, verbose=0,
                 update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class AttentionLSTMForecaster(NeuralForecaster):
    """LSTM with additive (Bahdanau) attention pooling, as an sktime forecaster.

    The same net as ``LSTMForecaster(attention=True)``, as an architecture of its own;
    ``net_.module_.explain(x)["attention"]`` gives the weights over the window.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {net_params}
    {common_params}
    {forecaster_params}

    Examples
    --------
    >>> from skfin.datasets import load_airline
    >>> from skfin.forecasting import AttentionLSTMForecaster
    >>> y = load_airline()
    >>> f = AttentionLSTMForecaster(window=24, max_epochs=2, random_state=0).fit(y, fh=[1, 2, 3])
    >>> f.predict().shape
    (3,)
    """

    _module = nets.AttentionLSTM

    def __init__(self, *, window=32, hidden_size=32, num_layers=1, dropout=0.1,
                 bidirectional=False, output="point", quantiles=None,
                 uncertainty="head", n_draws=50, loss=None,
                 max_epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0,
                 lr_schedule=None, valid_fraction=0.2, patience=10, mixed_precision="auto",
                 device="auto", random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class ResidualLSTMForecaster(NeuralForecaster):
    """Stacked LSTMs with residual connections and layer normalisation, as a forecaster.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {net_params}
    {common_params}
    {forecaster_params}

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import ResidualLSTMForecaster
    >>> close = load_sp500()["Close"]                        # dates as loaded: trading days
    >>> r = 100 * np.log(close).diff().dropna().iloc[-1500:]
    >>> f = ResidualLSTMForecaster(window=20, max_epochs=2, output="student_t",
    ...                            random_state=0).fit(r, fh=[1, 2, 3])
    >>> f.predict_interval(coverage=[0.8, 0.95]).shape
    (3, 4)
    """

    _module = nets.ResidualLSTM

    def __init__(self, *, window=32, hidden_size=32, num_layers=2, dropout=0.1,
                 output="point", quantiles=None,
                 uncertainty="head", n_draws=50, loss=None, max_epochs=100, batch_size=64,
                 lr=1e-3, weight_decay=1e-2, grad_clip=1.0, lr_schedule=None,
                 valid_fraction=0.2, patience=10, mixed_precision="auto", device="auto",
                 random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class BayesianLSTMForecaster(NeuralForecaster):
    """LSTM with variational dropout and a Gaussian head, sampled by MC dropout, as a forecaster.

    Intervals come from the mixture of the ``n_draws`` dropout passes' Gaussians (noise
    plus model uncertainty); the point forecast is the passes' mean. See
    :class:`skfin.nets.BayesianLSTM`.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {net_params}
    {common_params}
    {forecaster_params}

    Notes
    -----
    The default learning rate is 3e-3, not 1e-3: the likelihood's gradient for the mean is
    scaled by ``1 / scale**2`` and dropout adds noise, so at 1e-3 early stopping on a short
    validation tail often ends training before the mean is learned.

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import BayesianLSTMForecaster
    >>> close = load_sp500()["Close"]                        # dates as loaded: trading days
    >>> r = 100 * np.log(close).diff().dropna().iloc[-1500:]
    >>> f = BayesianLSTMForecaster(window=20, max_epochs=2, n_draws=20,
    ...                            random_state=0).fit(r, fh=[1, 2, 3])
    >>> f.predict_interval(coverage=[0.8, 0.95]).shape
    (3, 4)
    """

    _module = nets.BayesianLSTM

    def __init__(self, *, window=32, hidden_size=32, num_layers=1, dropout=0.2,
                 output="gaussian", quantiles=None,
                 uncertainty="mc_dropout", n_draws=50, loss=None, max_epochs=100,
                 batch_size=64, lr=3e-3, weight_decay=1e-2, grad_clip=1.0, lr_schedule=None,
                 valid_fraction=0.2, patience=10, mixed_precision="auto", device="auto",
                 random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class CNNLSTMForecaster(NeuralForecaster):
    """Causal Conv1d + BatchNorm + ReLU + max-pooling front end feeding an LSTM, as a forecaster.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads. Any window works: pooling blocks are
        aligned to the window's end.
    {net_params}
    {common_params}
    {forecaster_params}

    Examples
    --------
    >>> from skfin.datasets import load_vix
    >>> from skfin.forecasting import CNNLSTMForecaster
    >>> vix = load_vix().ffill()
    >>> f = CNNLSTMForecaster(window=30, max_epochs=2, random_state=0).fit(vix, fh=[1, 2, 3, 4, 5])
    >>> f.predict().shape
    (5,)
    """

    _module = nets.CNNLSTM

    def __init__(self, *, window=32, channels=64, kernel_size=3, pool_size=1, hidden_size=32,
                 num_layers=1, dropout=0.1, output="point", quantiles=None,
                 uncertainty="head", n_draws=50, loss=None,
                 max_epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0,
                 lr_schedule=None, valid_fraction=0.2, patience=10, mixed_precision="auto",
                 device="auto", random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class TCNForecaster(NeuralForecaster):
    """Temporal convolutional network (Bai et al., 2018), as an sktime forecaster.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads. A window longer than the receptive field,
        ``1 + 2 (kernel_size - 1)(2^num_blocks - 1)`` steps, warns at fit: the extra
        observations cannot change the forecast.
    {net_params}
    {common_params}
    {forecaster_params}

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import TCNForecaster
    >>> close = load_sp500()["Close"]                        # dates as loaded: trading days
    >>> r = 100 * np.log(close).diff().dropna().iloc[-1500:]
    >>> f = TCNForecaster(window=60, max_epochs=2, output="quantile",
    ...                   random_state=0).fit(r, fh=[1, 2, 3, 4, 5])
    >>> f.predict_quantiles(alpha=[0.05, 0.5, 0.95]).shape
    (5, 3)
    """

    _module = nets.TCN

    def __init__(self, *, window=32, channels=16, kernel_size=3, num_blocks=4, dropout=0.1,
                 weight_norm=True, output="point", quantiles=None,
                 uncertainty="head", n_draws=50, loss=None, max_epochs=100,
                 batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0, lr_schedule=None,
                 valid_fraction=0.2, patience=10, mixed_precision="auto", device="auto",
                 random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class WaveNetForecaster(NeuralForecaster):
    """WaveNet-style gated dilated causal convolutions, as an sktime forecaster.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads. A window longer than the receptive field,
        ``1 + num_cycles (kernel_size - 1)(2^num_layers - 1)`` steps, warns at fit.
    {net_params}
    {common_params}
    {forecaster_params}

    Examples
    --------
    >>> from skfin.datasets import load_airline
    >>> from skfin.forecasting import WaveNetForecaster
    >>> y = load_airline()
    >>> f = WaveNetForecaster(window=24, num_layers=4, max_epochs=2,
    ...                       random_state=0).fit(y, fh=[1, 2, 3])
    >>> f.predict().shape
    (3,)
    """

    _module = nets.WaveNet

    def __init__(self, *, window=32, channels=16, kernel_size=2, num_layers=5, num_cycles=2,
                 dropout=0.1, output="point", quantiles=None,
                 uncertainty="head", n_draws=50, loss=None, max_epochs=100,
                 batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0, lr_schedule=None,
                 valid_fraction=0.2, patience=10, mixed_precision="auto", device="auto",
                 random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class TransformerForecaster(NeuralForecaster):
    """Transformer encoder over the past window (Vaswani et al., 2017), as a forecaster.

    See :class:`skfin.nets.Transformer`.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {net_params}
    {common_params}
    {forecaster_params}

    References
    ----------
    Vaswani et al. (2017), "Attention is all you need", NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import TransformerForecaster
    >>> close = load_sp500()["Close"]                        # dates as loaded: trading days
    >>> r = 100 * np.log(close).diff().dropna().iloc[-1500:]
    >>> f = TransformerForecaster(window=20, max_epochs=2, output="student_t",
    ...                           random_state=0).fit(r, fh=[1, 2, 3, 4, 5])
    >>> f.predict_interval(coverage=0.9).shape
    (5, 2)
    """

    _module = nets.Transformer

    def __init__(self, *, window=32, d_model=32, n_heads=4, num_layers=2, dim_feedforward=64,
                 dropout=0.1, norm="pre", readout="last", causal=False, output="point",
                 quantiles=None, uncertainty="head", n_draws=50, loss=None, max_epochs=100,
                 batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0, lr_schedule=None,
                 valid_fraction=0.2, patience=10, mixed_precision="auto", device="auto",
                 random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class PatchTSTForecaster(NeuralForecaster):
    """PatchTST (Nie et al., 2023): channel-independent patch Transformer, as a forecaster.

    ``y`` is the first input channel (exogenous ``X`` columns follow), so RevIN's
    de-normalisation maps the forecasts back with each window's own statistics of ``y``;
    see :class:`skfin.nets.PatchTST`.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {net_params}
    {common_params}
    {forecaster_params}

    References
    ----------
    Nie, Nguyen, Sinthong and Kalagnanam (2023), "A time series is worth 64 words:
    long-term forecasting with Transformers", ICLR.

    Examples
    --------
    >>> from skfin.datasets import load_airline
    >>> from skfin.forecasting import PatchTSTForecaster
    >>> y = load_airline()
    >>> f = PatchTSTForecaster(window=36, patch_len=12, stride=6, max_epochs=5,
    ...                        random_state=0).fit(y, fh=list(range(1, 13)))
    >>> f.predict().shape
    (12,)
    """

    _module = nets.PatchTST

    def __init__(self, *, window=32, patch_len=16, stride=8, padding_patch="end", d_model=32,
                 n_heads=4, num_layers=2, dim_feedforward=64, dropout=0.1, revin=True,
                 revin_affine=True, output="point", quantiles=None, uncertainty="head",
                 n_draws=50, loss=None, max_epochs=100, batch_size=64, lr=1e-3,
                 weight_decay=1e-2, grad_clip=1.0, lr_schedule=None, valid_fraction=0.2,
                 patience=10, mixed_precision="auto", device="auto", random_state=None,
                 verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class AutoformerForecaster(NeuralForecaster):
    """Autoformer (Wu et al., 2021): decomposition Transformer with Auto-Correlation.

    ``net_.module_.explain(x)`` returns the seasonal and trend parts of the window and of
    the decoder's forecast; see :class:`skfin.nets.Autoformer`.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {net_params}
    {common_params}
    {forecaster_params}

    References
    ----------
    Wu, Xu, Wang and Long (2021), "Autoformer: decomposition Transformers with
    auto-correlation for long-term series forecasting", NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_airline
    >>> from skfin.forecasting import AutoformerForecaster
    >>> y = np.log(load_airline())
    >>> f = AutoformerForecaster(window=36, moving_avg=13, max_epochs=5, output="quantile",
    ...                          random_state=0).fit(y, fh=list(range(1, 13)))
    >>> f.predict_quantiles(alpha=[0.1, 0.5, 0.9]).shape
    (12, 3)
    """

    _module = nets.Autoformer

    def __init__(self, *, window=32, d_model=32, num_layers=2, num_decoder_layers=1,
                 dim_feedforward=64, moving_avg=25, factor=1.0, dropout=0.1, output="point",
                 quantiles=None, uncertainty="head", n_draws=50, loss=None, max_epochs=100,
                 batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0, lr_schedule=None,
                 valid_fraction=0.2, patience=10, mixed_precision="auto", device="auto",
                 random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class NBEATSForecaster(NeuralForecaster):
    """N-BEATS (Oreshkin et al., 2020), as an sktime forecaster.

    The blocks backcast ``y`` (all its columns, which come first among the inputs); an
    exogenous ``X`` is read by every block (as in N-BEATSx) and never backcast. The
    forecast is the sum of the stacks' forecasts, also for the location (median) of the
    distribution (quantile) heads; with ``stacks=("trend", "seasonality")``,
    ``net_.module_.explain(x)`` returns the two parts (on the standardised scale when
    ``standardize=True``). See :mod:`skfin.nets.basis`.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads (the paper uses 2 to 7 horizons).
    {net_params}
    {common_params}
    {forecaster_params}

    References
    ----------
    Oreshkin, Carpov, Chapados and Bengio (2020), "N-BEATS: Neural basis expansion analysis
    for interpretable time series forecasting", ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_airline
    >>> from skfin.forecasting import NBEATSForecaster
    >>> y = np.log(load_airline())
    >>> f = NBEATSForecaster(window=36, stacks=("trend", "seasonality"), max_epochs=5,
    ...                      random_state=0).fit(y, fh=list(range(1, 13)))
    >>> f.predict().shape
    (12,)
    """

    _module = nets.NBEATS

    def __init__(self, *, window=32, stacks=("generic",), num_blocks=3, num_layers=4,
                 hidden_size=64, degree=2, harmonics=None, share_weights=None, dropout=0.0,
                 output="point", quantiles=None, uncertainty="head", n_draws=50, loss=None,
                 max_epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0,
                 lr_schedule=None, valid_fraction=0.2, patience=10, mixed_precision="auto",
                 device="auto", random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class MultiTaskForecaster(NeuralForecaster):
    """LSTM with attention pooling and auxiliary volatility and confidence heads, as a forecaster.

    One output per horizon step and per column of ``y`` (asset); two auxiliary heads on the
    same representation predict ``|y|`` and the probability that the point forecast has the
    right sign, and add ``vol_weight`` and ``confidence_weight`` times their losses to the
    training loss (validation uses the main loss alone). ``net_.module_.explain(x)``
    returns the attention weights and the auxiliary predictions (standardised scale when
    ``standardize=True``). See :mod:`skfin.nets.multitask`.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {net_params}
    {common_params}
    {forecaster_params}

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skfin.datasets import load_nasdaq, load_sp500
    >>> from skfin.forecasting import MultiTaskForecaster
    >>> close = pd.DataFrame({"sp500": load_sp500()["Close"], "nasdaq": load_nasdaq()["Close"]})
    >>> r = (100 * np.log(close).diff()).dropna().iloc[-1000:]    # common trading days
    >>> f = MultiTaskForecaster(window=20, hidden_size=16, max_epochs=2,
    ...                         random_state=0).fit(r, fh=[1, 2, 3])
    >>> f.predict().shape                                   # 3 steps, 2 assets
    (3, 2)
    """

    _module = nets.MultiTaskNet

    def __init__(self, *, window=32, hidden_size=32, num_layers=1, dropout=0.1,
                 vol_weight=0.1, confidence_weight=0.1, output="point", quantiles=None,
                 uncertainty="head", n_draws=50, loss=None, max_epochs=100, batch_size=64,
                 lr=1e-3, weight_decay=1e-2, grad_clip=1.0, lr_schedule=None,
                 valid_fraction=0.2, patience=10, mixed_precision="auto", device="auto",
                 random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class TFTForecaster(NeuralForecaster):
    """Temporal Fusion Transformer (Lim et al., 2021), with ``X`` as known-future covariates.

    See :class:`skfin.nets.TFT`. The exogenous ``X`` is read twice: its past rows enter the
    window next to ``y`` (LSTM encoder), and its rows at the forecast steps ``t+1 .. t+H``
    feed the LSTM decoder as known-future covariates (calendar features, scheduled
    events). So ``fit`` needs ``X`` on the index of ``y``, and ``predict`` needs ``X`` with
    a row for *every* step ``1 .. max(fh)`` after the cutoff (a clear ``ValueError`` says
    which rows are missing). Without ``X`` the decoder runs on learned position embeddings.
    ``net_.module_.explain(x, x_future)`` returns the variable-selection weights of the
    past and future inputs and the attention of each forecast step.

    Parameters
    ----------
    window : int, default=16
        Past observations each forecast reads. Shorter than the other nets' default of
        32: the TFT runs a GRN per input variable per step, so its cost grows with
        ``window * n_features``; pass a longer window where the data allow.
    {net_params}
    {common_params}
    {forecaster_params}

    References
    ----------
    Lim, Arik, Loeff and Pfister (2021), "Temporal Fusion Transformers for interpretable
    multi-horizon time series forecasting", International Journal of Forecasting 37(4).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import TFTForecaster
    >>> close = load_sp500()["Close"].iloc[-1001:]
    >>> days = close.index[1:]                                 # the real trading dates
    >>> r = (100 * np.log(close).diff()).iloc[1:]
    >>> X = pd.DataFrame({"dow": days.dayofweek, "month": days.month}, index=days, dtype=float)
    >>> f = TFTForecaster(window=20, max_epochs=2, output="quantile", random_state=0)
    >>> f = f.fit(r.iloc[:-5], X=X.iloc[:-5], fh=[1, 2, 3, 4, 5])
    >>> [str(day.date()) for day in f.predict(X=X.iloc[-5:]).index]   # the next 5 days
    ['2018-12-24', '2018-12-26', '2018-12-27', '2018-12-28', '2018-12-31']
    >>> f.predict_interval(X=X.iloc[-5:], coverage=0.8).shape
    (5, 2)
    """

    _module = nets.TFT

    def __init__(self, *, window=16, hidden_size=16, n_heads=4, num_layers=1, dropout=0.1,
                 output="point", quantiles=None, uncertainty="head", n_draws=50, loss=None,
                 max_epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0,
                 lr_schedule=None, valid_fraction=0.2, patience=10, mixed_precision="auto",
                 device="auto", random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class MambaForecaster(NeuralForecaster):
    """Mamba: selective state-space blocks with a parallel scan (Gu and Dao, 2023), as an sktime forecaster.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {net_params}
    {common_params}
    {forecaster_params}

    References
    ----------
    Gu and Dao (2023), "Mamba: linear-time sequence modeling with selective state spaces",
    arXiv:2312.00752.

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import MambaForecaster
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna()
    >>> f = MambaForecaster(window=30, max_epochs=2, random_state=0)
    >>> f.fit(r.iloc[-1000:], fh=[1, 2, 3]).predict_interval(coverage=0.9).shape
    (3, 2)
    """

    _module = nets.Mamba

    def __init__(self, *, window=32, d_model=32, d_state=16, d_conv=4, expand=2, num_layers=2,
                 dt_rank=None, dt_min=0.001, dt_max=0.1, dropout=0.1,
                 output="point", quantiles=None, uncertainty="head", n_draws=50, loss=None,
                 max_epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0,
                 lr_schedule=None, valid_fraction=0.2, patience=10, mixed_precision="auto",
                 device="auto", random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class S4DForecaster(NeuralForecaster):
    """S4D: diagonal state-space layers applied as FFT convolutions (Gu et al., 2022), as an sktime forecaster.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {net_params}
    {common_params}
    {forecaster_params}

    References
    ----------
    Gu, Gupta, Goel and Ré (2022), "On the parameterization and initialization of diagonal
    state space models", NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import S4DForecaster
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna()
    >>> f = S4DForecaster(window=60, max_epochs=2, random_state=0)
    >>> f.fit(r.iloc[-1000:], fh=[1, 2, 3]).predict().shape
    (3,)
    """

    _module = nets.S4D

    def __init__(self, *, window=32, d_model=32, d_state=64, num_layers=2, dt_min=0.001,
                 dt_max=0.1, init="lin", dropout=0.1,
                 output="point", quantiles=None, uncertainty="head", n_draws=50, loss=None,
                 max_epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0,
                 lr_schedule=None, valid_fraction=0.2, patience=10, mixed_precision="auto",
                 device="auto", random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class DeepKoopmanForecaster(NeuralForecaster):
    """Deep Koopman: encoder, linear operator and decoder (Lusch, Kutz and Brunton, 2018), as an sktime forecaster.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {net_params}
    {common_params}
    {forecaster_params}

    References
    ----------
    Lusch, Kutz and Brunton (2018), "Deep learning for universal linear embeddings of
    nonlinear dynamics", Nature Communications 9, 4950.

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_vix
    >>> from skfin.forecasting import DeepKoopmanForecaster
    >>> vix = np.log(load_vix().dropna())
    >>> f = DeepKoopmanForecaster(window=20, max_epochs=2, random_state=0)
    >>> f.fit(vix.iloc[-1000:], fh=[1, 5, 10]).predict().shape
    (3,)
    """

    _module = nets.DeepKoopman

    def __init__(self, *, window=32, latent_dim=8, hidden_size=32, num_layers=2, delays=None,
                 stable=True, reconstruction_weight=1.0, linearity_weight=1.0,
                 prediction_weight=1.0,
                 output="point", quantiles=None, uncertainty="head", n_draws=50, loss=None,
                 max_epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0,
                 lr_schedule=None, valid_fraction=0.2, patience=10, mixed_precision="auto",
                 device="auto", random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class NeuralODEForecaster(NeuralForecaster):
    """ODE-RNN with a latent-ODE decoder (Chen et al., 2018; Rubanova et al., 2019), as an sktime forecaster.

    The time between observations is read from ``y``'s index: a DatetimeIndex counts
    calendar days (a weekend is three days, a holiday four), in units of its median gap
    (kept as ``time_unit_``); a PeriodIndex or integer index means equally spaced
    observations, so ``y.reset_index(drop=True)`` switches calendar time off. Forecast
    step ``h`` lies ``h`` units after the last observation. Needs
    ``pip install "skfin[ode]"`` (torchdiffeq).

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {net_params}
    {common_params}
    {forecaster_params}

    References
    ----------
    Chen, Rubanova, Bettencourt and Duvenaud (2018), "Neural ordinary differential
    equations", NeurIPS. Rubanova, Chen and Duvenaud (2019), "Latent ODEs for irregularly
    sampled time series", NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import NeuralODEForecaster
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna()
    >>> f = NeuralODEForecaster(window=10, hidden_size=8, max_epochs=1, random_state=0)
    >>> f = f.fit(r.iloc[-500:], fh=[1, 2])              # weekends: three days of dynamics
    >>> f.time_unit_, f.predict().shape
    (1.0, (2,))
    """

    _module = nets.NeuralODE

    def __init__(self, *, window=32, hidden_size=32, ode_hidden=32, solver="rk4", rtol=1e-3,
                 atol=1e-4, step_size=0.5, adjoint=False,
                 output="point", quantiles=None, uncertainty="head", n_draws=50, loss=None,
                 max_epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0,
                 lr_schedule=None, valid_fraction=0.2, patience=10, mixed_precision="auto",
                 device="auto", random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class CausalLSTMForecaster(_CausalEffect, NeuralForecaster):
    """Outcome under a treatment and under its counterfactual (TARNet/CRN-style LSTM), as an sktime forecaster.

    A forecaster like the others (``predict`` forecasts under the observed treatment);
    :meth:`~skfin.forecasting.CausalLSTMForecaster.effect` also estimates what the
    treatment does to ``y``, per window of the series and on average. ``treatment`` names
    the treatment column of ``X`` (or indexes the net's features ``[y | X]``: -1 is
    ``X``'s last column, or ``y`` itself without ``X``). Pass ``future_X=None`` when the
    treatment is observed, not scheduled.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {net_params}
    {common_params}
    {forecaster_params}

    References
    ----------
    Shalit, Johansson and Sontag (2017), "Estimating individual treatment effect:
    generalization bounds and algorithms", ICML. Bica, Alaa, Jordon and van der Schaar
    (2020), "Estimating counterfactual treatment outcomes over time through adversarially
    balanced representations", ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500, load_vix
    >>> from skfin.forecasting import CausalLSTMForecaster
    >>> r = 100 * np.log(load_sp500()["Close"]).diff()
    >>> vix = load_vix().reindex(r.index).ffill()
    >>> y = r.abs().iloc[-500:].rename("abs_r")
    >>> X = (vix > 20).astype(float).iloc[-500:].to_frame("high_vix")
    >>> f = CausalLSTMForecaster(window=5, hidden_size=8, treatment="high_vix", future_X=None,
    ...                          max_epochs=2, random_state=0).fit(y, X, fh=[1, 2])
    >>> per_window, average = f.effect(n_boot=100)
    >>> per_window.shape, list(average.columns)
    ((494, 2), [('abs_r', 1), ('abs_r', 2)])
    """

    _module = nets.CausalLSTM

    def __init__(self, *, window=32, hidden_size=32, num_layers=1, dropout=0.1,
                 embedding_size=8, treatment=-1,
                 output="point", quantiles=None, uncertainty="head", n_draws=50, loss=None,
                 max_epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0,
                 lr_schedule=None, valid_fraction=0.2, patience=10, mixed_precision="auto",
                 device="auto", random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())

    def _feature_names(self) -> list | None:
        if getattr(self, "_seen", None) is None:      # pretrain: a panel, not one series
            return None
        y, X = self._seen
        return [*y.columns, *([] if X is None else X.columns)]

    def _net_value(self, value: float, column: int) -> float:
        return (value - self.loc_[column]) / self.scale_[column]     # standardised like X

    def _effect_scale(self) -> np.ndarray:
        return self.scale_[:self.n_targets_]                          # per target, [T]

    def effect(self, *, treated=1.0, control=0.0, coverage=0.9, n_boot=1000):
        """The effect of the treatment on ``y``, per window of the data seen and on average.

        The windows are those trained on: every window of the data seen in ``fit`` and
        ``update`` whose ``max(fh)`` next steps are observed (their outcomes).

        Parameters
        ----------
{effect_params}

        Returns
        -------
        per_window : pandas.DataFrame
            One row per window, indexed by its last time stamp (when the treatment is
            set), columns ``(target, step)``: outcome under ``treated`` minus outcome
            under ``control``, in ``y``'s units.
        average : pandas.DataFrame
            Rows "effect", "lower" and "upper" (the average effect and its interval), the
            same columns.

        Notes
        -----
{effect_notes}
        """
        self.check_is_fitted()
        dataset = self._training_set()
        targets = dataset[torch.arange(len(dataset))][1].cpu().numpy()        # [n, H, T]
        effect, average = self._effect(dataset, targets, treated, control, coverage, n_boot)
        y = self._seen[0]
        columns = pd.MultiIndex.from_product([list(y.columns), range(1, self.horizon_ + 1)])
        effect, average = (v.transpose(0, 2, 1).reshape(len(v), -1) for v in (effect, average))
        return (pd.DataFrame(effect, index=y.index[dataset.ends.cpu().numpy()], columns=columns),
                pd.DataFrame(average, index=["effect", "lower", "upper"], columns=columns))

    effect.__doc__ = effect.__doc__.format(effect_params=_EFFECT_DOC, effect_notes=_EFFECT_NOTES)


@fill_doc
class NeuralCDEForecaster(NeuralForecaster):
    """Neural controlled differential equation (Kidger et al., 2020), as an sktime forecaster.

    Missing values are native: NaN in ``y`` or ``X`` is neither filled nor refused (sktime's
    ``capability:missing_values``); the path interpolates across it and its
    observational-intensity channel records it, and windows whose targets were not
    observed are left out of training. The time between observations is read from the
    index as in :class:`NeuralODEForecaster`. Needs ``pip install "skfin[ode]"`` (torchcde).

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {net_params}
    {common_params}
    {forecaster_params}

    References
    ----------
    Kidger, Morrill, Foster and Lyons (2020), "Neural controlled differential equations for
    irregular time series", NeurIPS.

    Examples
    --------
    WTI crude with its 290 missing days, as loaded:

    >>> import numpy as np
    >>> from skfin.datasets import load_wti
    >>> from skfin.forecasting import NeuralCDEForecaster
    >>> wti = load_wti()
    >>> r = 100 * np.log(wti.where(wti > 0)).diff().iloc[-600:]   # NaN where a price is
    >>> int(r.isna().sum())
    46
    >>> f = NeuralCDEForecaster(window=10, hidden_size=8, max_epochs=1, random_state=0)
    >>> bool(f.fit(r, fh=[1, 2]).predict().notna().all())
    True
    """

    _module = nets.NeuralCDE

    def __init__(self, *, window=32, hidden_size=32, vf_hidden=64, interpolation="cubic",
                 solver="rk4", rtol=1e-3, atol=1e-4, step_size=0.5, adjoint=False,
                 output="point", quantiles=None, uncertainty="head", n_draws=50, loss=None,
                 max_epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0,
                 lr_schedule=None, valid_fraction=0.2, patience=10, mixed_precision="auto",
                 device="auto", random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class LagLlamaForecaster(NeuralForecaster):
    """Lag-Llama (Rasul et al., 2023): a causal decoder over value-and-lag tokens, as a forecaster.

    ``y`` is the first input channel (exogenous ``X`` columns follow), so the per-window
    ``scaling`` ("robust" or "mean_abs"; off by default, as the forecaster already
    standardises) maps the forecasts back with each window's statistics of ``y``. With a
    distribution head (``output="student_t"`` is the paper's; the default is "point", as
    for every estimator) and no ``X``, ``predict_quantiles`` and ``predict_interval`` read
    ``n_paths`` autoregressive sample paths (each step drawn from the one-step-ahead
    distribution and fed back); ``predict`` is the head's direct forecast. See
    :class:`skfin.nets.LagLlama`.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {net_params}
    calendar : bool, str or list of str, default=None
        Calendar features read from the dates of ``y`` (Lag-Llama's time features,
        :func:`skfin.calendars.calendar_features`): True for all of them, or names from
        ``skfin.calendars.CALENDAR_FEATURES`` (e.g. ``["day_of_week",
        "month_of_year"]``). They join each step's token and, being known ahead, condition
        each forecast step on its own day and extend the sample paths; no ``X`` is needed
        at ``predict``. Needs ``y`` indexed by dates. None: no calendar.
    {common_params}
    {forecaster_params}

    References
    ----------
    Rasul et al. (2023), "Lag-Llama: towards foundation models for probabilistic time
    series forecasting", arXiv:2310.08278.

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import LagLlamaForecaster
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().iloc[-600:]
    >>> f = LagLlamaForecaster(d_model=8, n_heads=2, num_layers=1, output="student_t",
    ...                        n_paths=50, max_epochs=1, random_state=0)
    >>> f = f.fit(r, fh=[1, 2, 3, 4, 5])
    >>> f.predict_interval(coverage=0.9).shape          # bands from 50 sample paths
    (5, 2)
    """

    _module = nets.LagLlama

    def __init__(self, *, window=32, lags=None, d_model=32, n_heads=4, num_layers=2,
                 dim_feedforward=64, dropout=0.1, scaling=None, n_paths=100, calendar=None,
                 output="point", quantiles=None, uncertainty="head", n_draws=50, loss=None,
                 max_epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0,
                 lr_schedule=None, valid_fraction=0.2, patience=10, mixed_precision="auto",
                 device="auto", random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())


@fill_doc
class PatchDecoderForecaster(NeuralForecaster):
    """Decoder-only patch Transformer (TimesFM, Das et al., 2024), as an sktime forecaster.

    ``y`` is the first input channel (exogenous ``X`` columns follow), so the per-window
    ``scaling`` (off by default) maps the forecasts back with each window's statistics
    of ``y``; the last
    patch's token gives the whole horizon. See :class:`skfin.nets.PatchDecoder`.

    Parameters
    ----------
    window : int, default=32
        Past observations each forecast reads.
    {net_params}
    {common_params}
    {forecaster_params}

    References
    ----------
    Das, Kong, Sen and Zhou (2024), "A decoder-only foundation model for time-series
    forecasting", ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.forecasting import PatchDecoderForecaster
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna().iloc[-600:]
    >>> f = PatchDecoderForecaster(patch_len=8, d_model=8, n_heads=2, output="quantile",
    ...                            max_epochs=1, random_state=0).fit(r, fh=list(range(1, 11)))
    >>> f.predict_quantiles(alpha=[0.1, 0.5, 0.9]).shape   # 10 days from one output patch
    (10, 3)
    """

    _module = nets.PatchDecoder

    def __init__(self, *, window=32, patch_len=4, d_model=32, n_heads=4, num_layers=2,
                 dim_feedforward=64, dropout=0.1, scaling=None,
                 output="point", quantiles=None, uncertainty="head", n_draws=50, loss=None,
                 max_epochs=100, batch_size=64, lr=1e-3, weight_decay=1e-2, grad_clip=1.0,
                 lr_schedule=None, valid_fraction=0.2, patience=10, mixed_precision="auto",
                 device="auto", random_state=None, verbose=0, update_epochs=2, standardize=True,
                 future_X="all",
                 augment=None, accumulate=1, checkpoint_dir=None, accelerator=None, freeze=None, meta=None):
        self._init(locals())
