"""Write the saved-model fixture of tests/test_persistence.py: tiny models on real data.

Each model is saved to ``saved_models/<name>.zip`` with what it predicted when saved in
``saved_models/<name>.json``. ``test_saved_models_still_load`` loads every file and checks
the predictions, so a change of the file format that breaks files saved earlier fails CI.

Run this only to add a model (a new estimator type, a new format version alongside the
old files): never to regenerate existing files after a format change. That would hide
exactly the breakage the fixture is there to catch.

    python tests/data/make_saved_models.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent / "saved_models"


def _returns(n: int) -> pd.Series:
    from skfin.datasets import load_sp500

    close = load_sp500()["Close"]
    return (100 * np.log(close).diff()).dropna().iloc[-n:].rename("r")


def _write(name: str, model, expected: dict) -> None:
    import skfin
    from skfin import persistence

    path = model.save(HERE / f"{name}.zip")
    expected = {"class": f"{type(model).__module__}:{type(model).__qualname__}",
                "skfin_version": skfin.__version__,
                "format_version": persistence.FORMAT_VERSION, **expected}
    path.with_suffix(".json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"{path.name}: {path.stat().st_size} bytes")


def lstm_regressor() -> None:
    """LSTMRegressor: today's S&P 500 return and its size -> tomorrow's return."""
    from skfin.regressors import LSTMRegressor

    r = _returns(150)
    X = pd.DataFrame({"r": r, "abs_r": r.abs()}).iloc[:-1]
    y = r.shift(-1).iloc[:-1].rename("next_r")
    model = LSTMRegressor(window=5, hidden_size=4, max_epochs=2, batch_size=32,
                          random_state=0, device="cpu").fit(X, y)
    rows = X.tail(8)
    _write("lstm_regressor", model, {
        "face": "regressor",
        "X": {"columns": list(rows.columns), "index": [str(d.date()) for d in rows.index],
              "values": rows.to_numpy().tolist()},
        "predict": model.predict(rows).tolist(),
        "predict_interval": model.predict_interval(rows, coverage=0.9).to_numpy().tolist(),
    })


def _forecaster_expected(f) -> dict:
    band = f.predict_interval(coverage=0.9)
    return {"face": "forecaster", "index": [str(d) for d in band.index],
            "predict": np.asarray(f.predict()).tolist(),
            "predict_interval": band.to_numpy().tolist()}


def tcn_forecaster() -> None:
    """TCNForecaster with a quantile head on S&P 500 returns (trading-day calendar)."""
    from skfin.forecasting import TCNForecaster

    f = TCNForecaster(window=5, channels=4, kernel_size=2, num_blocks=1, output="quantile",
                      max_epochs=2, batch_size=32, random_state=0, device="cpu")
    f.fit(_returns(120), fh=[1, 2, 3])
    _write("tcn_forecaster", f, _forecaster_expected(f))


def conformal_gru_forecaster() -> None:
    """Adaptive conformal intervals around a GRUForecaster's point forecasts."""
    from skfin.forecasting import GRUForecaster
    from skfin.uncertainty import ConformalForecaster

    inner = GRUForecaster(window=5, hidden_size=4, max_epochs=2, batch_size=32,
                          random_state=0, device="cpu")
    f = ConformalForecaster(inner, method="aci", calibration_size=20).fit(_returns(120),
                                                                          fh=[1, 2])
    _write("conformal_gru_forecaster", f, _forecaster_expected(f))


if __name__ == "__main__":
    HERE.mkdir(parents=True, exist_ok=True)
    for make in (lstm_regressor, tcn_forecaster, conformal_gru_forecaster):
        make()
