"""`--secrets-command`: root fetches the secrets each time they are needed (age, SOPS, Vault...), so nothing
holding them is written to disk. The helper runs it (helper.run_secrets_command); this module validates it at
`init` and runs it once there for the format and reachability checks."""

from __future__ import annotations

import shlex

from juicefs_guard.errors import UserError
from juicefs_guard.helper import Failed, check_trusted_path, run_secrets_command
from juicefs_guard.secrets import Secret, Secrets


def parse_command(text: str) -> list[str]:
    if any(ord(ch) < 32 for ch in text):
        raise UserError("--secrets-command holds a control character or a line break; give one command line")
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise UserError(f"--secrets-command cannot be split into arguments ({exc}); check its quotes") from None
    if not argv:
        raise UserError("--secrets-command is empty; give a command such as '/usr/bin/age -d -i KEY FILE'")
    if not argv[0].startswith("/"):
        raise UserError(
            f"--secrets-command must start with an absolute path (root never searches PATH): e.g. /usr/bin/{argv[0]}"
        )
    return argv


def check_command(argv: list[str]) -> None:
    """The command and each file it names: owned by root, writable by no one else; key files readable by root only."""
    for part in argv:
        if not part.startswith("/"):
            continue
        try:
            check_trusted_path(part)
        except Failed as exc:
            if part == argv[0] or "does not exist" not in str(exc):
                raise UserError(f"--secrets-command: {exc}; root runs it for the agent, so fix the ownership") from None
            raise UserError(f"--secrets-command names {part}, which does not exist") from None
    import os

    for part in argv[1:]:
        if part.startswith("/") and part.endswith((".key", ".age", ".env", ".json", ".yaml")) and os.path.isfile(part):
            if os.stat(part).st_mode & 0o077 and part.endswith(".key"):
                raise UserError(f"--secrets-command: key file {part} is readable by others; chmod 600 {part}")


def fetch(argv: list[str]) -> Secrets:
    try:
        values = run_secrets_command(argv)
    except Failed as exc:
        raise UserError(f"--secrets-command: {exc}; run it by hand as root to see why") from None
    return {key: Secret(value) for key, value in values.items()}
