"""The sudoers drop-in of a broker-mode filesystem: one exact rule per action and mountpoint, no wildcard,
checked with `visudo -cf` before it is installed, in a file whose name sudo really reads (no '.', no '~')."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from juicefs_guard import paths
from juicefs_guard.errors import OperationFailed
from juicefs_guard.host.atomic import atomic_write, remove_file
from juicefs_guard.host.run import run
from juicefs_guard.templating import render_template

ACTIONS = ("mount", "umount", "status")


def command_lines(helper: str, name: str, mountpoints: list[str]) -> list[str]:
    """`helper fs action` (default mountpoint) and `helper fs action MP` for each allowed mountpoint."""
    lines = []
    for action in ACTIONS:
        lines.append(f"{helper} {name} {action}")
        lines.extend(f"{helper} {name} {action} {mp}" for mp in mountpoints)
    return lines


def alias_for(name: str) -> str:
    return "JFG_" + name.upper().replace("-", "_")


def sudo_log_path(agent: str) -> str:
    return str(paths.LOG_DIR / f"sudo-{agent}.log")


def render(name: str, agent: str, helper: str, mountpoints: list[str]) -> str:
    return render_template(
        "sudoers.j2",
        name=name,
        agent=agent,
        helper=helper,
        alias=alias_for(name),
        commands=command_lines(helper, name, mountpoints),
        sudo_log=sudo_log_path(agent),
    )


def validate(text: str) -> None:
    """`visudo -cf` on a private copy: a broken drop-in would lock every sudo user out of sudo."""
    fd, path = tempfile.mkstemp(prefix="juicefs-guard-sudoers-")
    try:
        os.write(fd, text.encode("utf-8"))
        os.close(fd)
        os.chmod(path, 0o440)
        result = run(["visudo", "-cf", path])
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().replace(path, "<drop-in>")
            raise OperationFailed(f"visudo rejected the generated sudoers drop-in: {detail}")
    finally:
        remove_file(path)


def install(name: str, text: str) -> Path:
    validate(text)
    target = paths.sudoers_dropin(name)
    atomic_write(target, text, mode=0o440)
    return target


def remove(name: str) -> bool:
    return remove_file(paths.sudoers_dropin(name))
