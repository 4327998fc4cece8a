"""Shared pytest configuration. Integration tests need root and real services; when they cannot run they are
skipped with the reason, and with JFG_REQUIRE_INTEGRATION=1 (set by scripts/test.sh) a skip is a failure."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("JFG_REQUIRE_INTEGRATION") == "1" and report.skipped and "integration" in item.keywords:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"integration test skipped but JFG_REQUIRE_INTEGRATION=1: {reason}"


# juicefs-guard keeps its state and log directories when the last filesystem is removed (logs are an audit
# trail; the directories are cheap). The suite leaves the host as it found it: what it created, it deletes.
_STATE_DIRS = ("/var/log/juicefs-guard", "/var/lib/juicefs-guard", "/var/cache/juicefs-guard", "/etc/juicefs-guard")
_created_by_suite: list[str] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    _created_by_suite[:] = [d for d in _STATE_DIRS if not os.path.exists(d)]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import shutil

    if (
        os.geteuid() != 0
        or os.path.exists("/etc/juicefs-guard/filesystems")
        and os.listdir("/etc/juicefs-guard/filesystems")
    ):
        return  # something is still installed (a developer's volume): leave everything alone
    for directory in _created_by_suite:
        shutil.rmtree(directory, ignore_errors=True)
