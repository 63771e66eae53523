"""The test run's own guards: in CI every optional test dependency is installed, so no
test module of an optional feature can skip itself quietly."""

import importlib.metadata
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

# the repository's conftest.py (pytest has already imported tests/conftest.py as "conftest")
_spec = importlib.util.spec_from_file_location(
    "skfin_root_conftest", Path(__file__).resolve().parents[1] / "conftest.py")
root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(root)


def test_every_test_extra_is_installed_here():
    assert root.missing_test_requirements() == []


def test_a_missing_package_of_a_nested_extra_is_named(monkeypatch):
    """``test`` names ``skfin[...,distributed,...]``, which names ray: a missing ray is
    reported with the extra it belongs to."""
    real = importlib.metadata.version

    def version(name):
        if name in ("ray", "ta"):
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    assert root.missing_test_requirements() == ["ray (extra 'distributed')",
                                                "ta (extra 'test')"]
    assert root.missing_test_requirements("tune") == []      # optuna only


def test_the_guard_stops_the_run_only_when_required(monkeypatch):
    monkeypatch.setattr(root, "missing_test_requirements", lambda: ["ray (extra 'distributed')"])
    config = SimpleNamespace()
    monkeypatch.delenv(root.REQUIRE_TEST_EXTRAS, raising=False)
    root.pytest_configure(config)                              # a contributor's run: skips
    monkeypatch.setenv(root.REQUIRE_TEST_EXTRAS, "1")
    with pytest.raises(pytest.UsageError, match=r"ray \(extra 'distributed'\).*pip install"):
        root.pytest_configure(config)
    root.pytest_configure(SimpleNamespace(workerinput={}))    # xdist workers: controller's job
