"""The technical-indicators example script runs and saves its chart, on real data."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_example_script_saves_the_chart(tmp_path):
    path = ROOT / "examples" / "technical_indicators.py"
    spec = importlib.util.spec_from_file_location("technical_indicators_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    saved = module.main(["--output-dir", str(tmp_path), "--days", "250"])
    assert saved == tmp_path / "sp500_technical_indicators.png"
    assert saved.stat().st_size > 10_000
