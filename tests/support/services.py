"""Real services for the integration tests: redis-server with a password, a moto S3 server, both on loopback
ports picked free at run time, each stopped by its PID."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Every character the issue names as hostile, plus spaces: the wrapper and the helper must pass it verbatim.
HOSTILE_PASSWORD = "p@ss w'o\"rd $HOME \\x ;|&`id` end"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `timeout`; reaps the process when it is our child (a zombie still answers
    kill(pid, 0))."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def redis_conf_value(value: str) -> str:
    """Quote a value for redis.conf (double quotes with backslash escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Redis:
    port: int
    password: str
    pid: int
    directory: Path
    scheme: str = "redis"

    def url(self, db: int) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/{db}"

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        extra = (
            [
                "--tls",
                "--cacert",
                str(self.directory / "ca.crt"),
                "--cert",
                str(self.directory / "client.crt"),
                "--key",
                str(self.directory / "client.key"),
            ]
            if self.scheme == "rediss"
            else []
        )
        return subprocess.run(
            ["redis-cli", "-p", str(self.port), "--no-auth-warning", *extra, *args],
            env={"PATH": os.environ["PATH"], "REDISCLI_AUTH": self.password},
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )


@contextlib.contextmanager
def redis_server(password: str = HOSTILE_PASSWORD, tls: Path | None = None) -> Iterator[Redis]:
    """redis-server with requirepass (from a 0600 config file, never argv). With `tls` (a directory holding
    ca.crt, server.crt, server.key) it listens with TLS only and requires client certificates."""
    directory = Path(tempfile.mkdtemp(prefix="jfg-redis-"))
    os.chmod(directory, 0o700)
    port = free_port()
    lines = [
        "bind 127.0.0.1",
        "protected-mode yes",
        "daemonize no",  # our child: its pid is known at once, and it is reaped
        f"dir {directory}",
        'save ""',
        "appendonly no",
        f"requirepass {redis_conf_value(password)}",
    ]
    if tls:
        for name in ("ca.crt", "server.crt", "server.key", "client.crt", "client.key"):
            shutil.copy(tls / name, directory / name)
        lines += [
            "port 0",
            f"tls-port {port}",
            f"tls-cert-file {directory}/server.crt",
            f"tls-key-file {directory}/server.key",
            f"tls-ca-cert-file {directory}/ca.crt",
            "tls-auth-clients yes",
        ]
    else:
        lines.append(f"port {port}")
    conf = directory / "redis.conf"
    conf.write_text("\n".join(lines) + "\n")
    os.chmod(conf, 0o600)
    server = None
    try:
        with open(directory / "redis.log", "wb") as log:
            server = subprocess.Popen(
                ["redis-server", str(conf)], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
            )
        wait_for_port(port)
        scheme = "rediss" if tls else "redis"
        yield Redis(port=port, password=password, pid=server.pid, directory=directory, scheme=scheme)
    finally:
        if server is not None:
            stop_pid(server.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(timeout=5)  # a test may have reaped it already: then this only records that
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class S3:
    endpoint: str
    access_key: str
    secret_key: str
    pid: int

    def bucket_url(self, bucket: str) -> str:
        return f"{self.endpoint}/{bucket}"

    def create_bucket(self, bucket: str) -> None:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=bucket)


@contextlib.contextmanager
def moto_s3() -> Iterator[S3]:
    """A moto S3 server on loopback. Its keys are real in the sense that matters here: strings we must never
    see again anywhere the agent can read."""
    port = free_port()
    server = shutil.which("moto_server", path=os.path.dirname(sys.executable)) or shutil.which("moto_server")
    if server is None:
        raise RuntimeError("moto_server is not installed; pip install 'moto[server]'")
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [server, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log, start_new_session=True
    )
    try:
        wait_for_port(port, timeout=30)
        yield S3(
            f"http://127.0.0.1:{port}", "AKIAJFGTESTKEY0000001", "s3cr3t/Key+With=Chars 0123456789abcdef", process.pid
        )
    finally:
        stop_pid(process.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        log.close()
