"""The audit catalogue and docs/audit-checks.md list the same ids; every check is complete."""

from __future__ import annotations

import re
from pathlib import Path

from juicefs_guard.audit import attacks, hostchecks, static
from juicefs_guard.audit.catalogue import CHECKS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "audit-checks.md"


def test_at_least_fifteen_distinct_checks() -> None:
    assert len(CHECKS) >= 15
    assert all(re.fullmatch(r"JG-[1-4]\d\d", check_id) for check_id in CHECKS)


def test_docs_and_catalogue_in_step() -> None:
    documented = set(re.findall(r"\| (JG-\d{3}) \|", DOCS.read_text()))
    assert documented == set(CHECKS)


def test_every_check_explains_itself() -> None:
    for check in CHECKS.values():
        assert check.title and check.rationale and check.remediation, check.id


def test_every_catalogue_id_is_implemented() -> None:
    import inspect

    sources = "".join(inspect.getsource(module) for module in (static, attacks, hostchecks))
    for check_id in CHECKS:
        assert f'"{check_id}"' in sources, f"{check_id} has no implementation"
