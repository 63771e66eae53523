"""One base class that makes a transformer both an sktime and a scikit-learn transformer.

sktime's :class:`~sktime.transformations.base.BaseTransformer` already brings the sktime
contract (``fit``/``transform``/``inverse_transform``/``update``, tags, input conversion,
vectorisation over panels) and ``get_params``/``set_params``. What it lacks for
scikit-learn is written here, and only here, so that each transformer stays a small class
with its maths:

* scikit-learn input validation (``validate_data``: sparse, complex, object and 1-D
  arrays are refused with scikit-learn's messages, ``n_features_in_`` and
  ``feature_names_in_`` are recorded and checked);
* scikit-learn tags (``__sklearn_tags__``) and ``__sklearn_is_fitted__``;
* ``set_output`` (from :class:`sklearn.base.TransformerMixin`), kept across sktime's
  ``reset`` which otherwise forgets every attribute it does not know;
* the time-series policies shared by the price transformers: a sorted, unique time
  index, the missing-data option ``fill`` and the first-rows option ``warmup``, and a
  *memory* of the data seen in ``fit``/``update`` so that ``transform`` of new rows and
  ``inverse_transform`` of forecasts continue from the last observed value, as sktime's
  :class:`~sktime.transformations.difference.Differencer` does.

Nothing here is financial maths; the maths live in ``ratio.py`` and ``indicators.py``.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn import get_config
from sklearn.base import BaseEstimator as _SklearnBaseEstimator
from sklearn.base import TransformerMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from sktime.transformations.base import BaseTransformer

from skfin._checks import Described

FILL_OPTIONS = ("raise", "ffill", "drop")
WARMUP_OPTIONS = ("nan", "drop")


def _is(value, option):
    """``value == option`` that never raises (parameters are not validated in ``__init__``)."""
    return isinstance(value, str) and value == option


def _where(index, position):
    """Human-readable location of ``index[position]`` for error messages."""
    label = index[position]
    if isinstance(label, pd.Timestamp):
        text = str(label.date()) if label == label.normalize() else str(label)
        return f"{text} (row {position})"
    if isinstance(label, pd.Period):
        return f"{label} (row {position})"
    return f"row {position}"


def _column_name(column):
    """A column label as messages show it; an integer (not a bool) is a position."""
    is_position = isinstance(column, Integral) and not isinstance(column, bool)
    return f"{column!r} (position)" if is_position else repr(column)


class _SeriesTransformer(TransformerMixin, BaseTransformer, _SklearnBaseEstimator):
    """Base of skfin's transformers: sktime ``BaseTransformer`` + scikit-learn interface.

    Subclasses implement ``_fit``, ``_transform`` (and optionally ``_inverse_transform``)
    on a ``pandas.DataFrame`` with a sorted, unique time index, as sktime asks, and may
    use the helpers below (``_prepare``, ``_select_rows``, ``_check_positive``).
    """

    _tags = {
        "authors": ["skfin developers"],
        "maintainers": ["skfin developers"],
        "scitype:transform-input": "Series",
        "scitype:transform-output": "Series",
        "scitype:instancewise": True,
        "X_inner_mtype": "pd.DataFrame",
        "y_inner_mtype": "None",
        "requires_y": False,
        "fit_is_empty": False,  # fit stores the data that transform/inverse continue from
        "capability:multivariate": True,
        "capability:categorical_in_X": False,
        "capability:missing_values": False,  # set from ``fill`` in ``__init__``
        "transform-returns-same-time-index": True,  # set from ``fill``/``warmup``
        "capability:inverse_transform": False,
    }

    _parameter_constraints: dict = {
        "fill": [StrOptions(set(FILL_OPTIONS))],
        "warmup": [StrOptions(set(WARMUP_OPTIONS))],
    }

    def __init__(self):
        super().__init__()
        # Tags that depend on parameters. Parameters are not validated in __init__
        # (scikit-learn's contract), so the comparisons must never raise.
        same_index = _is(self.warmup, "nan") and not _is(self.fill, "drop")
        self.set_tags(
            **{
                "transform-returns-same-time-index": same_index,
                "capability:missing_values": _is(self.fill, "ffill") or _is(self.fill, "drop"),
            }
        )

    # ------------------------------------------------------------------ scikit-learn
    # Attributes that scikit-learn attaches to an estimator from outside and expects
    # to find again: the ``set_output`` choice, and the callback context a Pipeline
    # (scikit-learn >= 1.9) sets on a step before fitting it and deletes afterwards.
    _SKLEARN_RUNTIME_ATTRIBUTES = (
        "_sklearn_output_config",
        "_parent_callback_ctx",
        "_skl_callbacks",
    )

    def reset(self):
        """Reset to the post-``__init__`` state, as sktime does (``fit``, ``set_params``).

        sktime's ``reset`` deletes every attribute it does not know; the attributes
        scikit-learn attaches from outside (``set_output``'s choice, a Pipeline's
        callback context) are kept, so that the object stays a scikit-learn citizen.

        Returns
        -------
        self : object
            The reset transformer.
        """
        keep = {k: v for k, v in vars(self).items() if k in self._SKLEARN_RUNTIME_ATTRIBUTES}
        super().reset()
        self.__dict__.update(keep)
        return self

    def __hash__(self):
        # skbase's __eq__ (same class, equal parameters) switches hashing off, but
        # scikit-learn puts transformers in sets (ColumnTransformer.set_output). Hashing
        # by class is consistent with that __eq__: equal objects share a class.
        return hash(type(self))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.input_tags.allow_nan = not _is(self.fill, "raise")
        tags.input_tags.positive_only = self._requires_positive()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags

    def __sklearn_is_fitted__(self):
        return bool(getattr(self, "_is_fitted", False))

    def _requires_positive(self):
        """Whether the inputs must be strictly positive (prices); see subclasses."""
        return False

    def _check_input(self, X, *, reset):
        """Validate ``X`` the scikit-learn way; return what sktime should receive.

        A single series (pandas Series/DataFrame, 2-D array-like) is validated with
        :func:`sklearn.utils.validation.validate_data` (which records or checks
        ``n_features_in_`` and ``feature_names_in_``); a pandas object keeps its time
        index, which must be sorted and unique. Panels and hierarchies (sktime's
        MultiIndex frames, 3-D arrays, lists of frames) are left to sktime, which
        applies the transformer to each series, so each series is validated there.
        """
        if _is_panel(X):
            return X
        if isinstance(X, (pd.Series, pd.DataFrame)):
            frame = X.to_frame() if isinstance(X, pd.Series) else X
            categorical = [
                c for c, dtype in frame.dtypes.items() if isinstance(dtype, pd.CategoricalDtype)
            ]
            if categorical:
                raise TypeError(
                    f"{type(self).__name__} needs numeric columns, but X has categorical "
                    f"column(s) {categorical}; categorical data is not supported. Encode "
                    "them as numbers or drop them."
                )
            text = [c for c, dtype in frame.dtypes.items()
                    if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))]
            if text:
                raise TypeError(
                    f"{type(self).__name__} needs numeric columns, but X's column(s) {text} "
                    f"have dtype {frame[text[0]].dtype} (e.g. prices read as text; text and "
                    "categorical data are not supported). Convert them first, e.g. "
                    "X.apply(pd.to_numeric)."
                )
            if isinstance(X, pd.DataFrame):
                # feature names and width, without converting the frame twice
                validate_data(self, X, reset=reset, skip_check_array=True)
            # A Series' name is not a feature name that later calls must repeat (sktime
            # passes forecasts under other names): only its values are validated.
            values = check_array(
                frame.to_numpy(),
                dtype=np.float64,
                ensure_all_finite="allow-nan",
                input_name="X",
                estimator=self,
            )
            if isinstance(X, pd.Series):
                validate_data(self, values, reset=reset, skip_check_array=True)
            index = X.index
            if not index.is_unique:
                dup = index[index.duplicated()][0]
                raise ValueError(
                    f"{type(self).__name__} needs a time index without duplicates, but "
                    f"X has the label {dup!r} more than once. Aggregate or drop duplicated "
                    "rows first, e.g. X[~X.index.duplicated(keep='last')]."
                )
            if not index.is_monotonic_increasing:
                bad = int(np.flatnonzero(~(index[1:] > index[:-1]))[0]) + 1
                raise ValueError(
                    f"{type(self).__name__} needs rows in time order, but X's index is not "
                    f"increasing: {index[bad]!r} (row {bad}) comes after {index[bad - 1]!r}. "
                    "Sort it first with X.sort_index()."
                )
            return X
        return validate_data(
            self,
            X,
            reset=reset,
            dtype=np.float64,
            ensure_all_finite="allow-nan",
            ensure_2d=True,
        )

    def _check_input_features(self, input_features) -> None:
        """``get_feature_names_out``'s check of ``input_features`` against the fitted
        columns, with scikit-learn's messages (transformers whose outputs are new columns)."""
        check_is_fitted(self)
        if input_features is None:
            return
        input_features = np.asarray(input_features, dtype=object)
        if len(input_features) != self.n_features_in_:
            raise ValueError(
                f"input_features should have length equal to number of features "
                f"({self.n_features_in_}), got {len(input_features)}"
            )
        if hasattr(self, "feature_names_in_") and not np.array_equal(
            input_features, self.feature_names_in_
        ):
            raise ValueError("input_features is not equal to feature_names_in_")

    def _keep_feature_info(self):
        return {
            key: getattr(self, key)
            for key in ("n_features_in_", "feature_names_in_")
            if hasattr(self, key)
        }

    # --------------------------------------------------- public methods (both worlds)
    def fit(self, X, y=None):
        """Fit the transformer to ``X``.

        Parameters
        ----------
        X : pandas.Series, pandas.DataFrame or array-like of shape (n_samples, n_features)
            Time series, rows in time order. A pandas object keeps its time index; an
            array is indexed ``0 .. n_samples - 1``.
        y : None
            Ignored; present for scikit-learn and sktime compatibility.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        self._validate_params()
        for key in ("n_features_in_", "feature_names_in_"):
            self.__dict__.pop(key, None)
        X = self._check_input(X, reset=True)
        feature_info = self._keep_feature_info()
        super().fit(X, y=None)  # sktime: reset(), input conversion, then _fit
        self.__dict__.update(feature_info)  # reset() deleted what validate_data set
        return self

    def transform(self, X, y=None):
        """Transform ``X``, continuing from the data seen in ``fit``/``update``.

        Parameters
        ----------
        X : pandas.Series, pandas.DataFrame or array-like of shape (n_samples, n_features)
            Time series with the same columns as in ``fit``.
        y : None
            Ignored.

        Returns
        -------
        Xt : pandas.Series, pandas.DataFrame or numpy.ndarray
            Same container kind as ``X`` (or as chosen by ``set_output``).
        """
        self.check_is_fitted()
        X = self._check_input(X, reset=False)
        Xt = super().transform(X, y=None)
        output = getattr(self, "_sklearn_output_config", {}).get(
            "transform", get_config()["transform_output"]
        )
        if isinstance(Xt, pd.Series) and output != "default":
            Xt = Xt.to_frame()  # set_output asks for a table, not a Series
        return Xt

    def inverse_transform(self, X, y=None):
        """Map transformed values back to the original scale.

        Parameters
        ----------
        X : pandas.Series, pandas.DataFrame or array-like of shape (n_samples, n_features)
            Values on the transformed scale.
        y : None
            Ignored.

        Returns
        -------
        X_inv : pandas.Series, pandas.DataFrame or numpy.ndarray
            Same container kind as ``X``.
        """
        self.check_is_fitted()
        X = self._check_input_shape(X)
        return super().inverse_transform(X, y=None)

    def update(self, X, y=None, update_params=True):
        """Append newly observed rows to the data the transformer continues from.

        The stored data always grow (they play the role of sktime's cutoff), whatever
        ``update_params`` says; fitted parameters are never re-estimated by ``update``.

        Parameters
        ----------
        X : pandas.Series, pandas.DataFrame or array-like of shape (n_samples, n_features)
            New rows, later than (or overlapping) the data seen so far.
        y : None
            Ignored.
        update_params : bool, default=True
            Accepted for sktime compatibility; see above.

        Returns
        -------
        self : object
            The updated transformer.
        """
        self.check_is_fitted()
        X = self._check_input_shape(X)
        return super().update(X, y=None, update_params=True)

    def _check_input_shape(self, X):
        """Light check for ``inverse_transform``/``update``: numbers, same width as fit.

        Column names are not compared: sktime hands forecasts over under other names.
        """
        if _is_panel(X):
            return X
        if not isinstance(X, (pd.Series, pd.DataFrame)):
            return validate_data(
                self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan"
            )
        n_features = 1 if isinstance(X, pd.Series) else X.shape[1]
        if n_features != self.n_features_in_:
            raise ValueError(
                f"X has {n_features} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return X

    # --------------------------------------------------------- time-series helpers
    def _prepare(self, X, history=None):
        """Apply the ``fill`` policy to ``X`` preceded by ``history``; return both merged.

        Returns
        -------
        combined : pandas.DataFrame
            ``history`` rows not in ``X`` followed (in time order) by ``X``, with missing
            values handled by ``fill``. ``X``'s columns are renamed to ``history``'s.
        """
        name = type(self).__name__
        X = X.astype(np.float64)
        if history is not None and len(history):
            _check_same_index_kind(history.index, X.index, name)
            X = X.set_axis(history.columns, axis=1)
            older = history.loc[~history.index.isin(X.index)]
            combined = pd.concat([older, X]).sort_index() if len(older) else X
        else:
            combined = X
        values = combined.to_numpy()
        if np.isinf(values).any():
            row, col = np.argwhere(np.isinf(values))[0]
            raise ValueError(
                f"X contains inf (column {_column_name(combined.columns[col])} at "
                f"{_where(combined.index, row)}); {name} needs finite values. Replace "
                "infinite values with NaN and choose a fill option."
            )
        missing = np.isnan(values)
        if missing.any():
            if _is(self.fill, "raise"):
                row, col = np.argwhere(missing)[0]
                raise ValueError(
                    f"X contains NaN (first missing value at {_where(combined.index, row)} "
                    f"in column {_column_name(combined.columns[col])}; {int(missing.sum())} "
                    f"missing in all). {name}(fill='raise') does not accept missing values. "
                    "Use fill='ffill' to carry the last observation forward (causal) or "
                    "fill='drop' to remove the rows with missing values."
                )
            empty = missing.all(axis=0)
            if empty.any():
                raise ValueError(
                    f"Column {_column_name(combined.columns[int(np.argmax(empty))])} of X has "
                    f"no value at all ({len(combined)} rows, all missing): {name}"
                    f"(fill={self.fill!r}) has nothing to fill it from, and everything "
                    "computed from it would be NaN. Pass a column with data, or switch off "
                    "what reads it."
                )
            if _is(self.fill, "ffill"):
                combined = combined.ffill()  # causal: only earlier rows are used
            else:  # "drop"
                combined = combined.loc[~missing.any(axis=1)]
        return combined

    @staticmethod
    def _first_complete(combined):
        """Position of the first row without a missing value (len if none)."""
        complete = ~combined.isna().to_numpy().any(axis=1)
        return int(np.argmax(complete)) if complete.any() else len(combined)

    def _select_rows(self, result, combined, X_index, n_warmup):
        """Rows of ``result`` (indexed like ``combined``) to return for input ``X_index``.

        ``warmup='drop'`` removes the first ``n_warmup`` rows after the first complete
        row of ``combined``; ``fill='drop'`` removes rows that had missing values.
        """
        keep = combined.index.isin(X_index)
        if _is(self.warmup, "drop"):
            position = np.arange(len(combined))
            keep &= position >= self._first_complete(combined) + n_warmup
        return result.loc[keep]

    def _check_positive(self, frame, columns=None, describe=_column_name):
        """Raise if ``frame`` (restricted to ``columns``) holds a price <= 0.

        ``describe`` turns a column label into the text that names it in the message.
        """
        values = frame.to_numpy() if columns is None else frame[columns].to_numpy()
        bad = values <= 0  # NaN compares False
        if bad.any():
            names = frame.columns if columns is None else pd.Index(columns)
            negative = values < 0
            kind = "Negative" if negative.any() else "Zero"
            row, col = np.argwhere(negative if negative.any() else bad)[0]
            raise ValueError(
                f"{kind} values in data: {type(self).__name__} needs strictly positive "
                f"prices, but column {describe(names[col])} is {float(values[row, col]):g} at "
                f"{_where(frame.index, row)} ({int(bad.sum())} non-positive values in all). "
                "Ratios and logarithms of non-positive prices are undefined; fix or "
                "remove these rows (e.g. set them to NaN and use fill='ffill')."
            )


def _is_panel(X):
    """Whether ``X`` holds several series (sktime Panel/Hierarchical mtypes)."""
    if isinstance(X, (pd.Series, pd.DataFrame)):
        if isinstance(X.index, pd.MultiIndex):
            return True
        # "nested_univ": cells are themselves series (in object columns)
        return (
            isinstance(X, pd.DataFrame)
            and len(X) > 0
            and any(
                pd.api.types.is_object_dtype(X.dtypes.iloc[i])
                and isinstance(X.iloc[0, i], (pd.Series, np.ndarray))
                for i in range(X.shape[1])
            )
        )
    if isinstance(X, np.ndarray):
        return X.ndim == 3
    if isinstance(X, list):
        return len(X) > 0 and all(isinstance(x, (pd.DataFrame, np.ndarray)) for x in X)
    return False


def _check_same_index_kind(old, new, name):
    def kind(index):
        if isinstance(index, pd.DatetimeIndex):
            return "DatetimeIndex"
        if isinstance(index, pd.PeriodIndex):
            return f"PeriodIndex[{index.freqstr}]"
        if pd.api.types.is_integer_dtype(index.dtype):
            return "integer index"
        return type(index).__name__

    if kind(old) != kind(new):
        raise ValueError(
            f"X has a {kind(new)}, but {name} was fitted on data with a {kind(old)}; "
            "transform continues from the data seen in fit, so both must use the same "
            "kind of time index (arrays count as an integer index 0, 1, ...)."
        )


def _is_int(value, low):
    return isinstance(value, Integral) and not isinstance(value, bool) and value >= low


def _windows_constraint(low=1, why=None):
    """Constraint of a window parameter: an int >= ``low``, a tuple of them, or None/().

    ``why`` says what a shorter window would give, so that the error tells the user
    why the minimum is what it is.
    """
    text = f"an int >= {low}, a tuple of ints >= {low}, or None/() to switch it off"
    if why:
        text += f"; shorter windows only give NaN ({why})"
    return Described(
        lambda v: v is None or _is_int(v, low)
        or (isinstance(v, (list, tuple)) and all(_is_int(k, low) for k in v)),
        text,
    )


def _tuple_constraint(fields, description, check=None):
    """Constraint of a tuple parameter (or None): ``fields`` is ``[(type, low), ...]``.

    Integral fields must be ints >= ``low``; Real fields numbers > ``low``. ``check(*v)``
    adds a relation between the fields (e.g. ``fast < slow``).
    """

    def ok(v):
        if v is None:
            return True
        if not isinstance(v, (list, tuple)) or len(v) != len(fields):
            return False
        for value, (kind, low) in zip(v, fields):
            if isinstance(value, bool) or not isinstance(value, kind):
                return False
            if not (value >= low if kind is Integral else value > low):
                return False
        return check is None or check(*v)

    return Described(ok, description)


def _as_windows(value):
    """A validated window parameter as a tuple of ints (``()`` when switched off)."""
    if value is None:
        return ()
    if isinstance(value, Integral):
        return (int(value),)
    return tuple(int(v) for v in value)
