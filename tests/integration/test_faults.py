"""Fault injection: the metadata engine dies during init, shc fails, init is killed between steps. Each time
the host is left as it was, and the same init run again succeeds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.host import (
    CLI,
    cli,
    file_storage,
    force_remove,
    host_snapshot,
    init_args,
    unique_name,
    write_secrets,
)
from tests.support.services import redis_server


def _args(name: str, agent: str, url: str, secrets: Path, bucket: Path) -> list[str]:
    return init_args(name, agent, url, "--secrets-file", str(secrets), *file_storage(bucket), mode="broker")


def _popen(args: list[str]) -> subprocess.Popen:
    env = {"PATH": os.environ["PATH"], "PYTHONUNBUFFERED": "1", "LANG": "C.UTF-8"}
    return subprocess.Popen(
        [CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, stdin=subprocess.DEVNULL
    )


def _wait_for_line(process: subprocess.Popen, needle: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if needle in line:
            return
        if not line and process.poll() is not None:
            raise AssertionError(f"init ended before {needle!r}: {process.stderr.read()}")
    raise AssertionError(f"no {needle!r} within {timeout}s")


@pytest.fixture
def names():
    name, agent = unique_name("fs"), unique_name()
    yield name, agent
    force_remove(name, agent)


def test_metadata_engine_stopped_during_init(names, secrets_dir, tmp_path) -> None:
    name, agent = names
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    before = host_snapshot()
    with redis_server(password="fault pass") as own:
        secrets = write_secrets(secrets_dir, META_PASSWORD=own.password)
        process = _popen(_args(name, agent, own.url(1), secrets, bucket))
        _wait_for_line(process, "formatting volume")
        os.kill(own.pid, signal.SIGKILL)  # at once: juicefs is still starting and has not formatted yet
        _out, err = process.communicate(timeout=180)
        assert process.returncode == 2, err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert host_snapshot() == before
    with redis_server(password="fault pass") as again:
        secrets = write_secrets(secrets_dir, META_PASSWORD=again.password)
        result = cli(*_args(name, agent, again.url(1), secrets, bucket))
        assert result.returncode == 0, result.stderr


def test_killed_between_steps_rolls_back(names, redis, secrets_dir, tmp_path) -> None:
    name, agent = names
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    secrets = write_secrets(secrets_dir, META_PASSWORD=redis.password)
    before = host_snapshot()
    process = _popen(_args(name, agent, redis.url(11), secrets, bucket))
    _wait_for_line(process, "creating agent user")
    time.sleep(0.3)  # inside the transaction: the user exists, files are being written
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=120)
    assert process.returncode != 0
    assert "Traceback" not in err
    assert host_snapshot() == before, "a killed init must undo what it did"
    result = cli(*_args(name, agent, redis.url(11), secrets, bucket))
    assert result.returncode == 0, result.stderr


def test_failing_shc_rolls_back(names, redis, secrets_dir, tmp_path) -> None:
    name, agent = names
    shc = shutil.which("shc")
    fake = tmp_path / "fake-shc"
    fake.write_text("#!/bin/sh\necho 'shc: simulated failure' >&2\nexit 1\n")
    fake.chmod(0o755)
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    secrets = write_secrets(secrets_dir, META_PASSWORD=redis.password)
    before = host_snapshot()
    subprocess.run(["mount", "--bind", str(fake), shc], check=True)
    try:
        result = cli(*_args(name, agent, redis.url(10), secrets, bucket))
    finally:
        subprocess.run(["umount", shc], check=True)
    assert result.returncode == 2, result.stderr
    assert "shc" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert host_snapshot() == before
    assert not list(Path("/tmp").glob("juicefs-guard-build-*"))
    again = cli(*_args(name, agent, redis.url(10), secrets, bucket))
    assert again.returncode == 0, again.stderr
