"""Shared set-up for the benchmarks: self-contained broker-mode volumes (SQLite metadata, or a password-protected
redis-server on loopback started here, and local storage, all under a root-only temporary directory) for fresh
agent users, removed at the end even on Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the test suite's helpers: one privilege drop, one init builder, one clean-up

from juicefs_guard import paths  # noqa: E402
from juicefs_guard.helper import client_environment, mount_table  # noqa: E402
from tests.support.host import (  # noqa: E402
    CLI,
    as_user,
    as_user_argv,
    daemon_pids,
    file_storage,
    force_remove,
    init_args,
    juicefs_mount_pids,
    missing_state_dirs,
    remove_state_dirs,
    write_secrets,
)

CLIENT = str(paths.MANAGED_JUICEFS)


def machine() -> str:
    return f"{os.cpu_count()} cores, Linux {platform.release()}, Python {platform.python_version()}"


def agent_run(user: str, argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = as_user(user, argv, timeout=600)
    if check and result.returncode != 0:
        raise RuntimeError(f"{argv} as {user} failed: {result.stderr.strip()}")
    return result


# Runs as the agent, like the agent's shell: reads one JSON argv per line, runs it, answers with the wall time.
_AGENT_SHELL = """
import json, subprocess, sys, time
for line in sys.stdin:
    argv = json.loads(line)
    start = time.perf_counter()
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    took = time.perf_counter() - start
    print(json.dumps([took, done.returncode, done.stderr[-500:]]), flush=True)
"""


class AgentShell:
    """A process of the agent's, started through one privilege drop, that times the commands it is given from the
    inside: the agent pays a fork and an exec for its wrapper, not the benchmark's `setpriv` as well."""

    def __init__(self, user: str) -> None:
        self.user = user
        self.process = subprocess.Popen(
            as_user_argv(user, ["/usr/bin/python3", "-I", "-S", "-c", _AGENT_SHELL]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd="/",
        )

    def timed(self, argv: list[str], check: bool = True) -> float:
        """Seconds the agent waited for argv to finish."""
        self.process.stdin.write(json.dumps(argv) + "\n")
        self.process.stdin.flush()
        took, code, stderr = json.loads(self.process.stdout.readline())
        if check and code != 0:
            raise RuntimeError(f"{argv} as {self.user} failed with exit {code}: {stderr.strip()}")
        return took

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)

    def __enter__(self) -> AgentShell:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def mounted(point: str) -> bool:
    return point in mount_table()


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
    secrets: dict[str, str]


class Volumes(list):
    """The benchmark's volumes; `add` installs more, all removed together when the `volumes` block ends."""

    def __init__(self, workdir: Path, redis=None) -> None:
        super().__init__()
        self.workdir = workdir
        self.redis = redis

    def _meta(self, name: str) -> tuple[str, dict[str, str]]:
        if self.redis is None:
            return f"sqlite3://{self.workdir}/{name}.db", {}
        database = len(self) + 1
        if database > 15:
            raise RuntimeError("a Redis benchmark uses one database per volume: at most 15")
        return f"redis://127.0.0.1:{self.redis.port}/{database}", {"META_PASSWORD": self.redis.password}

    def add(self, count: int, progress: bool = True) -> None:
        for index in range(count):
            tag = secrets.token_hex(3)
            name, agent = f"bench{tag}", f"jfgb{tag}"
            (self.workdir / name).mkdir()
            meta_url, values = self._meta(name)
            argv = [CLI, *init_args(name, agent, meta_url, *file_storage(self.workdir / name), mode="broker")]
            if values:
                argv += ["--secrets-file", str(write_secrets(self.workdir, **values))]
            result = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
            if result.returncode != 0:
                raise RuntimeError(f"init failed: {result.stderr.strip()}")
            self.append(
                Volume(
                    name,
                    agent,
                    meta_url,
                    f"/home/{agent}/juicefs-scripts/{name}",
                    str(paths.default_mountpoint(agent, name)),
                    self.workdir,
                    values,
                )
            )
            if progress:
                print(f"\rinstalled {index + 1}/{count} filesystems", end="", file=sys.stderr, flush=True)
        if progress and count:
            print(file=sys.stderr)


@contextlib.contextmanager
def volumes(count: int = 1, progress: bool = True, meta: str = "sqlite") -> Iterator[Volumes]:
    if os.geteuid() != 0:
        sys.exit("run the benchmark as root (it creates users and mounts)")
    created = missing_state_dirs()
    workdir = Path(tempfile.mkdtemp(prefix="jfg-bench-"))
    os.chmod(workdir, 0o700)
    with contextlib.ExitStack() as stack:
        stack.callback(remove_state_dirs, created)
        redis = None
        if meta == "redis":
            from tests.support.services import redis_server

            redis = stack.enter_context(redis_server())
        made = Volumes(workdir, redis)
        try:
            made.add(count, progress)
            yield made
        finally:
            for volume in made:
                force_remove(volume.name, volume.agent)
            shutil.rmtree(workdir, ignore_errors=True)


def direct_cache_dir(volume: Volume) -> str:
    return f"{volume.workdir}/cache-direct"


def direct_mount_argv(volume: Volume, mountpoint: str) -> list[str]:
    """The same client and options the broker uses, started by root itself."""
    return [
        CLIENT,
        "--no-agent",
        "mount",
        "--no-usage-report",
        "-o",
        "allow_other",
        "--cache-dir",
        direct_cache_dir(volume),
        "--log",
        f"{volume.workdir}/direct.log",
        "--no-syslog",
        volume.meta_url,
        mountpoint,
    ]


def start_direct(volume: Volume, mountpoint: str, timeout: float = 60) -> None:
    """Root's own mount, as the issue defines the baseline: the foreground client put in the background of a
    shell, with the environment the helper gives it, timed until the kernel shows the mount (polled every 2 ms)."""
    subprocess.run(
        ["bash", "-c", '"$@" </dev/null >/dev/null 2>&1 &', "bash", *direct_mount_argv(volume, mountpoint)],
        env=client_environment(volume.secrets),
        check=True,
        timeout=30,
    )
    deadline = time.monotonic() + timeout
    while not mounted(mountpoint):
        if time.monotonic() > deadline:
            raise RuntimeError("direct mount did not become ready")
        time.sleep(0.002)


def direct_pids(volume: Volume) -> list[int]:
    """The direct mount's client processes, known by their cache directory (the mountpoint, at the end of the
    command line, does not survive JuiceFS rewriting it)."""
    return juicefs_mount_pids(f"--cache-dir {direct_cache_dir(volume)} ")


def guarded_pids(volume: Volume) -> list[int]:
    return daemon_pids(volume.mountpoint, volume.name, volume.agent)


def wait_for_exit(pids: Callable[[], list[int]], timeout: float = 30) -> list[int]:
    """After an unmount the client takes a moment to exit; the next measurement must not share the CPU with it.
    Returns the processes still there after `timeout`."""
    deadline = time.monotonic() + timeout
    while (left := pids()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return left


def stop_direct(volume: Volume, mountpoint: str) -> None:
    """Unmount and wait for the client to exit; a mount that stays would make the next "ready" instant and the
    figures meaningless, so it is an error."""
    for _ in range(50):
        result = subprocess.run(
            [CLIENT, "--no-agent", "--quiet", "umount", mountpoint], capture_output=True, text=True, timeout=60
        )
        if not mounted(mountpoint):
            break
        time.sleep(0.1)
    else:
        subprocess.run(["umount", "-l", mountpoint], capture_output=True, timeout=60)
        raise RuntimeError(f"direct mount did not unmount: {result.stderr.strip()}")
    for pid in wait_for_exit(lambda: direct_pids(volume)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
