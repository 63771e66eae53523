"""Every script in ``examples/`` runs here, on tiny settings, and prints what it claims.

Each example is loaded as a module and run through its own ``main`` with small arguments
(and, where a script has no argument for it, a smaller held-out tail patched on the
module), so a script that stops running, or stops writing its files, fails the suite. The
numbers a script prints that do not depend on training (baselines, identities) are
recomputed here from the real data.
"""

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skfin.datasets import load_airline, load_nasdaq, load_sp500

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}",
                                                  ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in the output:\n{text}"
    return float(found.group(1))


def _explain(module, out, monkeypatch):
    res = module.main(["--output", str(out), "--epochs", "1", "--window", "10",
                       "--days", "300", "--origins", "20"])
    ex = res["explanation"]
    # TFT's past variable-selection weights are a softmax over the three inputs
    assert sum(res["selection"].values()) == pytest.approx(1, abs=1e-6)
    assert ex.outputs["sample"].nunique() == 20
    return ["explain_attributions.png", "explain_attention.png", "explain_importance.png"], {
        r"fitted (\d+) epochs": lambda v: v == 1,
        r"on (\d+) days": lambda v: v == 300 - 20,
        # completeness: the attributions add up to forecast - baseline within 1%
        r"largest \|gap\| ([\d.e+-]+) pp": lambda v: v <= 0.01 * (
            ex.outputs["forecast"] - ex.outputs["baseline_forecast"]).abs().max(),
    }


def _koopman(module, out, monkeypatch):
    full = module.realized_volatility
    monkeypatch.setattr(module, "realized_volatility", lambda: full().iloc[-1200:])
    monkeypatch.setattr(module, "TEST", 200)
    monkeypatch.setattr(sys, "argv", ["koopman_spectrum.py", "--output", str(out),
                                      "--epochs", "1"])
    module.main()
    rv = full().iloc[-1200:].to_numpy()
    origins = np.arange(len(rv) - 200, len(rv) - module.ROLLOUT + 1)
    persistence = np.abs(rv[origins - 1] - rv[origins]).mean()       # step 1
    return ["koopman_spectrum.png", "koopman_rollout.png"], {
        # the claim: stable=True keeps the spectral radius below 1
        r"spectral radius ([\d.]+)": lambda v: v < 1,
        rf"MAE in vol points over (\d+) held-out origins": lambda v: v == len(origins),
        r"\n\s+1\s+\S+\s+\S+\s+([\d.]+)": lambda v: v == pytest.approx(persistence,
                                                                      abs=5e-3),
    }


def _multitask(module, out, monkeypatch):
    monkeypatch.setattr(module, "TAIL", 40)
    monkeypatch.setattr(sys, "argv", ["multitask_panel.py", "--output", str(out),
                                      "--days", "400", "--epochs", "1"])
    module.main()
    close = pd.DataFrame({"sp500": load_sp500()["Close"],
                          "nasdaq": load_nasdaq()["Close"]}).dropna()
    tail = (100 * np.log(close).diff()).dropna().iloc[-40:]
    return ["multitask_panel.png"], {
        r"trained (\d+) epochs": lambda v: v == 1,
        # the zero forecast's MAE is the mean absolute return of the held-out days
        r"MAE zero\s+([\d.]+)": lambda v: v == pytest.approx(tail["sp500"].abs().mean(),
                                                             abs=5e-5),
        r"MAE zero\s+[\d.]+\s+([\d.]+)": lambda v: v == pytest.approx(
            tail["nasdaq"].abs().mean(), abs=5e-5),
    }


def _nbeats(module, out, monkeypatch):
    full = module.volatility
    monkeypatch.setattr(module, "volatility", lambda epochs: full(epochs, tail=40))
    monkeypatch.setattr(sys, "argv", ["nbeats_decomposition.py", "--output", str(out),
                                      "--epochs", "1"])
    module.main()
    y = np.log(load_airline()).to_numpy()
    truth, naive = np.exp(y[-12:]), np.exp(y[-24:-12])
    return ["nbeats_decomposition.png"], {
        # the claim: the forecast is exactly trend + seasonality (both series)
        r"max \|trend \+ seasonality - forecast\| ([\d.e+-]+)": lambda v: v < 1e-5,
        r"forecast\| ([\d.e+-]+)\s*\nsaved": lambda v: v < 1e-5,
        r"seasonal naive MAPE %\s+([\d.]+)": lambda v: v == pytest.approx(
            100 * np.mean(np.abs(naive - truth) / truth), abs=5e-5),
        r"origins\s+(\d+)": lambda v: v == 40 - 10 + 1,
    }


def _quickstart(module, out, monkeypatch):
    board = module.main(["--output", str(out), "--epochs", "1"])
    assert set(board.index) == {"lstm", "naive_mean", "naive_last"}
    assert board["mae"].is_monotonic_increasing                       # printed best first
    return ["forecast_fans.png", "mae_per_fold.png", "coverage.png",
            "strategy_returns.png"], {}


def _tft(module, out, monkeypatch):
    res = module.main(["--output", str(out), "--epochs", "1", "--window", "20",
                       "--days", "400"])
    # variable selection weights are a softmax: they sum to 1 (printed to 3 decimals)
    assert sum(res["past"].values()) == pytest.approx(1, abs=3e-3)
    assert sum(res["future"].values()) == pytest.approx(1, abs=3e-3)
    assert res["forecast"]["realised"].tolist() == pytest.approx(
        (100 * np.log(load_sp500()["Close"]).diff()).iloc[-5:].tolist())
    return ["tft_calendar.png"], {r"fitted (\d+) epochs": lambda v: v == 1}


def _accelerate(module, out, monkeypatch):
    # One process here; the CPU accelerator (one AcceleratorState per test process).
    monkeypatch.setattr(module.torch.cuda, "is_available", lambda: False)
    res = module.main(["--days", "600", "--epochs", "1", "--output", str(out)])
    X, y = module.data(600)
    saved = pd.read_csv(out / "forecasts.csv", index_col=0)
    assert len(saved) == module.TEST
    np.testing.assert_allclose(saved["forecast"], res["model"].predict(X.iloc[-module.TEST:]),
                               rtol=1e-6)
    naive = X["r"].abs().rolling(20).mean().iloc[-module.TEST:] - y.iloc[-module.TEST:]
    return [], {
        r"trained on (\d+) process": lambda v: v == 1,
        r"fitted (\d+) epochs": lambda v: v == 1,
        r"on (\d+) days": lambda v: v == 600 - module.TEST,
        r"mean of \|r\|: MAE ([\d.]+)": lambda v: v == pytest.approx(naive.abs().mean(),
                                                                    abs=1e-4),
        r"differ by at most ([\d.e+-]+)": lambda v: v == 0 and res["spread"] == 0,
    }


def _tune(module, out, monkeypatch):
    res = module.main(["--output", str(out), "--days", "400", "--trials", "3", "--epochs", "2",
                       "--folds", "2", "--test-size", "50"])
    assert set(res["searches"]) == {"lstm", "tcn"}
    for name, search in res["searches"].items():
        assert len(search.trials_) == 3
        assert search.pruned_share_ == search.n_pruned_ / 3
        assert (out / f"trials_{name}.csv").exists()
    # persistence: this week's realized vol for next week's, on the two 50-day test folds
    r = (100 * np.log(load_sp500()["Close"]).diff()).dropna()
    rv = np.sqrt((r ** 2).rolling(5).sum()).dropna().iloc[-405:].to_numpy()
    tests = [np.arange(300, 350), np.arange(350, 400)]
    persistence = np.mean([np.abs(rv[t] - rv[t + 5]).mean() for t in tests])
    return ["tune_realized_vol.png"], {
        r"persistence MAE ([\d.]+)": lambda v: v == pytest.approx(persistence, abs=5e-5),
        r"lstm: (\d+) trials": lambda v: v == 3,
        r"tcn: (\d+) trials": lambda v: v == 3,
        r"pruned share ([\d.]+)": lambda v: 0 <= v <= 1,
    }


RUNS = {"accelerate_lstm": _accelerate, "explain_sp500": _explain, "koopman_spectrum": _koopman,
        "multitask_panel": _multitask, "nbeats_decomposition": _nbeats,
        "quickstart": _quickstart, "tft_calendar": _tft,
        "tune_realized_vol": _tune}


def test_every_example_is_run_by_the_tests():
    scripts = {p.stem for p in (ROOT / "examples").glob("*.py")}
    # technical_indicators.py: tests/transformations/test_example.py
    assert scripts == set(RUNS) | {"technical_indicators"}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_example_runs_and_prints_what_it_claims(name, tmp_path, monkeypatch, capsys):
    module = _load(name)
    monkeypatch.chdir(tmp_path)
    files, claims = RUNS[name](module, tmp_path / "out", monkeypatch)
    text = capsys.readouterr().out
    for png in files:
        assert (tmp_path / "out" / png).stat().st_size > 10_000, png
    for pattern, holds in claims.items():
        value = _number(pattern, text)
        assert holds(value), f"{name}: {pattern!r} gave {value}"
