"""docs/architectures.md: its code runs as written, on real data, and its table is complete."""

import re
import warnings
from pathlib import Path

from skfin.registry import ARCHITECTURES

DOC = Path(__file__).resolve().parents[2] / "docs" / "architectures.md"


def test_architectures_doc_code_blocks_run():
    text = DOC.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 5
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        for number, block in enumerate(blocks, start=1):
            code = compile(block, f"docs/architectures.md (python block {number})", "exec")
            exec(code, namespace)  # noqa: S102 - the documentation's own examples


def test_every_registered_architecture_is_in_the_table():
    text = DOC.read_text()
    for arch in ARCHITECTURES:
        assert f"| `{arch.name}` | `{arch.net.__name__}` |" in text, arch.name
        assert arch.regressor.__name__ in text and arch.forecaster.__name__ in text
