"""`k8s audit`: static checks of any manifest set, reported like the host audit (exit 0 / 1 / 2)."""

from __future__ import annotations

import datetime
import time

from juicefs_guard.audit.model import Report
from juicefs_guard.k8s.checks import run_checks
from juicefs_guard.k8s.manifest import load_documents, workloads


def audit_files(paths: list[str]) -> Report:
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    clock = time.monotonic()
    documents = load_documents(paths)
    report = Report(tool="juicefs-guard k8s audit", started=started)
    if not list(workloads(documents)):
        report.errors.append(f"no workload (Pod, Deployment, StatefulSet, DaemonSet, Job...) in {', '.join(paths)}")
    report.findings = run_checks(documents)
    report.duration_seconds = time.monotonic() - clock
    return report
