#!/usr/bin/env python3
"""Set up a private virtual environment and run skfin's main job, its tests or its docs.

    python3 tasks.py backtest [ARGS...]   # skfin backtest: walk-forward on bundled S&P 500 data
    python3 tasks.py test [PYTEST ARGS...]
    python3 tasks.py mutate [--max-children N] [MODULE...]   # mutation testing (mutmut)
    python3 tasks.py docs [SPHINX ARGS...]   # the documentation site, into docs/_build/html

Needs only a Python >= 3.10 on the PATH. The first call creates ``.venv`` (or
``$SKFIN_VENV``), installs the pinned CPU build of torch first (so no multi-GB CUDA build is
pulled in as a dependency), then skfin with its test extras. Later calls reuse the
environment until ``pyproject.toml`` changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("SKFIN_VENV", ROOT / ".venv"))
TORCH_PIN = "torch==2.13.0"
EXTRAS = "test"


def _python() -> Path:
    sub = "Scripts/python.exe" if os.name == "nt" else "bin/python"
    return VENV / sub


def _run(*cmd: object) -> None:
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT)


def ensure_env() -> Path:
    """Create the venv and install skfin[test] unless an up-to-date install is there."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".skfin-{EXTRAS}-{digest}"
    if stamp.exists():
        return _python()
    if not _python().exists():
        _run(sys.executable, "-m", "venv", VENV)
    pip = (_python(), "-m", "pip", "install", "--disable-pip-version-check", "-q")
    _run(*pip, TORCH_PIN)
    _run(*pip, "-e", f".[{EXTRAS}]")
    for old in VENV.glob(".skfin-*"):
        old.unlink()
    stamp.touch()
    return _python()


#: The numerical core under mutation testing, each with the fast tests that cover it: what
#: ``tasks.py mutate`` runs against every mutant of that module.
MUTATION_TARGETS = {
    "skfin/metrics/_probabilistic.py": ["tests/test_metrics.py",
                                        "tests/test_metrics_input_checks.py"],
    "skfin/metrics/_finance.py": ["tests/test_metrics.py",
                                  "tests/test_metrics_finance_mutants.py"],
    "skfin/metrics/_validation.py": ["tests/test_metrics.py",
                                     "tests/test_metrics_validation_mutants.py"],
    "skfin/metrics/_scorers.py": ["tests/test_metrics.py",
                                  "tests/test_metrics_scorers_mutants.py"],
    "skfin/metrics/_sktime.py": ["tests/test_metrics.py",
                                 "tests/test_metrics_sktime_mutants.py"],
    "skfin/metrics/_significance.py": ["tests/test_significance.py",
                                       "tests/test_significance_mutants.py"],
    "skfin/uncertainty/conformal.py": ["tests/uncertainty/test_conformal.py",
                                       "tests/uncertainty/test_conformal_mutants.py"],
    "skfin/engine/data.py": ["tests/engine/test_data.py", "tests/engine/test_data_mutants.py"],
    "skfin/model_selection/_split.py": ["tests/model_selection/test_purged_split.py",
                                        "tests/model_selection/test_sktime_splitter.py",
                                        "tests/model_selection/test_split_mutants.py"],
    "skfin/transformations/indicators.py": ["tests/transformations/test_indicators.py",
                                            "tests/transformations/test_indicators_mutants.py",
                                            "tests/transformations/test_causality.py"],
    "skfin/transformations/ratio.py": ["tests/transformations/test_ratio.py",
                                       "tests/transformations/test_ratio_mutants.py"],
    "skfin/nets/heads.py": ["tests/nets/test_contract.py", "tests/nets/test_attention_nets.py",
                            "tests/nets/test_heads_mutants.py"],
    "skfin/losses.py": ["tests/test_losses.py", "tests/engine/test_data.py"],
    "skfin/engine/schedules.py": [
        "tests/engine/test_schedules.py",
        "tests/engine/test_training.py::test_lr_schedules_set_the_documented_learning_rate",
        "tests/engine/test_training.py::test_lr_schedules_follow_the_formula_on_the_forecaster_face",
    ],
}
#: Tests left out of every mutant's run: the estimator-check suites (minutes each) test
#: the API contract, not the numbers a mutant changes.
MUTATION_DESELECT = "not conformance and not check_estimator"
#: Thread pools of torch (OpenMP), OpenBLAS and MKL: ``tasks.py test`` sets each to one
#: thread unless the variable is already set (pytest-xdist runs one worker per core).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
MUTATION_DIR = ROOT / "build" / "mutation"           # build/ is ignored by git
EQUIVALENTS = ROOT / "tests" / "mutation_equivalents.md"


def _mutation_modules(names: list[str]) -> list[str]:
    """Targets matching ``names`` (paths, dotted modules or prefixes such as ``skfin/metrics``)."""
    if not names:
        return list(MUTATION_TARGETS)
    chosen = []
    for name in names:
        key = name.replace(".", "/").removesuffix("/py")
        hits = [m for m in MUTATION_TARGETS if m.removesuffix(".py").startswith(key)]
        if not hits:
            raise SystemExit(f"mutate: {name!r} is not under mutation testing; choose from "
                             f"{', '.join(MUTATION_TARGETS)} (or a prefix of them).")
        chosen += [m for m in hits if m not in chosen]
    return chosen


def _equivalent_mutants() -> set[str]:
    """Mutant names listed in tests/mutation_equivalents.md (``- `name`: reason`` lines)."""
    if not EQUIVALENTS.exists():
        return set()
    return set(re.findall(r"^\s*[-*]\s*`([\w.]+__mutmut_\d+)`", EQUIVALENTS.read_text(),
                          flags=re.MULTILINE))


def mutate(python: Path, argv: list[str]) -> int:
    """Run mutmut over the chosen modules against their fast tests; print score and survivors.

    Works on a copy of ``skfin/`` and ``tests/`` in ``build/mutation`` (mutmut writes its
    mutants next to the code it runs), so the working tree is never modified. Not part of
    ``tasks.py test`` or CI: a full run takes hours; one module with its tests, minutes.
    """
    max_children = "2"
    if argv[:1] == ["--max-children"]:
        max_children, argv = argv[1], argv[2:]
    modules = _mutation_modules(argv)
    tests = sorted({t for m in modules for t in MUTATION_TARGETS[m]})
    if subprocess.run([str(python), "-c", "import mutmut"], capture_output=True).returncode:
        _run(python, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e",
             ".[dev]")
    if MUTATION_DIR.exists():
        shutil.rmtree(MUTATION_DIR)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", "mutants")
    shutil.copytree(ROOT / "skfin", MUTATION_DIR / "skfin", ignore=ignore)
    shutil.copytree(ROOT / "tests", MUTATION_DIR / "tests", ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", MUTATION_DIR / "pyproject.toml")
    def lines(items: list[str]) -> str:
        return "".join(f"\n    {item}" for item in items)

    pytest_args = ["-p", "no:cacheprovider", "-m", "not slow", "-k", MUTATION_DESELECT]
    (MUTATION_DIR / "setup.cfg").write_text(
        "[mutmut]\nsource_paths = skfin\n"
        f"only_mutate ={lines(modules)}\n"
        f"pytest_add_cli_args_test_selection ={lines(tests)}\n"
        f"pytest_add_cli_args ={lines(pytest_args)}\n"
        # torch is not fork-safe after a test run: fork each mutant from a clean server
        "process_isolation = forkserver\nuse_git_change_detection = false\n"
    )
    print(f"+ mutmut over {', '.join(modules)}\n  against {', '.join(tests)}", flush=True)
    mutmut = [str(python), "-m", "mutmut"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([*mutmut, "run", "--max-children", max_children], cwd=MUTATION_DIR,
                   env=env)
    return _mutation_report(mutmut, env)


def _mutation_report(mutmut: list[str], env: dict) -> int:
    """Print mutmut's score in ``MUTATION_DIR`` and each surviving mutant's diff."""
    subprocess.run([*mutmut, "export-cicd-stats"], cwd=MUTATION_DIR, env=env,
                   capture_output=True)
    stats_file = MUTATION_DIR / "mutants" / "mutmut-cicd-stats.json"
    if not stats_file.exists():
        print("mutate: mutmut produced no results (see its output above).", file=sys.stderr)
        return 1
    stats = json.loads(stats_file.read_text())
    listing = subprocess.run([*mutmut, "results"], cwd=MUTATION_DIR, env=env,
                             capture_output=True, text=True).stdout
    survivors = re.findall(r"^\s*(\S+): (survived|no tests|timeout|suspicious)", listing,
                           flags=re.MULTILINE)
    equivalent = _equivalent_mutants()
    alive = [(name, status) for name, status in survivors if name not in equivalent]
    for name, status in alive:
        print(subprocess.run([*mutmut, "show", name], cwd=MUTATION_DIR, env=env,
                             capture_output=True, text=True).stdout.rstrip())
    judged = len(survivors) - len(alive)
    total = stats["total"] - stats.get("skipped", 0)
    killed = stats["killed"]
    seen = sum(stats.get(k, 0) for k in ("killed", "survived", "no_tests", "timeout",
                                         "suspicious", "segfault", "skipped"))
    if seen < stats["total"]:
        print(f"\nmutate: {stats['total'] - seen} mutants were not checked (the run was "
              "interrupted); they count as not killed below.")
    print(f"\nmutation score: {killed}/{total} killed ({100 * killed / max(total, 1):.1f}%); "
          f"{len(alive)} surviving, {judged} judged equivalent in {EQUIVALENTS.name}; "
          f"score without the equivalents {killed}/{total - judged} "
          f"({100 * killed / max(total - judged, 1):.1f}%)")
    for name, status in alive:
        print(f"  {status}: {name}")
    return 0


DOCS_OUT = ROOT / "docs" / "_build"                   # docs/_build/ is ignored by git


def docs(python: Path, argv: list[str]) -> int:
    """Build the documentation site into ``docs/_build/html`` with warnings as errors.

    Every gallery example in ``examples/`` runs (small settings, a few minutes on 2 CPU
    cores); ``SKFIN_DOCS_QUICK=1`` skips them, as ``tests/test_docs_site.py`` does.
    Extra arguments go to ``sphinx-build`` (``-E`` rebuilds every page).
    """
    cmd = [python, "-m", "sphinx", "-b", "html", "-W", "--keep-going",
           "-d", DOCS_OUT / "doctrees", *argv, ROOT / "docs", DOCS_OUT / "html"]
    print("+", " ".join(map(str, cmd)), flush=True)
    code = subprocess.run([str(c) for c in cmd], cwd=ROOT, check=False).returncode
    if code == 0:
        print(f"open {DOCS_OUT / 'html' / 'index.html'}")
    return code


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"backtest", "test", "mutate", "docs"}:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    python = ensure_env()
    task, rest = argv[0], argv[1:]
    if task == "mutate":
        return mutate(python, rest)
    if task == "docs":
        return docs(python, rest)
    if task == "test":
        # --durations: the slowest tests are listed on every run, to keep the suite short
        cmd = [python, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "--durations=25",
               *rest]
        # one thread per worker: two workers whose BLAS and torch thread pools each want
        # every core spin against each other (a small scipy fit ran 30x slower)
        env = {**{name: "1" for name in THREAD_VARIABLES}, **os.environ}
        # every optional test dependency must be there: a failed install fails the run
        # instead of skipping the tests that need it (see conftest.py)
        env.setdefault("SKFIN_REQUIRE_TEST_EXTRAS", "1")
    else:
        cmd = [python, "-m", "skfin", "backtest", *rest]
        env = None
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
