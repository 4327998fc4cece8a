"""Issue 9, host side: Redis over TLS with a client certificate, secrets fetched at mount time with `age`, and
the nftables block of the agent's uid. Real redis-server (TLS, requirepass), real openssl, real age."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from juicefs_guard import paths, registry
from tests.support.host import as_user, cli, fuse_mounts, host_snapshot, init_args, unique_name
from tests.support.services import redis_server
from tests.support.tls import make_certificates


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (scripts/test.sh installs it)")
    certs = make_certificates(tmp_path_factory.mktemp("tls"))
    with redis_server(tls=certs) as server:
        yield server, certs


def test_redis_tls_client_certificate_broker(install, tls_redis) -> None:
    server, certs = tls_redis
    extra = (
        "--meta-tls-cert",
        str(certs / "client.crt"),
        "--meta-tls-key",
        str(certs / "client.key"),
        "--meta-tls-ca",
        str(certs / "ca.crt"),
    )
    fs = install("broker", meta_url=server.url(1), secrets={"META_PASSWORD": server.password}, extra=extra)
    entry = registry.require(fs.name)
    installed_key = paths.credentials_subdir(fs.name) / "client.key"
    assert "tls-key-file=" + str(installed_key) in entry["mount_meta_url"]
    assert (installed_key.stat().st_mode & 0o777) == 0o600 and installed_key.stat().st_uid == 0
    fs.mount()
    try:
        path = f"{fs.mountpoint}/over-tls.txt"
        assert as_user(fs.agent, ["sh", "-c", f"echo tls > {path}"]).returncode == 0
        assert as_user(fs.agent, ["cat", path]).stdout == "tls\n"
        for name in ("client.key", "client.crt", "ca.crt"):
            attempt = as_user(fs.agent, ["cat", str(paths.credentials_subdir(fs.name) / name)])
            assert attempt.returncode != 0, f"the agent can read {name}"
        key_text = (certs / "client.key").read_text()
        key_body = key_text.splitlines()[1]
        dump = as_user(fs.agent, ["sh", "-c", "cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null; true"])
        assert key_body not in dump.stdout and server.password not in dump.stdout
    finally:
        fs.run("umount")


def test_tls_key_refused_in_embedded_mode(tls_redis, tmp_path) -> None:
    server, certs = tls_redis
    before = host_snapshot()
    tls = ["--meta-tls-cert", str(certs / "client.crt"), "--meta-tls-key", str(certs / "client.key")]
    result = cli(*init_args(unique_name("fs"), unique_name(), server.url(1), *tls, mode="embedded"))
    assert result.returncode == 2
    assert "embedded mode" in result.stderr and "Traceback" not in result.stderr
    assert host_snapshot() == before


@pytest.fixture
def age_files(install):
    """An age key in /etc/juicefs-guard/keys and the encrypted secrets next to the credentials; removed after."""
    created_dirs = [d for d in (paths.ETC_DIR, paths.KEYS_DIR, paths.CREDENTIALS_DIR) if not d.exists()]
    for directory in (paths.ETC_DIR, paths.KEYS_DIR, paths.CREDENTIALS_DIR):
        directory.mkdir(mode=0o700 if directory != paths.ETC_DIR else 0o755, exist_ok=True)
    made: list[Path] = []

    def _make(name: str, secrets: dict[str, str]) -> tuple[Path, Path]:
        key = paths.KEYS_DIR / f"{name}.key"
        encrypted = paths.CREDENTIALS_DIR / f"{name}.env.age"
        made.extend([key, encrypted])
        subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
        os.chmod(key, 0o600)
        recipient = subprocess.run(
            ["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True
        ).stdout.strip()
        plain = "".join(f"{k}={v}\n" for k, v in secrets.items())
        subprocess.run(
            ["age", "-r", recipient, "-o", str(encrypted)], input=plain, text=True, check=True, capture_output=True
        )
        os.chmod(encrypted, 0o600)
        return key, encrypted

    yield _make
    for path in made:
        path.unlink(missing_ok=True)
    for directory in reversed(created_dirs):
        shutil.rmtree(directory, ignore_errors=True)


def test_secrets_command_with_age_on_s3(install, age_files, s3, redis) -> None:
    if shutil.which("age") is None:
        pytest.skip("age is not installed (scripts/test.sh installs it)")
    name = unique_name("fs")
    bucket = f"jfg-{name}"
    s3.create_bucket(bucket)
    secrets = {"META_PASSWORD": redis.password, "ACCESS_KEY": s3.access_key, "SECRET_KEY": s3.secret_key}
    key, encrypted = age_files(name, secrets)
    command = f"/usr/bin/age -d -i {key} {encrypted}"
    fs = install(
        "broker", name=name, secrets={}, storage=("s3", s3.bucket_url(bucket)), extra=("--secrets-command", command)
    )
    fs.secrets = secrets
    assert not paths.credentials_file(name).exists(), "no credentials file in secrets-command mode"
    entry_text = paths.registry_entry(name).read_text()
    for value in secrets.values():
        assert value not in entry_text
    fs.mount()
    try:
        path = f"{fs.mountpoint}/aged.txt"
        assert as_user(fs.agent, ["sh", "-c", f"echo aged > {path} && cat {path}"]).stdout == "aged\n"
        dump = as_user(fs.agent, ["sh", "-c", "cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null; true"])
        strings = as_user(fs.agent, ["strings", "-a", fs.wrapper]).stdout
        for value in secrets.values():
            assert value not in dump.stdout and value not in strings
            found = subprocess.run(
                [
                    "grep",
                    "-rlF",
                    "-f",
                    "-",
                    str(paths.ETC_DIR),
                    str(paths.LOG_DIR),
                    str(paths.LIB_DIR),
                    f"/home/{fs.agent}",
                ],
                input=value,
                capture_output=True,
                text=True,
            )
            assert found.returncode == 1 and found.stdout == "", f"a decrypted secret landed on disk: {found.stdout}"
    finally:
        fs.run("umount")


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("/bin/false", "failed with exit 1"),
        ("age -d x", "absolute path"),
        ("/usr/bin/timeout 60 /bin/sleep 45", "did not finish"),
        ("/tmp", "not owned by root or is writable"),
    ],
)
def test_failing_or_slow_secrets_command_changes_nothing(redis, command, message) -> None:
    before = host_snapshot()
    result = cli(*init_args(unique_name("fs"), unique_name(), redis.url(1), "--secrets-command", command))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert host_snapshot() == before


def test_block_meta_for_agent(install, redis) -> None:
    if shutil.which("nft") is None or subprocess.run(["nft", "list", "tables"], capture_output=True).returncode:
        pytest.skip("nftables is not usable here (no nft, or no netfilter in this kernel/container)")
    fs = install("broker", extra=("--block-meta-for-agent",))
    probe = ["python3", "-c", f"import socket; socket.create_connection(('127.0.0.1', {redis.port}), timeout=3)"]
    blocked = as_user(fs.agent, probe)
    assert blocked.returncode != 0 and "refused" in blocked.stderr.lower()
    other = unique_name()
    subprocess.run(["useradd", "-M", other], check=True)
    try:
        assert as_user(other, probe).returncode == 0, "only the agent's uid is blocked"
    finally:
        subprocess.run(["userdel", other], check=False)
    fs.mount()
    try:
        assert as_user(fs.agent, ["sh", "-c", f"echo ok > {fs.mountpoint}/f && cat {fs.mountpoint}/f"]).stdout == "ok\n"
    finally:
        fs.run("umount")
    assert cli("remove", fs.name, "--yes").returncode == 0
    listing = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    assert f"juicefs-guard {fs.name}" not in listing
    assert fs.mountpoint not in fuse_mounts()
