"""`audit --install-cron`: one line in /etc/cron.d that runs the audit quietly (cron mails only problems)."""

from __future__ import annotations

import re
import shutil

from juicefs_guard import paths
from juicefs_guard.errors import UserError
from juicefs_guard.host.atomic import atomic_write, remove_file

DEFAULT_SCHEDULE = "17 3 * * *"
_FIELD = re.compile(r"^[0-9*/,\-A-Za-z]+$")


def validate_schedule(schedule: str) -> str:
    fields = schedule.split()
    if schedule.startswith("@") and schedule in ("@hourly", "@daily", "@weekly", "@monthly", "@reboot"):
        return schedule
    if len(fields) != 5 or not all(_FIELD.match(field) for field in fields):
        raise UserError(f"--schedule {schedule!r} is not 5 cron fields (e.g. '17 3 * * *') or @daily/@hourly")
    return " ".join(fields)


def command_path() -> str:
    return shutil.which("juicefs-guard") or "/usr/local/bin/juicefs-guard"


def render(schedule: str, command: str) -> str:
    return (
        "# juicefs-guard: nightly audit of every guarded filesystem. Written by `juicefs-guard audit --install-cron`;\n"
        "# removed by `--remove-cron`. Output (and so mail) only when a check fails.\n"
        "SHELL=/bin/sh\n"
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        f"{schedule} root {command} audit --quiet\n"
    )


def install(schedule: str = DEFAULT_SCHEDULE) -> str:
    text = render(validate_schedule(schedule), command_path())
    atomic_write(paths.CRON_FILE, text, mode=0o644)
    return text


def remove() -> bool:
    existed = paths.CRON_FILE.exists()
    remove_file(paths.CRON_FILE)
    return existed
