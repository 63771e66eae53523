"""Diebold-Mariano, Kupiec and Christoffersen against independent computations, on real
S&P 500 forecasts (yesterday's squared return and a 20-day average as variance forecasts;
a 90% band of 1.645 trailing standard deviations)."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from skfin.datasets import load_sp500
from skfin.metrics import christoffersen_test, diebold_mariano, kupiec_test


@pytest.fixture(scope="module")
def losses():
    r = 100 * np.log(load_sp500()["Close"]).diff().dropna()
    var, last, avg = r ** 2, (r ** 2).shift(1), (r ** 2).rolling(20).mean().shift(1)
    ok = avg.notna() & last.notna()
    return ((var - last)[ok] ** 2).iloc[-1500:], ((var - avg)[ok] ** 2).iloc[-1500:]


@pytest.fixture(scope="module")
def misses():
    r = 100 * np.log(load_sp500()["Close"]).diff().dropna()
    sd = r.rolling(250).std().shift(1)
    return (r.abs() > 1.645 * sd)[sd.notna()].to_numpy()


def test_dm_at_horizon_one_is_the_t_test_of_the_loss_differences(losses):
    """With h=1 the HLN-corrected statistic is exactly the one-sample t statistic of d."""
    a, b = losses
    t = stats.ttest_1samp(a - b, 0.0)
    res = diebold_mariano(a, b)
    np.testing.assert_allclose([res.statistic, res.pvalue], [t.statistic, t.pvalue], rtol=1e-10)
    less = diebold_mariano(a, b, alternative="less")
    np.testing.assert_allclose(less.pvalue, stats.ttest_1samp(a - b, 0.0,
                                                              alternative="less").pvalue)


@pytest.mark.parametrize("h", [2, 5])
def test_dm_variance_is_the_uniform_kernel_hac_of_statsmodels(losses, h):
    a, b = losses
    d = (a - b).to_numpy()
    ols = sm.OLS(d, np.ones_like(d)).fit(
        cov_type="HAC", cov_kwds={"maxlags": h - 1, "kernel": "uniform",
                                  "use_correction": False})
    res = diebold_mariano(a, b, h=h, hln=False)
    np.testing.assert_allclose(res.statistic, ols.tvalues[0], rtol=1e-8)
    np.testing.assert_allclose(res.pvalue, 2 * stats.norm.sf(abs(ols.tvalues[0])), rtol=1e-8)
    n = d.size                                        # HLN: same statistic, scaled
    hln = diebold_mariano(a, b, h=h)
    factor = np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    np.testing.assert_allclose(hln.statistic, ols.tvalues[0] * factor, rtol=1e-8)


def test_dm_is_antisymmetric_and_says_which_is_better(losses):
    a, b = losses
    ab, ba = diebold_mariano(a, b, h=5), diebold_mariano(b, a, h=5)
    assert ab.statistic == pytest.approx(-ba.statistic)
    assert ab.pvalue == pytest.approx(ba.pvalue)
    # the 20-day average is the better variance forecast: A (yesterday) loses
    assert ab.statistic > 0 and diebold_mariano(a, b, h=5, alternative="greater").pvalue < 0.05


def test_kupiec_is_the_binomial_likelihood_ratio(misses):
    n, x = misses.size, int(misses.sum())
    for coverage in (0.8, 0.9, 0.95):
        lr = 2 * (stats.binom.logpmf(x, n, x / n) - stats.binom.logpmf(x, n, 1 - coverage))
        res = kupiec_test(misses, coverage)
        np.testing.assert_allclose(res.statistic, lr, rtol=1e-9)
        np.testing.assert_allclose(res.pvalue, stats.chi2.sf(lr, 1), rtol=1e-9)
    # the miss rate is 10.6%: consistent with 90%, not with 80% or 95%
    assert kupiec_test(misses, 0.9).pvalue > 0.05
    assert kupiec_test(misses, 0.8).pvalue < 1e-6 and kupiec_test(misses, 0.95).pvalue < 1e-6
    assert kupiec_test(np.zeros(100, bool), 0.9).pvalue < 0.01        # never missing


def test_christoffersen_adds_the_markov_independence_ratio(misses):
    m = pd.Series(misses.astype(int))
    pairs = pd.crosstab(m.shift(1).iloc[1:], m.iloc[1:])                 # transitions
    p01 = pairs.loc[0, 1] / pairs.loc[0].sum()
    p11 = pairs.loc[1, 1] / pairs.loc[1].sum()
    p = pairs[1].sum() / pairs.to_numpy().sum()
    markov = (stats.binom.logpmf(pairs.loc[0, 1], pairs.loc[0].sum(), p01)
              + stats.binom.logpmf(pairs.loc[1, 1], pairs.loc[1].sum(), p11))
    iid = (stats.binom.logpmf(pairs.loc[0, 1], pairs.loc[0].sum(), p)
           + stats.binom.logpmf(pairs.loc[1, 1], pairs.loc[1].sum(), p))
    lr = kupiec_test(misses, 0.9).statistic + 2 * (markov - iid)
    res = christoffersen_test(misses, 0.9)
    np.testing.assert_allclose(res.statistic, lr, rtol=1e-9)
    assert res.pvalue < 1e-6                                              # misses cluster
    # shuffled, the same misses no longer cluster: only the (small) Kupiec part is left
    shuffled = np.random.default_rng(0).permutation(misses)
    assert christoffersen_test(shuffled, 0.9).pvalue > 0.01


def test_bad_input_says_what_is_wrong(losses, misses):
    a, b = losses
    with pytest.raises(ValueError, match="aligned"):
        diebold_mariano(a, b.iloc[1:])
    with pytest.raises(ValueError, match="h must be an int"):
        diebold_mariano(a, b, h=0)
    with pytest.raises(ValueError, match="zero variance"):
        diebold_mariano(a, a + 1.0)
    with pytest.raises(ValueError, match="NaN"):
        diebold_mariano(a.where(a.index != a.index[3]), b)
    with pytest.raises(ValueError, match="misses must be 0/1"):
        kupiec_test(misses * 2.0, 0.9)
    with pytest.raises(ValueError, match="coverage must be in"):
        christoffersen_test(misses, 90)


@pytest.fixture(scope="module")
def naive_backtest():
    from sktime.forecasting.naive import NaiveForecaster

    from skfin.model_selection import backtest

    close = load_sp500()["Close"].reset_index(drop=True)
    r = (100 * np.log(close).diff()).dropna().iloc[-800:]
    models = {"last": NaiveForecaster("last"), "mean": NaiveForecaster("mean"),
              "drift": NaiveForecaster("drift")}
    return backtest(models, r, fh=5, folds=30, progress=False)


def test_backtest_significance_replays_the_test_on_the_traded_path(naive_backtest):
    res = naive_backtest
    table = res.significance("mean")
    assert list(table.index) == ["last", "drift"]
    f = res.forecasts

    def path_losses(model):                       # each test day once, latest forecast
        rows = f[f["model"] == model].sort_values(["position", "step"])
        rows = rows.groupby("position").first()   # steps <= step = 5: one forecast per day
        return (rows["y_true"] - rows["y_pred"]) ** 2

    for model in ("last", "drift"):
        expected = diebold_mariano(path_losses(model), path_losses("mean"), h=5)
        np.testing.assert_allclose(table.loc[model, ["dm_statistic", "dm_pvalue"]]
                                   .to_numpy(dtype=float), expected, rtol=1e-10)
        verdict = ("not significant" if expected.pvalue >= 0.05
                   else "better" if expected.statistic < 0 else "worse")
        assert table.loc[model, "verdict"] == verdict
    board = res.leaderboard(reference="mean")
    assert board.loc["mean", "vs_reference"] == "reference"
    assert board.loc["last", "dm_pvalue"] == table.loc["last", "dm_pvalue"]
    with pytest.raises(ValueError, match="reference 'garch' is not a model"):
        res.significance("garch")


def test_backtest_coverage_tests_replay_kupiec_on_the_path(naive_backtest):
    res = naive_backtest
    tests = res.coverage_tests()
    f = res.forecasts
    rows = f[f["model"] == "last"].sort_values("position").groupby("position").first()
    for c in res.coverage:
        label = f"{round(100 * c):d}"
        misses = ((rows["y_true"] < rows[f"lower_{label}"])
                  | (rows["y_true"] > rows[f"upper_{label}"])).to_numpy()
        row = tests.loc[("last", c)]
        assert row["observed"] == pytest.approx(1 - misses.mean())
        assert row["kupiec_pvalue"] == pytest.approx(kupiec_test(misses, c).pvalue)
        assert row["christoffersen_pvalue"] == pytest.approx(
            christoffersen_test(misses, c).pvalue)


def test_cli_reference_must_be_a_model_that_runs(capsys):
    from skfin.cli import main

    with pytest.raises(SystemExit):
        main(["backtest", "--models", "lstm", "--baselines", "naive", "--reference",
              "garch"])
    assert "--reference garch is not among the models run" in capsys.readouterr().err


def _christoffersen_reference(m, coverage):
    """LR_uc + LR_ind from the binomial likelihoods of the transition counts."""
    m = np.asarray(m, dtype=int)
    n, x = m.size, int(m.sum())
    uc = 2 * (stats.binom.logpmf(x, n, x / n) - stats.binom.logpmf(x, n, 1 - coverage))
    prev, curr = m[:-1], m[1:]
    after0, after1 = curr[prev == 0], curr[prev == 1]
    p0 = after0.mean() if after0.size else 0.0
    p1 = after1.mean() if after1.size else 0.0
    p = curr.mean()
    markov = (stats.binom.logpmf(after0.sum(), after0.size, p0)
              + stats.binom.logpmf(after1.sum(), after1.size, p1))
    iid = (stats.binom.logpmf(after0.sum(), after0.size, p)
           + stats.binom.logpmf(after1.sum(), after1.size, p))
    return uc + max(2 * (markov - iid), 0.0)


def test_christoffersen_on_short_real_stretches_and_degenerate_runs(misses):
    # 10-day stretches of the real misses, among them ones where a miss is as often
    # followed by a miss as by a hit (n10 == n11) and ones where a hit is as often
    # followed by a hit as by a miss (n00 == n01: a volatile fortnight)
    stretches = [misses[i:i + 10] for i in range(misses.size - 10)]

    def counts(m):
        prev, curr = m[:-1].astype(int), m[1:].astype(int)
        return [int(((prev == a) & (curr == b)).sum()) for a in (0, 1) for b in (0, 1)]

    after_miss = [m for m in stretches if counts(m)[2] == counts(m)[3] > 0]
    after_hit = [m for m in stretches if counts(m)[0] == counts(m)[1] > 0]
    assert after_miss and after_hit                      # both occur in the data
    for m in after_miss[:5] + after_hit[:5] + stretches[::500]:
        assert christoffersen_test(m, 0.9).statistic == pytest.approx(
            _christoffersen_reference(m, 0.9), rel=1e-9, abs=1e-12)
    # no miss at all, or nothing but misses: one transition row is empty
    for m in (np.zeros(40, bool), np.ones(40, bool)):
        res = christoffersen_test(m, 0.9)
        assert np.isfinite(res.statistic)
        assert res.statistic == pytest.approx(_christoffersen_reference(m, 0.9), rel=1e-9)


def test_christoffersen_errors_name_christoffersen(misses):
    with pytest.raises(ValueError, match=r"^christoffersen_test: misses must be 0/1"):
        christoffersen_test(misses * 2.0, 0.9)
    with pytest.raises(ValueError, match=r"^christoffersen_test: coverage must be in"):
        christoffersen_test(misses, 1.5)
    with pytest.raises(ValueError, match=r"^christoffersen_test: misses must be one series"):
        christoffersen_test(np.c_[misses, misses], 0.9)


def test_diebold_mariano_input_errors_word_for_word(losses):
    a, b = losses
    two = pd.concat([a, b], axis=1)
    n = a.size
    cases = [
        (dict(loss_a=two, loss_b=b), "diebold_mariano: loss_a must be one series; got 2 columns."),
        (dict(loss_a=a, loss_b=two), "diebold_mariano: loss_b must be one series; got 2 columns."),
        (dict(loss_a=a, loss_b=b, h=True),
         f"diebold_mariano: h must be an int in [1, n - 1] = [1, {n - 1}]; got True."),
        (dict(loss_a=a, loss_b=b, h=n),
         f"diebold_mariano: h must be an int in [1, n - 1] = [1, {n - 1}]; got {n}."),
        (dict(loss_a=a, loss_b=b, alternative="both"),
         "diebold_mariano: alternative must be 'two-sided', 'less' or 'greater'; got 'both'."),
        (dict(loss_a=a.iloc[:2], loss_b=b.iloc[:2]),
         "diebold_mariano: needs at least 3 periods; got 2."),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError) as info:
            diebold_mariano(**kwargs)
        assert str(info.value) == message
    # the shortest sample it takes, and the longest horizon
    three = diebold_mariano(a.iloc[:3], b.iloc[:3])
    assert three.statistic == pytest.approx(
        stats.ttest_1samp(a.iloc[:3] - b.iloc[:3], 0.0).statistic, rel=1e-10)
    assert np.isfinite(diebold_mariano(a, b, h=n - 1, hln=False).statistic)
