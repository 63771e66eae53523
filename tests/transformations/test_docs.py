"""The user guide's code and the example script run as written, on real data."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_user_guide_code_blocks_run():
    text = (ROOT / "docs" / "transformations.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 10
    namespace = {}
    for number, block in enumerate(blocks, start=1):
        code = compile(block, f"docs/transformations.md (python block {number})", "exec")
        exec(code, namespace)  # noqa: S102 - the documentation's own examples


def test_example_script_saves_the_chart(tmp_path):
    path = ROOT / "examples" / "technical_indicators.py"
    spec = importlib.util.spec_from_file_location("technical_indicators_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    saved = module.main(["--output-dir", str(tmp_path), "--days", "250"])
    assert saved == tmp_path / "sp500_technical_indicators.png"
    assert saved.stat().st_size > 10_000
