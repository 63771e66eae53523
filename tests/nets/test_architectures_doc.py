"""docs/architectures.md lists every registered architecture (its code runs in tests/test_guides.py)."""

from pathlib import Path

from skfin.registry import ARCHITECTURES

DOC = Path(__file__).resolve().parents[2] / "docs" / "architectures.md"


def test_every_registered_architecture_is_in_the_table():
    text = DOC.read_text()
    for arch in ARCHITECTURES:
        assert f"| `{arch.name}` | `{arch.net.__name__}` |" in text, arch.name
        assert arch.regressor.__name__ in text and arch.forecaster.__name__ in text
