"""Errors the CLI turns into one line and an exit code instead of a traceback."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class GuardError(Exception):
    """A failure the administrator can fix; `str()` is the whole message, one line, with the fix."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split("\n")))


class UserError(GuardError):
    """Bad input: rejected before anything on the host changed."""


class OperationFailed(GuardError):
    """A step failed after validation (a service down, a compiler missing); what this run created is rolled back."""
