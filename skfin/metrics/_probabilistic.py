"""Probabilistic metrics: quantile forecasts (pinball loss, CRPS) and intervals.

Each reads sktime's column format (what ``predict_quantiles`` and ``predict_interval``
return, on either face) or plain arrays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from skfin._checks import check_finite
from skfin.metrics._docs import fill_doc
from skfin.metrics._validation import _as_2d, _values


# ==================================================================================
# quantiles and intervals: parsing sktime's column format or plain arrays
# ==================================================================================
def _levels_checked(levels, name: str, func: str) -> np.ndarray:
    a = np.atleast_1d(_values(levels, name, func))
    if a.ndim != 1 or a.size == 0 or not ((a > 0) & (a < 1)).all():
        raise ValueError(f"{func}: {name} must be values in the open interval (0, 1); "
                         f"got {levels!r}.")
    if len(np.unique(a)) != a.size:
        raise ValueError(f"{func}: {name} has repeated values: {levels!r}.")
    return a


def _targets(y_true, names: list, n_rows: int, func: str) -> np.ndarray:
    """``y_true`` as (n, n_targets), columns ordered as ``names`` (by name if possible)."""
    if isinstance(y_true, pd.DataFrame) and set(y_true.columns) == set(names):
        y_true = y_true[names]
    yt = _as_2d(y_true, "y_true", func)
    if yt.shape[1] != len(names):
        raise ValueError(
            f"{func}: y_pred forecasts {len(names)} target(s) {names!r} but y_true has "
            f"{yt.shape[1]} column(s)."
        )
    if yt.shape[0] != n_rows:
        raise ValueError(
            f"{func}: y_true has {yt.shape[0]} rows but y_pred has {n_rows}. Pass "
            "forecasts and outcomes for the same rows."
        )
    return yt


def _quantile_input(y_true, y_pred, alpha, func: str):
    """Return ``y (n, T)``, quantiles ``q (n, T, L)`` and sorted ``levels (L,)``."""
    if isinstance(y_pred, pd.DataFrame):
        if y_pred.columns.nlevels != 2:
            raise ValueError(
                f"{func}: a quantile DataFrame needs 2-level columns (target, alpha), as "
                f"predict_quantiles returns; got {y_pred.columns.nlevels} level(s)."
            )
        names = list(pd.unique(y_pred.columns.get_level_values(0)))
        levels = None
        blocks = []
        for name in names:
            sub = y_pred[name]
            have = _levels_checked(np.asarray(sub.columns), "alpha", func)
            want = have if alpha is None else _levels_checked(alpha, "alpha", func)
            missing = [float(a) for a in want if not np.isclose(have, a).any()]
            if missing:
                raise ValueError(
                    f"{func}: y_pred has no quantile(s) {missing} for target {name!r}; it "
                    f"has {sorted(have.tolist())}. Predict them or drop them from alpha."
                )
            want = np.sort(want)
            if levels is not None and (levels.shape != want.shape
                                       or not np.allclose(levels, want)):
                raise ValueError(
                    f"{func}: targets have different quantile levels ({levels.tolist()} vs "
                    f"{want.tolist()}); pass alpha to choose common ones."
                )
            levels = want
            cols = [int(np.argmin(np.abs(have - a))) for a in want]
            blocks.append(_values(sub, "y_pred", func)[:, cols])
        q = np.stack(blocks, axis=1)                              # [n, T, L]
    else:
        if alpha is None:
            raise ValueError(
                f"{func}: y_pred is an array, so alpha (its quantile levels) is required; "
                "or pass the DataFrame that predict_quantiles returns."
            )
        levels = _levels_checked(alpha, "alpha", func)
        q = _values(y_pred, "y_pred", func)
        if q.ndim == 1 and levels.size == 1:
            q = q[:, None]
        if q.ndim != 2 or q.shape[1] != levels.size:
            raise ValueError(
                f"{func}: an array y_pred must have shape (n_samples, len(alpha)) = "
                f"(n_samples, {levels.size}); got {q.shape}."
            )
        order = np.argsort(levels)
        levels, q = levels[order], q[:, None, order]
        names = ["y"]
    if q.shape[0] == 0:
        raise ValueError(f"{func}: y_pred is empty; it needs at least one row.")
    labels = ([(name, float(a)) for name in names for a in levels]
              if isinstance(y_pred, pd.DataFrame) else levels.tolist())
    check_finite(q.reshape(len(q), -1), f"{func}: y_pred", labels, getattr(y_pred, "index", None))
    yt = _targets(y_true, names, q.shape[0], func)
    return yt, q, levels


def _interval_input(y_true, y_pred, coverage, func: str, need_coverage: bool):
    """Return ``y (n, T)``, ``lower``/``upper (n, T, C)`` and ``coverage (C,)``."""
    if isinstance(y_pred, pd.DataFrame):
        if y_pred.columns.nlevels != 3:
            raise ValueError(
                f"{func}: an interval DataFrame needs 3-level columns (target, coverage, "
                f"'lower'|'upper'), as predict_interval returns; got "
                f"{y_pred.columns.nlevels} level(s)."
            )
        names = list(pd.unique(y_pred.columns.get_level_values(0)))
        covs = None
        lows, highs = [], []
        for name in names:
            sub = y_pred[name]
            have = _levels_checked(
                np.asarray(pd.unique(sub.columns.get_level_values(0))),
                "coverage", func)
            want = have if coverage is None else _levels_checked(coverage, "coverage", func)
            missing = [float(c) for c in want if not np.isclose(have, c).any()]
            if missing:
                raise ValueError(
                    f"{func}: y_pred has no interval(s) of coverage {missing} for target "
                    f"{name!r}; it has {sorted(have.tolist())}."
                )
            want = np.sort(want)
            if covs is not None and (covs.shape != want.shape or not np.allclose(covs, want)):
                raise ValueError(
                    f"{func}: targets have different coverages ({covs.tolist()} vs "
                    f"{want.tolist()}); pass coverage to choose common ones."
                )
            covs = want
            keys = [have[int(np.argmin(np.abs(have - c)))] for c in want]
            try:
                lows.append(np.stack([_values(sub[(k, "lower")], "y_pred", func)
                                      for k in keys], axis=1))
                highs.append(np.stack([_values(sub[(k, "upper")], "y_pred", func)
                                       for k in keys], axis=1))
            except KeyError as exc:
                raise ValueError(
                    f"{func}: y_pred lacks a 'lower' or 'upper' column for target "
                    f"{name!r} ({exc})."
                ) from exc
        lower, upper = np.stack(lows, axis=1), np.stack(highs, axis=1)   # [n, T, C]
    else:
        bounds = _values(y_pred, "y_pred", func)
        if bounds.ndim != 2 or bounds.shape[1] != 2:
            raise ValueError(
                f"{func}: an array y_pred must have shape (n_samples, 2), columns lower "
                f"and upper; got {bounds.shape}. For several targets or coverages pass "
                "the DataFrame that predict_interval returns."
            )
        if coverage is None and need_coverage:
            raise ValueError(
                f"{func}: y_pred is an array, so coverage (the intervals' nominal "
                "coverage) is required; or pass the DataFrame that predict_interval returns."
            )
        covs = (np.array([np.nan]) if coverage is None
                else _levels_checked(coverage, "coverage", func))
        if covs.size != 1:
            raise ValueError(f"{func}: an array y_pred holds one interval per row, so "
                             f"coverage must be one value; got {coverage!r}.")
        lower, upper = bounds[:, None, None, 0], bounds[:, None, None, 1]
        names = ["y"]
    if lower.shape[0] == 0:
        raise ValueError(f"{func}: y_pred is empty; it needs at least one row.")
    for bound, values in (("lower", lower), ("upper", upper)):
        labels = ([(name, float(c), bound) for name in names for c in covs]
                  if isinstance(y_pred, pd.DataFrame) else [bound])
        check_finite(values.reshape(len(values), -1), f"{func}: y_pred ({bound})", labels,
                     getattr(y_pred, "index", None))
    crossed = lower > upper
    if crossed.any():
        raise ValueError(
            f"{func}: {int(crossed.sum())} interval(s) have lower > upper, first at row "
            f"{int(np.argwhere(crossed)[0][0])}. Check the column order (lower, upper)."
        )
    yt = _targets(y_true, names, lower.shape[0], func)
    return yt, lower, upper, covs


def _pinball(y, q, levels):
    """Pinball loss per point and level: ``y (n, T)``, ``q (n, T, L)`` -> ``(n, T, L)``."""
    diff = y[..., None] - q
    return np.where(diff >= 0, levels * diff, (levels - 1) * diff)


def _crps_weights(levels: np.ndarray) -> np.ndarray:
    """Midpoint-rule weights: the part of (0, 1) closest to each (sorted) level."""
    edges = np.concatenate([[0.0], (levels[1:] + levels[:-1]) / 2, [1.0]])
    return np.diff(edges)


def _winkler(y, lower, upper, coverage):
    """Winkler score per point and coverage: ``y (n, T)``, bounds ``(n, T, C)``."""
    a = 1.0 - coverage
    y = y[..., None]
    below = np.clip(lower - y, 0, None)
    above = np.clip(y - upper, 0, None)
    return (upper - lower) + 2.0 / a * (below + above)


# ==================================================================================
# quantile and interval metrics
# ==================================================================================
@fill_doc
def pinball_loss(y_true, y_pred, *, alpha=None) -> float:
    """Mean pinball (quantile) loss over rows, targets and quantile levels.

    ``rho_a(y - q) = max(a * (y - q), (a - 1) * (y - q))`` for the forecast ``q`` of the
    ``a``-quantile; the same value as sklearn's ``mean_pinball_loss`` averaged over levels
    and as sktime's ``PinballLoss``.

    Parameters
    ----------
    {quantile_forecasts}
    alpha : float or list of float, default=None
        Levels to score. Required for an array; for a DataFrame ``None`` scores all.

    Returns
    -------
    float
        Non-negative; lower is better.

    See Also
    --------
    sktime.performance_metrics.forecasting.probabilistic.PinballLoss : the sktime metric.

    Examples
    --------
    {proba_example}
    >>> from skfin.metrics import pinball_loss
    >>> q = pd.concat({("r", a): past.quantile(a).shift(1) for a in (0.05, 0.5, 0.95)},
    ...               axis=1).dropna()
    >>> round(pinball_loss(r[q.index], q), 4)
    0.2222
    """
    yt, q, levels = _quantile_input(y_true, y_pred, alpha, "pinball_loss")
    return float(np.mean(_pinball(yt, q, levels)))


@fill_doc
def crps_quantiles(y_true, y_pred, *, alpha=None) -> float:
    """Continuous ranked probability score approximated from forecast quantiles.

    The CRPS is twice the pinball loss integrated over all levels,
    ``CRPS(F, y) = 2 * integral_0^1 rho_a(y - F^-1(a)) da`` (Gneiting & Ranjan, 2011).
    Here the integral is a midpoint rule: each level ``a_k`` stands for the part of
    ``(0, 1)`` closer to it than to its neighbours, ``(0, (a_1 + a_2) / 2]`` for the
    first and up to 1 for the last. With levels ``(k - 0.5) / K`` this equals the CRPS of
    the ``K``-member ensemble made of the quantiles, exactly; with the median alone it is
    the absolute error of the median. Use at least ~20 levels: the tails beyond the
    outermost levels are held flat.

    Parameters
    ----------
    {quantile_forecasts}
    alpha : float or list of float, default=None
        Levels to use. Required for an array; for a DataFrame ``None`` uses all.

    Returns
    -------
    float
        Mean CRPS over rows and targets, in the units of ``y``; lower is better.

    See Also
    --------
    QuantileCRPS : the sktime metric.

    References
    ----------
    .. [1] T. Gneiting and R. Ranjan, "Comparing density forecasts using threshold- and
       quantile-weighted scoring rules", *Journal of Business & Economic Statistics*
       29(3), 2011.

    Examples
    --------
    {proba_example}
    >>> from skfin.metrics import crps_quantiles
    >>> levels = (np.arange(20) + 0.5) / 20
    >>> q = pd.concat({("r", a): past.quantile(a).shift(1) for a in levels},
    ...               axis=1).dropna()
    >>> round(crps_quantiles(r[q.index], q), 4)
    0.6025
    """
    yt, q, levels = _quantile_input(y_true, y_pred, alpha, "crps_quantiles")
    per_point = 2.0 * np.sum(_crps_weights(levels) * _pinball(yt, q, levels), axis=-1)
    return float(np.mean(per_point))


@fill_doc
def empirical_coverage(y_true, y_pred, *, coverage=None) -> float:
    """Fraction of outcomes inside their prediction interval (bounds included).

    Compare it with the nominal coverage: above it the intervals are too wide, below too
    narrow. The same value as sktime's ``EmpiricalCoverage``.

    Parameters
    ----------
    {interval_forecasts}
    coverage : float or list of float, default=None
        Nominal coverages to score, for a DataFrame; ``None`` scores all.

    Returns
    -------
    float
        In ``[0, 1]``, averaged over rows, targets and coverages. Neither higher nor lower
        is better: the target is the nominal coverage.

    See Also
    --------
    sktime.performance_metrics.forecasting.probabilistic.EmpiricalCoverage

    Examples
    --------
    {proba_example}
    >>> from skfin.metrics import empirical_coverage
    >>> band = pd.DataFrame({("r", 0.9, "lower"): past.quantile(0.05).shift(1),
    ...                      ("r", 0.9, "upper"): past.quantile(0.95).shift(1)}).dropna()
    >>> round(empirical_coverage(r[band.index], band), 4)
    0.8862
    """
    yt, lo, hi, _ = _interval_input(y_true, y_pred, coverage, "empirical_coverage", False)
    y = yt[..., None]
    return float(np.mean((y >= lo) & (y <= hi)))


@fill_doc
def mean_interval_width(y_true, y_pred, *, coverage=None) -> float:
    """Mean width ``upper - lower`` of the prediction intervals (their sharpness).

    ``y_true`` is used only to check the shapes. The same value as sktime's
    ``IntervalWidth``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_targets)
    y_pred : DataFrame or array-like
        Intervals: the DataFrame of ``predict_interval``, or an array of shape
        ``(n_samples, 2)`` holding lower and upper bounds.
    coverage : float or list of float, default=None
        Nominal coverages to score, for a DataFrame; ``None`` scores all.

    Returns
    -------
    float
        Non-negative, in the units of ``y``; lower is better at equal coverage.

    See Also
    --------
    sktime.performance_metrics.forecasting.probabilistic.IntervalWidth

    Examples
    --------
    {proba_example}
    >>> from skfin.metrics import mean_interval_width
    >>> band = pd.DataFrame({("r", 0.9, "lower"): past.quantile(0.05).shift(1),
    ...                      ("r", 0.9, "upper"): past.quantile(0.95).shift(1)}).dropna()
    >>> round(mean_interval_width(r[band.index], band), 4)
    3.5318
    """
    _, lo, hi, _ = _interval_input(y_true, y_pred, coverage, "mean_interval_width", False)
    return float(np.mean(hi - lo))


@fill_doc
def winkler_score(y_true, y_pred, *, coverage=None) -> float:
    """Mean Winkler (interval) score of central prediction intervals.

    For an interval ``[l, u]`` of nominal coverage ``1 - a``:
    ``(u - l) + 2 / a * (l - y)`` if ``y < l``, ``(u - l) + 2 / a * (y - u)`` if
    ``y > u``, else ``u - l`` (Winkler, 1972; Gneiting & Raftery, 2007, eq. 43). Width is
    paid always, misses in proportion to their distance: a proper score for the interval,
    which coverage and width alone are not. It equals ``2 / a`` times the pinball losses
    of ``l`` and ``u`` as the ``a/2`` and ``1 - a/2`` quantiles.

    Parameters
    ----------
    {interval_forecasts}
    coverage : float or list of float, default=None
        Nominal coverage(s). Required for an array; for a DataFrame ``None`` scores all
        the coverages it holds.

    Returns
    -------
    float
        Non-negative, in the units of ``y``; lower is better.

    See Also
    --------
    WinklerScore : the sktime metric.

    References
    ----------
    .. [1] R. L. Winkler, "A decision-theoretic approach to interval estimation",
       *Journal of the American Statistical Association* 67(337), 1972.
    .. [2] T. Gneiting and A. E. Raftery, "Strictly proper scoring rules, prediction,
       and estimation", *Journal of the American Statistical Association* 102(477), 2007.

    Examples
    --------
    {proba_example}
    >>> from skfin.metrics import winkler_score
    >>> band = pd.DataFrame({("r", 0.9, "lower"): past.quantile(0.05).shift(1),
    ...                      ("r", 0.9, "upper"): past.quantile(0.95).shift(1)}).dropna()
    >>> round(winkler_score(r[band.index], band), 4)
    5.309
    """
    yt, lo, hi, cov = _interval_input(y_true, y_pred, coverage, "winkler_score", True)
    return float(np.mean(_winkler(yt, lo, hi, cov)))
