"""Every guide's Python blocks run as written, in order, on real data (README included).

A ``print(...)`` whose trailing comment states its output (a number, a list, or text with
``...`` for the parts that vary) is compared with what it prints: numbers within half a
unit of the last decimal the comment shows, text fragments in order.
"""

import builtins
import io
import re
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: (guide, its number of Python blocks, its number of stated outputs): the exact counts
#: guard against a block that loses its ```python fence, or a stated output its comment,
#: and silently stops being tested. Update them with the guide.
GUIDES = [
    ("docs/transformations.md", 15, 0),
    ("docs/evaluation.md", 9, 4),
    ("docs/tuning.md", 4, 2),
    ("docs/architectures.md", 17, 0),
    ("docs/uncertainty.md", 2, 0),
    ("docs/explaining.md", 2, 4),
    ("docs/ensembles.md", 2, 0),
    # a CausalLSTM on four years of S&P 500 and VIX days: ten to twenty seconds
    pytest.param("docs/causal.md", 1, 2, marks=pytest.mark.slow),
    # a global GRU on two indices and a pretraining on three markets: tens of seconds
    pytest.param("docs/panels.md", 3, 3, marks=pytest.mark.slow),
    # the newcomer's path trains LSTMs on 20 years of data: a minute or two each
    pytest.param("docs/user_guide.md", 10, 0, marks=pytest.mark.slow),
    pytest.param("README.md", 1, 0, marks=pytest.mark.slow),
]

_NUMBER = r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
#: a trailing comment that states an output: starts with a number, a bracket or "...",
#: or holds "..." (the doctest ellipsis)
_STATED = re.compile(r"^\s*print\(.*\)\s*#\s*((?:[-+\[(]|\d|\.\.\.).*|.*\.\.\..*)$")


def _blocks(path: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / path).read_text(), flags=re.DOTALL)


def _stated_outputs(block: str) -> dict[int, str]:
    """{line number in the block: the output its print's comment states}."""
    return {i: m.group(1).strip() for i, line in enumerate(block.splitlines(), start=1)
            if (m := _STATED.match(line))}


def _check_stated(stated: str, printed: str, where: str) -> None:
    if "..." in stated:
        position = 0
        for fragment in filter(None, (f.strip() for f in stated.split("..."))):
            found = printed.find(fragment, position)
            assert found >= 0, f"{where}: {fragment!r} not in the printed {printed!r}"
            position = found + len(fragment)
        return
    want, got = re.findall(_NUMBER, stated), re.findall(_NUMBER, printed)
    assert len(want) == len(got) > 0, f"{where}: states {stated!r}, printed {printed!r}"
    for w, g in zip(want, got):
        decimals = len(w.split(".")[1]) if "." in w and "e" not in w.lower() else 0
        assert float(g) == pytest.approx(float(w), abs=0.5 * 10 ** -decimals, rel=1e-9), \
            f"{where}: states {stated!r}, printed {printed!r}"


@pytest.mark.parametrize("name, n_blocks, n_stated", GUIDES)
def test_guide_code_blocks_run(name, n_blocks, n_stated, tmp_path, monkeypatch):
    blocks = _blocks(name)
    assert len(blocks) == n_blocks, f"{name} has {len(blocks)} Python blocks, not {n_blocks}"
    stated = {(number, line): text for number, block in enumerate(blocks, start=1)
              for line, text in _stated_outputs(block).items()}
    assert len(stated) == n_stated, f"{name}: stated outputs {stated}"
    monkeypatch.chdir(tmp_path)                       # blocks may save plots and CSV files
    printed = {}

    def recording_print(*args, **kwargs):
        """print, also keeping what each line of a block printed."""
        frame = sys._getframe(1)
        found = re.search(r"\(python block (\d+)\)$", frame.f_code.co_filename)
        if found and kwargs.get("file") is None:
            buffer = io.StringIO()
            builtins.print(*args, **{**kwargs, "file": buffer})
            key = (int(found.group(1)), frame.f_lineno)
            printed[key] = printed.get(key, "") + buffer.getvalue()
        builtins.print(*args, **kwargs)

    namespace = {"print": recording_print}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        for number, block in enumerate(blocks, start=1):
            code = compile(block, f"{name} (python block {number})", "exec")
            exec(code, namespace)  # noqa: S102 - the documentation's own examples
    for (number, line), text in stated.items():
        where = f"{name} block {number} line {line}"
        assert (number, line) in printed, f"{where}: the print never ran"
        _check_stated(text, printed[number, line], where)
