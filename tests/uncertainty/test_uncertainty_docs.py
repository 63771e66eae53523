"""docs/uncertainty.md runs as written, on real data."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_uncertainty_guide_code_blocks_run():
    text = (ROOT / "docs" / "uncertainty.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 2
    namespace = {}
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"docs/uncertainty.md (python block {number})", "exec"), namespace)
