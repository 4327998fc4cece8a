"""`juicefs-guard audit`: attack every installed filesystem as its agent would, and report."""

from __future__ import annotations

from pathlib import Path

import typer

from juicefs_guard import cron
from juicefs_guard.audit.catalogue import CHECKS
from juicefs_guard.audit.report import to_json, to_junit, to_sarif, to_table
from juicefs_guard.audit.runner import run_audit
from juicefs_guard.errors import UserError
from juicefs_guard.host.atomic import atomic_write
from juicefs_guard.install import require_root

HELP = """Check every guarded filesystem, statically as root and by attacking it as its agent (root only).

Static checks: wrapper owner/mode/hash, plaintext leftovers, agent-readable copies of a secret, credentials and
registry modes, the agent's effective sudo rights, dangerous groups, what root executes for the agent, an
unauthenticated metadata engine. Attacks, run as the agent through a real privilege drop: strings and strace of
its wrapper, /proc/<pid>/environ, cmdline and mem of every juicefs process, ptrace, the mount's .config,
juicefs logs and cache. Host checks: ptrace_scope, hidepid, suid_dumpable, /dev/fuse, refused requests.

Exit 0 when nothing fails, 1 when a check fails, 2 when the audit could not run. No output ever holds a secret.
The last report is kept in /var/lib/juicefs-guard/last-audit.json. Check ids: docs/audit-checks.md.
"""


def audit_command(
    name: list[str] = typer.Option([], "--name", help="Audit only this filesystem (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="JSON report on stdout."),
    sarif: bool = typer.Option(False, "--sarif", help="SARIF 2.1.0 report on stdout."),
    junit: str | None = typer.Option(None, "--junit", metavar="FILE", help="Also write a JUnit XML report."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing unless a check fails (for cron)."),
    install_cron: bool = typer.Option(False, "--install-cron", help="Write /etc/cron.d/juicefs-guard and exit."),
    schedule: str = typer.Option(cron.DEFAULT_SCHEDULE, "--schedule", metavar="CRON", help="For --install-cron."),
    remove_cron: bool = typer.Option(False, "--remove-cron", help="Remove /etc/cron.d/juicefs-guard and exit."),
) -> None:
    require_root("audit")
    if as_json and sarif:
        raise UserError("give either --json or --sarif, not both")
    if install_cron and remove_cron:
        raise UserError("give either --install-cron or --remove-cron, not both")
    if install_cron:
        cron.install(schedule)
        typer.echo(
            f"installed {cron.paths.CRON_FILE}: `{cron.validate_schedule(schedule)}` juicefs-guard audit --quiet"
        )
        return
    if remove_cron:
        typer.echo(f"removed {cron.paths.CRON_FILE}" if cron.remove() else "no cron file to remove")
        return
    report = run_audit(list(name) or None)
    if junit:
        atomic_write(Path(junit), to_junit(report), mode=0o600)
    if as_json:
        typer.echo(to_json(report))
    elif sarif:
        typer.echo(to_sarif(report, CHECKS.values()))
    elif not (quiet and not report.failed):
        typer.echo(to_table(report, only_problems=quiet), nl=False)
    raise typer.Exit(report.exit_code())


def register(app: typer.Typer) -> None:
    app.command("audit", help=HELP)(audit_command)
