"""The documentation site: complete API reference, reachable pages, a build without warnings.

The fast tests read the sources (``docs/api/index.rst``, the toctrees, the README, the
gallery's settings) and the generated "Choosing an architecture" tables; the slow one
builds the whole site with Sphinx's ``-W`` (warnings, broken cross-references included,
are errors) into a temporary folder, without running the gallery scripts
(``SKFIN_DOCS_QUICK=1``: ``tests/test_examples.py`` runs each of them).
"""

import importlib
import json
import os
import pkgutil
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import skfin

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
API = DOCS / "api" / "index.rst"
sys.path.insert(0, str(DOCS))

import skfin_docs  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

#: Top-level modules of skfin that are public (the layers of DESIGN.md): every one has
#: a section in the API reference listing its ``__all__``.
PUBLIC_MODULES = sorted(f"skfin.{m.name}" for m in pkgutil.iter_modules(skfin.__path__)
                        if not m.name.startswith("_"))


def _reference() -> dict[str, list[str]]:
    """``{module: names listed in its section}`` from docs/api/index.rst."""
    listed, module = {}, None
    for line in API.read_text().splitlines():
        if found := re.match(r"\.\. (?:py:)?module:: (\S+)$", line):
            module = found.group(1)
            listed[module] = []
        elif module and (found := re.match(r"   (~?[\w.]+)$", line)):
            listed[module].append(found.group(1))
    return listed


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_api_reference_lists_every_public_name(module):
    names = importlib.import_module(module).__all__
    listed = _reference()
    assert module in listed, (
        f"docs/api/index.rst has no section for {module}: add one ('.. module:: {module}' "
        "and an autosummary of its __all__) in its layer.")
    missing = [n for n in names if n not in listed[module]]
    assert not missing, f"{module}.__all__ names missing from docs/api/index.rst: {missing}"
    stale = [n for n in listed[module] if n not in names]
    assert not stale, f"docs/api/index.rst lists names that {module}.__all__ lacks: {stale}"


def test_api_reference_sections_are_public_modules():
    assert set(_reference()) == set(PUBLIC_MODULES)
    # the one top-level name: skfin.load is skfin.persistence.load
    assert skfin.__all__ == ["load"] and skfin.load is importlib.import_module(
        "skfin.persistence").load


def _toctree_entries(path: Path) -> list[str]:
    text = path.read_text()
    blocks = re.findall(r"```\{toctree\}\n(.*?)```", text, flags=re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines()
            if line.strip() and not line.startswith(":")]


def test_every_page_is_in_the_index_toctrees():
    entries = _toctree_entries(DOCS / "index.md")
    pages = {p.relative_to(DOCS).with_suffix("").as_posix()
             for p in [*DOCS.glob("*.md"), *DOCS.glob("*.rst"), API]
             if p.name not in ("index.md", "sg_execution_times.rst")}
    assert sorted(entries) == sorted({*pages, "auto_examples/index"}), (
        "every page of docs/ must be listed once in a toctree of docs/index.md")


def test_readme_keeps_the_two_commands_and_links_the_site():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)```", readme, flags=re.DOTALL).group(1)
    assert first_block == "python3 tasks.py backtest\npython3 tasks.py test\n"
    for entry in ("docs/_build/html/index.html", "docs/_build/html/api/index.html",
                  "docs/_build/html/auto_examples/index.html",
                  "docs/_build/html/choosing_an_architecture.html", "CHANGELOG.md"):
        assert f"]({entry})" in readme, entry
    for guide in DOCS.glob("*.md"):
        if guide.name not in ("index.md", "changelog.md", "choosing_an_architecture.md"):
            assert f"](docs/{guide.name})" in readme, guide.name
    assert "python3 tasks.py docs" in readme


def test_every_example_is_in_the_gallery():
    scripts = sorted((ROOT / "examples").glob("*.py"))
    assert {p.stem for p in scripts} == set(skfin_docs.GALLERY_ARGS)
    assert (ROOT / "examples" / "GALLERY_HEADER.rst").exists()
    for script in scripts:
        # sphinx-gallery's title: the docstring's first line, underlined with "="
        first, second = script.read_text().splitlines()[:2]
        assert first.startswith('"""') and set(second) == {"="}, script.name
        assert len(second) >= len(first) - 3, f"{script.name}: underline shorter than title"


def test_choosing_an_architecture_lists_the_registry():
    from skfin.registry import ARCHITECTURES

    rows = {r["name"]: r for r in skfin_docs.architecture_rows()}
    assert set(rows) == {a.name for a in ARCHITECTURES}
    # by hand: nn.LSTM(1 -> 32) has 4 gates x 32 x (1 input + 32 recurrent + 2 biases),
    # the point head a Linear(32 -> 1 step x 1 target x 1 value)
    assert rows["lstm"]["n_params"] == 4 * 32 * (1 + 32 + 2) + 32 + 1
    assert rows["gru"]["n_params"] == 3 * 32 * (1 + 32 + 2) + 32 + 1
    assert rows["tft"]["covariates"] == "native" and rows["lstm"]["covariates"] != "native"
    assert rows["neural_cde"]["missing"] == "yes" and rows["lstm"]["missing"] == "--"
    text = "\n".join(skfin_docs.capability_table())
    assert all(f"``{name}``" in text for name in rows)


def test_walkforward_tables_show_every_result_file():
    text = "\n".join(skfin_docs.walkforward_table())
    files = sorted((ROOT / "benchmarks" / "results").glob("zoo_walkforward_*.json"))
    assert files
    for path in files:
        assert f"``benchmarks/results/{path.name}``" in text
        for model, scores in json.loads(path.read_text())["median_over_seeds"].items():
            assert f"{scores['mae']:.3f}" in text and model in text, (path.name, model)


@pytest.mark.parametrize("page, stated", [
    ("installation.md", []),
    # what the comments of its block state
    ("versioning.md", ["20", "'n_samples' was renamed 'n_draws' in skfin 0.2"]),
])
def test_project_pages_code_runs(page, stated, capsys):
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.DOTALL)
    assert len(blocks) == 1
    exec(compile(blocks[0], page, "exec"), {})  # noqa: S102 - the page's own example
    printed = capsys.readouterr().out.splitlines()
    for line, fragment in zip(printed, stated):
        assert fragment in line, (page, fragment, line)
    assert len(printed) >= len(stated)


@pytest.mark.slow
def test_site_builds_without_warnings(tmp_path):
    start = time.perf_counter()
    env = {**os.environ, "SKFIN_DOCS_QUICK": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    assert out.returncode == 0, f"sphinx-build -W failed:\n{out.stderr[-6000:]}"
    html = tmp_path / "html"
    for page in ("index.html", "api/index.html", "auto_examples/index.html",
                 "choosing_an_architecture.html", "changelog.html", "versioning.html",
                 "installation.html", "contributing.html"):
        assert (html / page).exists(), page
    for module, names in _reference().items():
        for name in names:
            assert (html / "api" / "generated" / f"{module}.{name}.html").exists(), name
    for script in (ROOT / "examples").glob("*.py"):
        assert (html / "auto_examples" / f"{script.stem}.html").exists(), script.name
    print(f"quick site build: {seconds:.0f} s")
