"""Every guide's Python blocks run as written, in order, on real data (README included)."""

import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: (guide, fewest Python blocks it must hold): the count guards against a block that loses
#: its ```python fence and silently stops being tested
GUIDES = [
    ("docs/transformations.md", 10),
    ("docs/evaluation.md", 6),
    ("docs/architectures.md", 8),
    ("docs/uncertainty.md", 2),
    # the newcomer's path trains LSTMs on 20 years of data: a minute or two each
    pytest.param("docs/user_guide.md", 4, marks=pytest.mark.slow),
    pytest.param("README.md", 1, marks=pytest.mark.slow),
]


def _blocks(path: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / path).read_text(), flags=re.DOTALL)


@pytest.mark.parametrize("name, fewest", GUIDES)
def test_guide_code_blocks_run(name, fewest, tmp_path, monkeypatch):
    blocks = _blocks(name)
    assert len(blocks) >= fewest, f"{name} lost Python blocks"
    monkeypatch.chdir(tmp_path)                       # blocks may save plots and CSV files
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        for number, block in enumerate(blocks, start=1):
            code = compile(block, f"{name} (python block {number})", "exec")
            exec(code, namespace)  # noqa: S102 - the documentation's own examples
