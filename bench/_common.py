"""Shared set-up for the benchmarks: self-contained broker-mode volumes (SQLite metadata, local storage, all
under a root-only temporary directory) for fresh agent users, removed at the end even on Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CLI = str(Path(sys.executable).with_name("juicefs-guard"))


def machine() -> str:
    return f"{os.cpu_count()} cores, Linux {platform.release()}, Python {platform.python_version()}"


def agent_run(user: str, argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    command = ["setpriv", "--reuid", user, "--regid", user, "--init-groups", "--reset-env", *argv]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"{argv} as {user} failed: {result.stderr.strip()}")
    return result


def mounted(point: str) -> bool:
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        return any(line.split()[4] == point for line in handle)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


@dataclass
class Volume:
    name: str
    agent: str
    meta_url: str
    wrapper: str
    mountpoint: str
    workdir: Path


class Volumes(list):
    """The benchmark's volumes; `add` installs more, all removed together when the `volumes` block ends."""

    def __init__(self, workdir: Path) -> None:
        super().__init__()
        self.workdir = workdir

    def add(self, count: int, progress: bool = True) -> None:
        for index in range(count):
            tag = secrets.token_hex(3)
            name, agent = f"bench{tag}", f"jfgb{tag}"
            (self.workdir / name).mkdir()
            meta_url = f"sqlite3://{self.workdir}/{name}.db"
            result = subprocess.run(
                [
                    CLI,
                    "init",
                    "--non-interactive",
                    "--name",
                    name,
                    "--agent",
                    agent,
                    "--mode",
                    "broker",
                    "--meta-url",
                    meta_url,
                    "--storage",
                    "file",
                    "--bucket",
                    f"{self.workdir}/{name}/",
                    "--format",
                ],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(f"init failed: {result.stderr.strip()}")
            self.append(
                Volume(
                    name,
                    agent,
                    meta_url,
                    f"/home/{agent}/juicefs-scripts/{name}",
                    f"/srv/juicefs-guard/{agent}/{name}",
                    self.workdir,
                )
            )
            if progress:
                print(f"\rinstalled {index + 1}/{count} filesystems", end="", file=sys.stderr, flush=True)
        if progress and count:
            print(file=sys.stderr)


@contextlib.contextmanager
def volumes(count: int = 1, progress: bool = True) -> Iterator[Volumes]:
    if os.geteuid() != 0:
        sys.exit("run the benchmark as root (it creates users and mounts)")
    workdir = Path(tempfile.mkdtemp(prefix="jfg-bench-"))
    os.chmod(workdir, 0o700)
    made = Volumes(workdir)
    try:
        made.add(count, progress)
        yield made
    finally:
        for volume in made:
            subprocess.run([CLI, "remove", volume.name, "--yes", "--delete-user"], capture_output=True, timeout=300)
        shutil.rmtree(workdir, ignore_errors=True)


def direct_mount_argv(
    volume: Volume, mountpoint: str, client: str = "/usr/local/lib/juicefs-guard/juicefs"
) -> list[str]:
    """The same client and options the broker uses, started by root itself."""
    return [
        client,
        "--no-agent",
        "mount",
        "--no-usage-report",
        "-o",
        "allow_other",
        "--cache-dir",
        f"{volume.workdir}/cache-direct",
        "--log",
        f"{volume.workdir}/direct.log",
        "--no-syslog",
        volume.meta_url,
        mountpoint,
    ]


def start_direct(volume: Volume, mountpoint: str, timeout: float = 60) -> subprocess.Popen:
    process = subprocess.Popen(
        direct_mount_argv(volume, mountpoint),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while not mounted(mountpoint):
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("direct mount did not become ready")
        time.sleep(0.002)
    return process


def stop_direct(mountpoint: str, process: subprocess.Popen) -> None:
    subprocess.run(
        ["/usr/local/lib/juicefs-guard/juicefs", "--no-agent", "--quiet", "umount", mountpoint],
        capture_output=True,
        timeout=60,
    )
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    if process.poll() is None:
        process.kill()
