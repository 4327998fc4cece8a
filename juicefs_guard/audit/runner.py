"""Run every check on every installed filesystem, attack simulations in parallel, and keep the report."""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from juicefs_guard import paths, registry, requestlog
from juicefs_guard.audit import attacks, hostchecks, static
from juicefs_guard.audit.context import Context, build, juicefs_processes
from juicefs_guard.audit.model import Finding, Report
from juicefs_guard.audit.report import to_json
from juicefs_guard.errors import UserError
from juicefs_guard.helper import mount_table
from juicefs_guard.host.atomic import atomic_write, ensure_directory
from juicefs_guard.host.lock import registry_lock

CURSOR = paths.STATE_DIR / "audit-cursor"
WORKERS = 4


def _previous_cursor() -> tuple[dict[str, int] | None, str]:
    """Where the last audit stopped reading the request logs (byte offsets), and when it ran."""
    try:
        data = json.loads(CURSOR.read_text(encoding="utf-8"))
        return {str(k): int(v) for k, v in data["offsets"].items()}, str(data.get("time", ""))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, ""


def _checks_for(context: Context) -> list[Callable[[], Finding | list[Finding]]]:
    per_fs = [*static.ALL, *attacks.ALL, *hostchecks.PER_FS]
    return [lambda check=check: check(context) for check in per_fs]


def _safe(check: Callable[[], Finding | list[Finding]]) -> list[Finding]:
    result = check()
    return result if isinstance(result, list) else [result]


def run_audit(names: list[str] | None = None) -> Report:
    from juicefs_guard.install import require_root

    require_root("audit")
    started = datetime.datetime.now(datetime.UTC)
    clock = time.monotonic()
    report = Report(tool="juicefs-guard audit", started=started.isoformat(timespec="seconds"))
    with registry_lock():
        known = registry.names()
        for name in names or []:
            if name not in known:
                raise UserError(f"no filesystem named {name}; installed: {', '.join(known) or 'none'}")
        entries = [registry.require(name) for name in (names or known)]
        processes, table = juicefs_processes(), mount_table()
        contexts = [build(entry, processes, table) for entry in entries]
        jobs = [job for context in contexts for job in _checks_for(context)]
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            results = list(pool.map(_safe, jobs))
    report.findings += [check() for check in hostchecks.HOST_CHECKS]
    for findings in results:
        report.findings += findings
    offsets, since = _previous_cursor()
    new_offsets = requestlog.current_offsets()
    report.findings.append(hostchecks.refused_requests(offsets, since))
    report.duration_seconds = time.monotonic() - clock
    keep(report, started, new_offsets)
    return report


def keep(report: Report, started: datetime.datetime, offsets: dict[str, int]) -> None:
    """The last report (root 0600) for `list`/`status`, and the time from which the next audit reads the log."""
    ensure_directory(paths.STATE_DIR, mode=0o700)
    atomic_write(paths.LAST_REPORT, to_json(report), mode=0o600)
    cursor = {"time": started.isoformat(timespec="seconds"), "offsets": offsets}
    atomic_write(CURSOR, json.dumps(cursor) + "\n", mode=0o600)


def last_report() -> dict | None:
    try:
        return json.loads(paths.LAST_REPORT.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
