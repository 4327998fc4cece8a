"""The README's first command, run for real on a fresh agent name: it ends with the agent writing a file
through the mount. Re-running it is harmless."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.support.host import as_user, delete_user, fuse_mounts, unique_name

REPO = Path(__file__).resolve().parents[2]
VENV = Path("/opt/juicefs-guard")
COMMAND = Path("/usr/local/bin/juicefs-guard")
DATA = Path("/var/lib/juicefs-guard/quickstart")


def quickstart(agent: str, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(REPO / "scripts/quickstart.sh"), "--agent", agent, "--name", name],
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )


def test_quickstart_gives_the_agent_a_working_mount() -> None:
    agent, name = unique_name(), unique_name("qs")
    existed = {path: path.exists() or path.is_symlink() for path in (VENV, COMMAND, DATA)}
    wrapper = f"/home/{agent}/juicefs-scripts/{name}"
    try:
        first = quickstart(agent, name)
        assert first.returncode == 0, first.stderr[-3000:]
        assert f"sudo -u {agent} {wrapper} mount" in first.stdout
        second = quickstart(agent, name)
        assert second.returncode == 0 and "nothing to do" in second.stdout
        mounted = subprocess.run(
            ["sudo", "-u", agent, wrapper, "mount"],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert mounted.returncode == 0, mounted.stderr
        mountpoint = f"/srv/juicefs-guard/{agent}/{name}"
        wrote = as_user(agent, ["sh", "-c", f"echo hello > {mountpoint}/hello.txt && cat {mountpoint}/hello.txt"])
        assert wrote.stdout == "hello\n", wrote.stderr
        assert as_user(agent, [wrapper, "umount"]).returncode == 0
        assert mountpoint not in fuse_mounts()
    finally:
        if COMMAND.exists():
            subprocess.run([str(COMMAND), "remove", name, "--yes", "--delete-user"], capture_output=True, timeout=120)
        delete_user(agent)
        for leftover in (DATA / f"{name}.db", DATA / "objects" / name):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        if not existed[DATA]:
            shutil.rmtree(DATA, ignore_errors=True)
        if not existed[COMMAND]:
            COMMAND.unlink(missing_ok=True)
        if not existed[VENV]:
            shutil.rmtree(VENV, ignore_errors=True)
        assert not os.path.exists(f"/etc/sudoers.d/juicefs-guard-{name}")
