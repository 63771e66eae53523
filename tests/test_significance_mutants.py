"""Diebold-Mariano, Kupiec and Christoffersen: the Newey-West fallback, the edges of their
arguments and their messages word for word (issue 17, mutation testing). Real S&P 500
variance forecasts and interval misses, as in tests/test_significance.py.
"""

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from skfin.datasets import load_sp500
from skfin.metrics import christoffersen_test, diebold_mariano, kupiec_test

R = 100 * np.log(load_sp500()["Close"]).diff().dropna()


@pytest.fixture(scope="module")
def losses():
    """Squared errors of yesterday's squared return and of a 20-day average (variance)."""
    var, last, avg = R ** 2, (R ** 2).shift(1), (R ** 2).rolling(20).mean().shift(1)
    ok = avg.notna() & last.notna()
    return ((var - last)[ok] ** 2).to_numpy(), ((var - avg)[ok] ** 2).to_numpy()


@pytest.fixture(scope="module")
def misses():
    sd = R.rolling(250).std().shift(1)
    return (R.abs() > 1.645 * sd)[sd.notna()].to_numpy()


def _uniform_variance(d, h):
    n, c = d.size, d - d.mean()
    return sum((1 if k == 0 else 2) * (c[k:] @ c[:n - k]) / n for k in range(h))


def test_dm_falls_back_to_the_bartlett_kernel_hac_of_statsmodels(losses):
    # 20-day stretches where the uniform-kernel long-run variance at h=5 is negative (13
    # of 250 on the S&P 500): the variance is then Newey-West's, 1 - j/h weights
    a, b = losses
    d = a - b
    starts = [i for i in range(0, d.size - 20, 20) if _uniform_variance(d[i:i + 20], 5) <= 0]
    assert len(starts) >= 5                          # the fallback is not a corner case
    for i in starts[:5]:
        di = d[i:i + 20]
        ols = sm.OLS(di, np.ones_like(di)).fit(
            cov_type="HAC", cov_kwds={"maxlags": 4, "kernel": "bartlett",
                                      "use_correction": False})
        res = diebold_mariano(a[i:i + 20], b[i:i + 20], h=5, hln=False)
        np.testing.assert_allclose(res.statistic, ols.tvalues[0], rtol=1e-8)


def test_dm_falls_back_where_the_uniform_kernel_variance_is_exactly_zero():
    # 0/1 losses: the misses of a +-1 sd and a +-1.645 sd band of S&P 500 returns (do
    # both miss as often?). On some 10-day stretches the uniform-kernel sum at h=2 is 0.0
    # to the last bit; that is "not positive": Newey-West, not a zero-variance error
    sd = R.rolling(250).std().shift(1)
    wide, narrow = ((R.abs() > k * sd)[sd.notna()].to_numpy(float) for k in (1.645, 1.0))
    d = wide - narrow
    starts = [i for i in range(d.size - 10)
              if d[i:i + 10].std() > 0 and _uniform_variance(d[i:i + 10], 2) == 0.0]
    assert starts                                    # such ties occur in the real data
    for i in starts[:3]:
        ols = sm.OLS(d[i:i + 10], np.ones(10)).fit(
            cov_type="HAC", cov_kwds={"maxlags": 1, "kernel": "bartlett",
                                      "use_correction": False})
        res = diebold_mariano(wide[i:i + 10], narrow[i:i + 10], h=2, hln=False)
        np.testing.assert_allclose(res.statistic, ols.tvalues[0], rtol=1e-8)


def test_dm_statistic_does_not_depend_on_the_units_of_the_losses(losses):
    # losses in (percent^2)^2 or in fractions^2 (1e-8 of them): the same test. The
    # long-run variance is then far below 1, so no fixed threshold may decide the kernel
    # or the "zero variance" error.
    a, b = (x[-1500:] for x in losses)
    for h in (1, 2, 5):
        big, small = diebold_mariano(a, b, h=h), diebold_mariano(a * 1e-8, b * 1e-8, h=h)
        assert _uniform_variance((a - b) * 1e-8, h) < 1e-6
        np.testing.assert_allclose([small.statistic, small.pvalue],
                                   [big.statistic, big.pvalue], rtol=1e-9)


def test_the_tests_give_no_warning_on_clean_real_input(losses, misses):
    a, b = losses
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        diebold_mariano(a, b, h=5)
        kupiec_test(misses, 0.9)
        christoffersen_test(misses, 0.9)


def test_christoffersen_pvalue_is_chi2_with_two_degrees_of_freedom(misses):
    for stretch in (misses[:250], misses[-250:], misses):
        res = christoffersen_test(stretch, 0.9)
        assert res.pvalue == pytest.approx(stats.chi2.sf(res.statistic, df=2), rel=1e-12)


@pytest.mark.parametrize("coverage", [0, 0.0, 1, 1.0, 1.5, -0.1])
@pytest.mark.parametrize("test", [kupiec_test, christoffersen_test])
def test_coverage_outside_the_open_unit_interval_is_refused(misses, test, coverage):
    with pytest.raises(ValueError) as info:
        test(misses, coverage)
    assert str(info.value) == (f"{test.__name__}: coverage must be in (0, 1); "
                               f"got {coverage!r}.")


def test_error_messages_word_for_word(losses, misses):
    a, b = losses
    for test in (kupiec_test, christoffersen_test):
        with pytest.raises(ValueError) as info:
            test(misses * 2.0, 0.9)
        assert str(info.value) == (f"{test.__name__}: misses must be 0/1 (or boolean): 1 "
                                   "where the outcome fell outside the interval.")
    with pytest.raises(ValueError) as info:
        kupiec_test(np.c_[misses, misses], 0.9)
    assert str(info.value) == "kupiec_test: misses must be one series; got 2 columns."
    with pytest.raises(ValueError) as info:
        diebold_mariano(a[:100], a[:100] + 1.0)
    assert str(info.value) == ("diebold_mariano: the loss differences have zero variance "
                               "(identical forecasts?); there is nothing to test.")
    # the NaN check names the function and the argument
    for kwargs, name in ((dict(loss_a=np.r_[np.nan, a[1:100]], loss_b=b[:100]), "loss_a"),
                         (dict(loss_a=a[:100], loss_b=np.r_[b[:99], np.nan]), "loss_b")):
        with pytest.raises(ValueError, match=rf"^diebold_mariano: {name} contains NaN"):
            diebold_mariano(**kwargs)
    with pytest.raises(ValueError, match=r"^kupiec_test: misses contains NaN"):
        kupiec_test(np.r_[misses[:50].astype(float), np.nan], 0.9)
