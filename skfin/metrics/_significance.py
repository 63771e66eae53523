"""Is a difference real? Diebold-Mariano for forecast losses, Kupiec and Christoffersen for
interval coverage.

What is hand-written here, and why: none of scikit-learn, sktime, statsmodels or ``arch``
has these three tests as functions of two loss series or one series of interval misses
(``arch`` offers the SPA test and the model confidence set, which answer a different
question over many models). Each is a few lines of textbook algebra on top of
:mod:`scipy.stats`; the tests check them against independent computations
(:func:`scipy.stats.ttest_1samp`, statsmodels' HAC standard errors, the likelihood ratios
written out on a small real example).

References
----------
Diebold and Mariano (1995), "Comparing predictive accuracy", Journal of Business &
Economic Statistics. Harvey, Leybourne and Newbold (1997), "Testing the equality of
prediction mean squared errors", International Journal of Forecasting. Kupiec (1995),
"Techniques for verifying the accuracy of risk measurement models", Journal of
Derivatives. Christoffersen (1998), "Evaluating interval forecasts", International
Economic Review.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

from skfin.metrics._validation import _as_2d

__all__ = ["diebold_mariano", "kupiec_test", "christoffersen_test", "TestResult"]


class TestResult(NamedTuple):
    """A test's statistic and p-value."""

    statistic: float
    pvalue: float

    __test__ = False        # not a pytest test class


def _series(values, name: str, func: str) -> np.ndarray:
    a = _as_2d(values, name, func)
    if a.shape[1] != 1:
        raise ValueError(f"{func}: {name} must be one series; got {a.shape[1]} columns.")
    return a[:, 0]


def diebold_mariano(loss_a, loss_b, *, h: int = 1, alternative: str = "two-sided",
                    hln: bool = True) -> TestResult:
    """Diebold-Mariano test of equal expected loss, with the HLN small-sample correction.

    ``d_t = loss_a_t - loss_b_t``; the statistic is ``mean(d) / sqrt(V / n)`` where ``V`` is
    the long-run variance of ``d``: its autocovariances up to lag ``h - 1`` (forecasts
    ``h`` steps ahead have errors correlated up to that lag), falling back to Newey-West
    (Bartlett) weights if that sum is not positive. With ``hln=True`` (Harvey, Leybourne
    and Newbold, 1997) the statistic is multiplied by
    ``sqrt((n + 1 - 2h + h(h - 1) / n) / n)`` and compared with Student's t with ``n - 1``
    degrees of freedom, which holds its size in short samples; else with the normal.

    Parameters
    ----------
    loss_a, loss_b : array-like of shape (n,)
        Per-period losses of two forecasts of the same target (e.g. squared errors, QLIKE
        terms), aligned in time.
    h : int, default=1
        Forecast horizon; autocovariances up to lag ``h - 1`` enter ``V``.
    alternative : {"two-sided", "less", "greater"}, default="two-sided"
        ``"less"``: forecast A has the smaller expected loss (A is better).
    hln : bool, default=True
        Apply the Harvey-Leybourne-Newbold correction and Student-t p-values.

    Returns
    -------
    TestResult
        ``statistic`` (negative when A's losses are smaller) and ``pvalue``.

    Examples
    --------
    Is yesterday's squared return a better variance forecast than the 20-day average?
    On the S&P 500's daily returns, QLIKE says the average is (a positive statistic: the
    first forecast's losses are larger):

    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.metrics import diebold_mariano
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna()
    >>> var, last, avg = r ** 2, (r ** 2).shift(1), (r ** 2).rolling(20).mean().shift(1)
    >>> ok = (last > 0) & avg.notna() & (var > 0)
    >>> qlike = lambda f: var[ok] / f[ok] - np.log(var[ok] / f[ok]) - 1
    >>> res = diebold_mariano(qlike(last), qlike(avg))
    >>> round(res.statistic, 2), round(res.pvalue, 3)
    (2.34, 0.019)
    """
    func = "diebold_mariano"
    a, b = _series(loss_a, "loss_a", func), _series(loss_b, "loss_b", func)
    if a.shape != b.shape:
        raise ValueError(f"{func}: loss_a and loss_b must be aligned; got {a.size} and "
                         f"{b.size} values.")
    n = a.size
    if not isinstance(h, (int, np.integer)) or isinstance(h, bool) or not 1 <= h < n:
        raise ValueError(f"{func}: h must be an int in [1, n - 1] = [1, {n - 1}]; got {h!r}.")
    if alternative not in ("two-sided", "less", "greater"):
        raise ValueError(f"{func}: alternative must be 'two-sided', 'less' or 'greater'; "
                         f"got {alternative!r}.")
    if n < 3:
        raise ValueError(f"{func}: needs at least 3 periods; got {n}.")
    d = a - b
    centred = d - d.mean()
    gamma = np.array([centred[k:] @ centred[:n - k] / n for k in range(h)])
    variance = gamma[0] + 2 * gamma[1:].sum()
    if variance <= 0:                                    # Newey-West weights instead
        weights = 1 - np.arange(1, h) / h
        variance = gamma[0] + 2 * (weights * gamma[1:]).sum()
    if variance <= 1e-12 * max(float(np.mean(d ** 2)), np.finfo(float).tiny):
        raise ValueError(f"{func}: the loss differences have zero variance (identical "
                         "forecasts?); there is nothing to test.")
    statistic = d.mean() / np.sqrt(variance / n)
    if hln:
        statistic *= np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
        dist = stats.t(df=n - 1)
    else:
        dist = stats.norm()
    if alternative == "two-sided":
        pvalue = 2 * dist.sf(abs(statistic))
    elif alternative == "less":
        pvalue = dist.cdf(statistic)
    else:
        pvalue = dist.sf(statistic)
    return TestResult(float(statistic), float(pvalue))


def _misses(misses, func: str) -> np.ndarray:
    m = _series(misses, "misses", func)
    if not np.isin(m, (0.0, 1.0)).all():
        raise ValueError(f"{func}: misses must be 0/1 (or boolean): 1 where the outcome "
                         "fell outside the interval.")
    return m.astype(bool)


def _xlogy(x: float, y: float) -> float:
    return float(x * np.log(y)) if x > 0 else 0.0


def kupiec_test(misses, coverage: float) -> TestResult:
    """Kupiec's proportion-of-failures test: do the intervals miss at the nominal rate?

    Likelihood ratio of the observed miss rate ``x / n`` against ``1 - coverage``,
    ``LR = -2 log(L(1 - coverage) / L(x / n))``, chi-squared with one degree of freedom.

    Parameters
    ----------
    misses : array-like of bool or 0/1, shape (n,)
        1 where the outcome fell outside the interval.
    coverage : float
        Nominal coverage of the intervals, in (0, 1).

    Returns
    -------
    TestResult
        ``statistic`` (the LR) and ``pvalue``; a small p-value rejects correct coverage.

    Examples
    --------
    A 90% band of +-1.645 historical standard deviations around zero for S&P 500 daily
    returns (the standard deviation of the previous 250 days) misses at about the nominal
    rate, and the test cannot reject it:

    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.metrics import kupiec_test
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna()
    >>> sd = r.rolling(250).std().shift(1)
    >>> misses = (r.abs() > 1.645 * sd)[sd.notna()]
    >>> round(float(misses.mean()), 3)
    0.106
    >>> round(kupiec_test(misses, coverage=0.9).pvalue, 2)
    0.15
    """
    func = "kupiec_test"
    if not 0 < coverage < 1:
        raise ValueError(f"{func}: coverage must be in (0, 1); got {coverage!r}.")
    m = _misses(misses, func)
    n, x = m.size, int(m.sum())
    p = 1 - coverage
    null = _xlogy(n - x, 1 - p) + _xlogy(x, p)
    fitted = _xlogy(n - x, 1 - x / n) + _xlogy(x, x / n)
    statistic = max(-2 * (null - fitted), 0.0)
    return TestResult(statistic, float(stats.chi2.sf(statistic, df=1)))


def christoffersen_test(misses, coverage: float) -> TestResult:
    """Christoffersen's conditional-coverage test: right miss rate, and misses independent.

    Adds to Kupiec's likelihood ratio the test of independence against a first-order
    Markov chain of misses (``LR_ind``: do misses cluster?); ``LR_cc = LR_uc + LR_ind``,
    chi-squared with two degrees of freedom.

    Parameters
    ----------
    misses : array-like of bool or 0/1, shape (n,)
        1 where the outcome fell outside the interval, in time order.
    coverage : float
        Nominal coverage of the intervals, in (0, 1).

    Returns
    -------
    TestResult
        ``statistic`` (``LR_cc``) and ``pvalue``.

    Examples
    --------
    The same band as in :func:`kupiec_test`: its miss rate is right, but its misses
    cluster (volatility does), and the conditional test rejects it:

    >>> import numpy as np
    >>> from skfin.datasets import load_sp500
    >>> from skfin.metrics import christoffersen_test
    >>> r = 100 * np.log(load_sp500()["Close"]).diff().dropna()
    >>> sd = r.rolling(250).std().shift(1)
    >>> misses = (r.abs() > 1.645 * sd)[sd.notna()]
    >>> bool(christoffersen_test(misses, coverage=0.9).pvalue < 1e-6)
    True
    """
    func = "christoffersen_test"
    if not 0 < coverage < 1:
        raise ValueError(f"{func}: coverage must be in (0, 1); got {coverage!r}.")
    m = _misses(misses, func).astype(int)          # checked here, so errors name this test
    uc = kupiec_test(m, coverage).statistic
    prev, curr = m[:-1], m[1:]
    n00 = int(((prev == 0) & (curr == 0)).sum())
    n01 = int(((prev == 0) & (curr == 1)).sum())
    n10 = int(((prev == 1) & (curr == 0)).sum())
    n11 = int(((prev == 1) & (curr == 1)).sum())
    pi0 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi1 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    null = _xlogy(n00 + n10, 1 - pi) + _xlogy(n01 + n11, pi)
    markov = (_xlogy(n00, 1 - pi0) + _xlogy(n01, pi0) + _xlogy(n10, 1 - pi1)
              + _xlogy(n11, pi1))
    statistic = uc + max(-2 * (null - markov), 0.0)
    return TestResult(float(statistic), float(stats.chi2.sf(statistic, df=2)))
