"""The one way juicefs-guard runs a program: argv lists only (no shell), an explicit environment, and, for
anything done on the agent's behalf or as the agent, a real privilege drop with `setpriv`."""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Mapping, Sequence

SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def base_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A fixed environment: the caller's variables never leak into what root runs."""
    env = {"PATH": SAFE_PATH, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": "/root"}
    if extra:
        env.update(extra)
    return env


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    timeout: float | None = 120,
    cwd: str = "/",
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """A program that hangs becomes one clear error (OperationFailed), not a traceback."""
    from juicefs_guard.errors import OperationFailed

    try:
        return subprocess.run(
            list(argv),
            env=base_environment(env),
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            check=check,
        )
    except subprocess.TimeoutExpired:
        raise OperationFailed(f"{os.path.basename(argv[0])} did not finish within {timeout:.0f}s") from None
    except FileNotFoundError:
        raise OperationFailed(f"{argv[0]} is not installed or not executable") from None


def as_user_argv(user: str, argv: Sequence[str]) -> list[str]:
    """Prefix argv so it runs as `user` with that user's groups, no new privileges, and the user's HOME."""
    entry = pwd.getpwnam(user)
    return [
        "setpriv",
        f"--reuid={entry.pw_uid}",
        f"--regid={entry.pw_gid}",
        "--init-groups",
        "--reset-env",
        "--",
        *argv,
    ]


def run_as(
    user: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    timeout: float | None = 60,
    cwd: str = "/",
) -> subprocess.CompletedProcess[str]:
    """Run argv as `user` (a real privilege drop). `--reset-env` gives the user's own minimal environment;
    `env` entries are added with `env` after the drop so no root variable crosses over."""
    extra = [f"{key}={value}" for key, value in (env or {}).items()]
    command = as_user_argv(user, ["env", *extra, *argv] if extra else list(argv))
    return subprocess.run(
        command,
        env={"PATH": SAFE_PATH},
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )


def is_root() -> bool:
    return os.geteuid() == 0
