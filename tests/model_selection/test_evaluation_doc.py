"""docs/evaluation.md runs as written, on real data."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_evaluation_guide_code_blocks_run():
    text = (ROOT / "docs" / "evaluation.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 6
    namespace = {}
    for number, block in enumerate(blocks, start=1):
        code = compile(block, f"docs/evaluation.md (python block {number})", "exec")
        exec(code, namespace)  # noqa: S102 - the documentation's own examples
