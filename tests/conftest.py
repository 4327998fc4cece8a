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


_created_by_suite: list = []


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.geteuid() == 0:
        from tests.support.host import missing_state_dirs

        _created_by_suite[:] = missing_state_dirs()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.geteuid() == 0:
        from tests.support.host import remove_state_dirs

        remove_state_dirs(_created_by_suite)
