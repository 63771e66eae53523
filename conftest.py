"""Root pytest configuration, shared by tests/ and the doctests in skfin/."""

import torch

# pytest-xdist runs one worker per core; more torch threads per worker would only
# oversubscribe the cores.
torch.set_num_threads(1)

#: Set by ``python3 tasks.py test`` (so in CI): every package of the ``test`` extra must be
#: installed. A test module of an optional feature skips itself when its package is missing
#: (``pytest.importorskip``), which is right on a contributor's partial install and wrong
#: in CI, where a failed install would otherwise pass as dozens of quiet skips.
REQUIRE_TEST_EXTRAS = "SKFIN_REQUIRE_TEST_EXTRAS"


def missing_test_requirements(extra: str = "test") -> list[str]:
    """Requirements of skfin's ``extra`` (with the extras it names) that are not installed."""
    from importlib.metadata import PackageNotFoundError, requires, version

    from packaging.requirements import Requirement

    declared = [Requirement(r) for r in requires("skfin") or []]
    extras, seen, missing = [extra], set(), []
    while extras:
        name = extras.pop()
        if name in seen:
            continue
        seen.add(name)
        for req in declared:
            if req.marker is None or not req.marker.evaluate({"extra": name}):
                continue
            if req.name == "skfin":                   # skfin[data,plotting,...]
                extras += sorted(req.extras)
                continue
            try:
                version(req.name)
            except PackageNotFoundError:
                missing.append(f"{req.name} (extra '{name}')")
    return sorted(set(missing))


def pytest_configure(config):
    import os

    import pytest

    if os.environ.get(REQUIRE_TEST_EXTRAS) != "1" or hasattr(config, "workerinput"):
        return
    missing = missing_test_requirements()
    if missing:
        raise pytest.UsageError(
            f"{REQUIRE_TEST_EXTRAS}=1 but these test requirements are not installed: "
            f"{', '.join(missing)}. Install them with `pip install -e .[test]` (python3 "
            f"tasks.py test does), or unset {REQUIRE_TEST_EXTRAS} to let their tests skip."
        )
