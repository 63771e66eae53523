"""``skfin backtest`` end to end on tiny settings, its errors, and the entry point."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skfin.cli import load_target, main
from skfin.datasets import load_sp500

ROOT = Path(__file__).resolve().parents[1]
TINY = ["backtest", "--last", "400", "--folds", "2", "--horizon", "2", "--window", "8",
        "--epochs", "1", "--models", "mlp", "--quiet"]

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _finite(frame: pd.DataFrame, columns) -> bool:
    return bool(np.isfinite(frame[list(columns)].to_numpy(dtype=float)).all())


def test_backtest_writes_csv_and_plots(tmp_path, capsys):
    assert main([*TINY, "--baselines", "naive,naive_mean", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    board = pd.read_csv(tmp_path / "leaderboard.csv", index_col="model")
    assert set(board.index) == {"mlp", "naive", "naive_mean"}
    for model in board.index:
        assert model in out                                    # the printed table
    scores = ["mae", "rmse", "direction", "pinball", "coverage_80", "coverage_90",
              "coverage_95", "width_95", "winkler_90", "fit_seconds", "predict_seconds"]
    assert _finite(board, scores) and (board["folds"] == 2).all()
    folds = pd.read_csv(tmp_path / "folds.csv")
    assert len(folds) == 3 * 2 and _finite(folds, scores)
    assert pd.to_datetime(folds["cutoff_date"]).max() < pd.Timestamp("2018-12-31")
    forecasts = pd.read_csv(tmp_path / "forecasts.csv")
    assert len(forecasts) == 3 * 2 * 2
    # the numbers, recomputed from the real series and the saved forecasts
    y, _, _, _ = load_target("sp500", "returns", last=400)
    np.testing.assert_allclose(forecasts["y_true"], y.to_numpy()[forecasts["time"]],
                               rtol=1e-12)
    naive = forecasts[forecasts["model"] == "naive"]
    np.testing.assert_allclose(naive["y_pred"], y.to_numpy()[naive["cutoff"]], rtol=1e-12)
    assert (forecasts["time"] == forecasts["cutoff"] + forecasts["step"]).all()
    for (model, fold), rows in forecasts.groupby(["model", "fold"]):
        row = folds[(folds["model"] == model) & (folds["fold"] == fold)].iloc[0]
        err = rows["y_true"] - rows["y_pred"]
        assert row["mae"] == pytest.approx(err.abs().mean(), rel=1e-9)
        assert row["rmse"] == pytest.approx(np.sqrt((err ** 2).mean()), rel=1e-9)
        lo, hi, yt = rows["lower_90"], rows["upper_90"], rows["y_true"]
        assert row["coverage_90"] == pytest.approx(((yt >= lo) & (yt <= hi)).mean())
        assert row["width_90"] == pytest.approx((hi - lo).mean(), rel=1e-9)
        winkler = (hi - lo) + 20 * ((lo - yt).clip(lower=0) + (yt - hi).clip(lower=0))
        assert row["winkler_90"] == pytest.approx(winkler.mean(), rel=1e-9)
    means = folds.groupby("model")[["mae", "coverage_90", "winkler_90"]].mean()
    pd.testing.assert_frame_equal(board[["mae", "coverage_90", "winkler_90"]].sort_index(),
                                  means.sort_index(), check_names=False, rtol=1e-9)
    for png in ("forecast_fans", "mae_per_fold", "coverage", "strategy_returns"):
        assert (tmp_path / f"{png}.png").stat().st_size > 10_000


def test_realized_vol_has_the_garch_baseline(tmp_path):
    assert main([*TINY, "--target", "realized_vol", "--output", str(tmp_path)]) == 0
    board = pd.read_csv(tmp_path / "leaderboard.csv", index_col="model")
    assert {"garch", "naive", "mlp"} <= set(board.index)
    assert _finite(board.loc[["garch", "naive"]], ["mae", "qlike", "coverage_90"])
    # naive carries the last realised volatility forward, and the MAE is that of the
    # saved forecasts
    y, _, _, _ = load_target("sp500", "realized_vol", last=400)
    forecasts = pd.read_csv(tmp_path / "forecasts.csv")
    naive = forecasts[forecasts["model"] == "naive"]
    np.testing.assert_allclose(naive["y_pred"], y.to_numpy()[naive["cutoff"]], rtol=1e-12)
    np.testing.assert_allclose(forecasts["y_true"], y.to_numpy()[forecasts["time"]],
                               rtol=1e-12)
    folds = pd.read_csv(tmp_path / "folds.csv")
    for (model, fold), rows in forecasts.groupby(["model", "fold"]):
        row = folds[(folds["model"] == model) & (folds["fold"] == fold)].iloc[0]
        assert row["mae"] == pytest.approx((rows["y_true"] - rows["y_pred"]).abs().mean(),
                                           rel=1e-9)
    assert not (tmp_path / "strategy_returns.png").exists()


def test_realized_vol_runs_the_har_baseline(tmp_path):
    args = [*TINY, "--target", "realized_vol", "--models", "none", "--baselines", "har,garch",
            "--output", str(tmp_path)]
    assert main(args) == 0
    board = pd.read_csv(tmp_path / "leaderboard.csv", index_col="model")
    assert set(board.index) == {"har", "garch"}
    assert _finite(board.loc[["har"]], ["mae", "qlike", "coverage_90"])


@pytest.mark.parametrize("scaling, name", [("ewma", "mlp+split"), ("none", "mlp+split-unscaled")])
def test_conformal_wraps_the_neural_models(tmp_path, scaling, name):
    assert main([*TINY, "--baselines", "none", "--conformal", "split", "--coverage", "0.9",
                 "--conformal-scaling", scaling, "--output", str(tmp_path)]) == 0
    board = pd.read_csv(tmp_path / "leaderboard.csv", index_col="model")
    assert board.index.tolist() == [name]
    assert _finite(board, ["mae", "coverage_90", "width_90"])
    # conformal bands are symmetric around the wrapped model's point forecast, and the
    # leaderboard scores them as saved
    forecasts = pd.read_csv(tmp_path / "forecasts.csv")
    lo, hi, yt = forecasts["lower_90"], forecasts["upper_90"], forecasts["y_true"]
    np.testing.assert_allclose((lo + hi) / 2, forecasts["y_pred"], rtol=1e-9, atol=1e-12)
    assert (hi > lo).all()
    folds = pd.read_csv(tmp_path / "folds.csv")
    expected = forecasts.assign(inside=(yt >= lo) & (yt <= hi)).groupby("fold")["inside"].mean()
    np.testing.assert_allclose(folds.sort_values("fold")["coverage_90"], expected.sort_index())


def test_python_dash_m_entry_point():
    done = subprocess.run([sys.executable, "-m", "skfin", "backtest", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for option in ("--dataset", "--target", "--models", "--coverage", "--conformal"):
        assert option in done.stdout


@pytest.mark.parametrize("args,offending", [
    (["--models", "lstmx"], "'lstmx'"),
    (["--models", "mlp,foo"], "'foo'"),
    (["--baselines", "arima"], "'arima'"),
    (["--baselines", "garch"], "'garch'"),
    (["--dataset", "sp501"], "'sp501'"),
    (["--target", "price"], "'price'"),
    (["--horizon", "0"], "0"),
    (["--folds", "0"], "0"),
    (["--window", "-3"], "-3"),
    (["--horizon", "two"], "'two'"),
    (["--coverage", "0.9", "1.5"], "1.5"),
    (["--coverage", "0"], "0"),
    (["--device", "tpu"], "'tpu'"),
    (["--last", "60"], "60"),
    (["--dataset", "fama_french", "--target", "close"], "fama_french"),
])
def test_bad_options_exit_with_one_line(args, offending, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["backtest", *args])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert err.startswith("skfin: error: ") and err.count("\n") == 1, err
    assert offending in err


def test_unknown_names_list_the_valid_ones(capsys):
    with pytest.raises(SystemExit):
        main(["backtest", "--models", "lstmx"])
    err = capsys.readouterr().err
    assert "mlp" in err and "lstm" in err and "'all'" in err
    with pytest.raises(SystemExit):
        main(["backtest", "--dataset", "sp501"])
    assert "sp500" in capsys.readouterr().err


def test_targets_on_real_data():
    close = load_sp500()["Close"]
    r = 100 * np.log(close).diff().dropna()
    y, X, dates, notes = load_target("sp500", "realized_vol", vol_window=5, last=300)
    expected = np.sqrt((r ** 2).rolling(5).sum()).dropna().iloc[-300:]
    np.testing.assert_allclose(y.to_numpy(), expected.to_numpy())
    np.testing.assert_allclose(X.iloc[:, 0].to_numpy(), r.iloc[-300:].to_numpy())
    assert y.index.equals(pd.RangeIndex(300)) and dates.equals(expected.index)
    assert notes == []
    y, X, dates, notes = load_target("vix", "close")
    assert len(y) == 1305 - 46 and "dropped 46 missing values" in notes[0] and X is None
    y, _, dates, _ = load_target("fama_french", "returns")
    assert isinstance(dates, pd.PeriodIndex) and y.iloc[0] == pytest.approx(2.96)


def test_conformal_option_names_the_missing_module(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "skfin.uncertainty", None)     # import fails
    with pytest.raises(SystemExit) as exit_info:
        main(["backtest", "--conformal", "aci"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1
    assert "--conformal aci needs skfin.uncertainty.ConformalForecaster" in err


def test_version_names_skfin_and_its_stack(capsys):
    import skfin
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"skfin {skfin.__version__} | torch ") and "sktime" in out


def _backtest_options():
    """The backtest sub-parser's options: ``{"--last": action, ...}``."""
    from skfin.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["backtest"]
    return {a.option_strings[-1]: a for a in sub._actions if a.dest != "help"}


def _help_blocks(text: str) -> dict[str, str]:
    """Each option's block of ``--help`` text, from its line to the next option's."""
    blocks, current = {}, None
    for line in text.splitlines():
        match = re.match(r"  (-\w, )?(--[\w-]+)", line)
        if match:
            current = match.group(2)
            blocks[current] = ""
        if current:
            blocks[current] += " " + line.strip()
    return {k: re.sub(r"\s+", " ", v) for k, v in blocks.items()}


def test_help_prints_every_default_exactly_once(capsys):
    from skfin.cli import _default_text

    with pytest.raises(SystemExit) as done:
        main(["backtest", "--help"])
    assert done.value.code == 0
    blocks = _help_blocks(capsys.readouterr().out)
    options = _backtest_options()
    assert set(options) <= set(blocks)
    for name, action in options.items():
        assert blocks[name].count("default:") == 1, blocks[name]
        if action.default is not None:
            assert f"(default: {_default_text(action.default)})" in blocks[name], blocks[name]
    assert "(default: the horizon)" in blocks["--step"]
    assert "(default: 0.8 0.9 0.95)" in blocks["--coverage"]       # as typed, not a list
    assert "(default: skfin-output)" in blocks["--output"]         # not split at the hyphen
    assert "(default: off)" in blocks["--quiet"]


def test_user_guide_lists_every_option_with_its_default():
    from skfin.cli import _default_text

    options = _backtest_options()
    guide = (ROOT / "docs" / "user_guide.md").read_text(encoding="utf-8")
    documented = {}
    for row in re.findall(r"^\| (`--[^|]+) \| ([^|]+) \|", guide, flags=re.MULTILINE):
        names = re.findall(r"`(--[\w-]+)`", row[0])
        defaults = [d.strip().strip("`") for d in row[1].split(", ")]
        if len(defaults) == 1 and len(names) > 1:
            defaults *= len(names)
        assert len(defaults) == len(names), row
        documented.update(zip(names, defaults))
    assert set(documented) == set(options) - {"--version"}
    # Defaults that depend on other options: the guide names the rule, --help spells it.
    assert documented.pop("--baselines") == "per target"
    assert documented.pop("--step") == "horizon"
    for name, default in documented.items():
        assert default == _default_text(options[name].default), name
