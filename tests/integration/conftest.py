"""Fixtures with real parts: root, users, redis-server, moto S3, shc, FUSE. Everything created is removed."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from juicefs_guard import paths
from tests.support.host import as_user, cli, force_remove, fuse_mounts, init_args, unique_name, write_secrets
from tests.support.services import S3, Redis, moto_s3, redis_server

REQUIRED_TOOLS = ("shc", "cc", "sudo", "redis-server", "setpriv", "strace", "strings", "visudo", "fusermount3")


@pytest.fixture(scope="session", autouse=True)
def integration_host() -> Iterator[None]:
    if os.geteuid() != 0:
        pytest.skip("integration tests need root (run: sudo ./scripts/test.sh)")
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"missing tools {missing}; scripts/test.sh installs them")
    fuse = Path("/dev/fuse")
    if not fuse.exists():
        pytest.skip("/dev/fuse does not exist (FUSE unavailable in this container)")
    if stat.S_IMODE(fuse.stat().st_mode) & 0o006 != 0o006:
        print("making /dev/fuse 0666 (the Debian default) so non-root users can mount")
        os.chmod(fuse, 0o666)
    before = set(fuse_mounts())
    yield
    leaked = set(fuse_mounts()) - before
    assert not leaked, f"tests left FUSE mounts behind: {leaked}"


@pytest.fixture(scope="session")
def redis() -> Iterator[Redis]:
    with redis_server() as server:
        yield server


@pytest.fixture(scope="session")
def s3() -> Iterator[S3]:
    with moto_s3() as server:
        yield server


@dataclass
class Installed:
    name: str
    agent: str
    mode: str
    wrapper: str
    mountpoint: str
    secrets: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, user: str | None = None, timeout: float = 120):
        return as_user(user or self.agent, [self.wrapper, *args], timeout=timeout)

    def mount(self):
        result = self.run("mount")
        assert result.returncode == 0, result.stderr + result.stdout
        return result

    def umount(self):
        result = self.run("umount")
        assert result.returncode == 0, result.stderr + result.stdout
        return result


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "secrets"
    directory.mkdir(mode=0o700)
    return directory


@pytest.fixture
def install(redis: Redis, secrets_dir: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Installed]]:
    """Install a filesystem for a fresh agent with `juicefs-guard init --non-interactive`; remove it after."""
    created: list[tuple[str, str]] = []
    db_counter = iter(range(2, 16))

    def _install(
        mode: str = "broker",
        *,
        agent: str | None = None,
        name: str | None = None,
        secrets: dict[str, str] | None = None,
        extra: tuple[str, ...] = (),
        fmt: bool = True,
        meta_url: str | None = None,
        storage: tuple[str, str] | None = None,
    ) -> Installed:
        agent = agent or unique_name()
        name = name or unique_name("fs")
        created.append((name, agent))
        secrets = {"META_PASSWORD": redis.password} if secrets is None else secrets
        if meta_url is None:
            meta_url = redis.url(_free_db(redis, db_counter))
        args = init_args(name, agent, meta_url, mode=mode)
        if fmt:
            if storage is None and mode == "embedded":
                # The agent's own daemon writes the objects: a root-only local directory would not do.
                s3 = request.getfixturevalue("s3")
                bucket_name = f"jfg-{name}"
                s3.create_bucket(bucket_name)
                storage = ("s3", s3.bucket_url(bucket_name))
                if "ACCESS_KEY" not in secrets:
                    secrets = {**secrets, "ACCESS_KEY": s3.access_key, "SECRET_KEY": s3.secret_key}
            if storage is None:
                bucket = secrets_dir.parent / f"bucket-{name}"
                bucket.mkdir(mode=0o700)
                storage = ("file", f"{bucket}/")
            args += ["--format", "--storage", storage[0], "--bucket", storage[1]]
        if secrets:
            args += ["--secrets-file", str(write_secrets(secrets_dir, **secrets))]
        args += list(extra)
        result = cli(*args)
        assert result.returncode == 0, f"init failed ({result.returncode}): {result.stderr}{result.stdout}"
        entry_mountpoint = str(paths.default_mountpoint(agent, name))
        for i, arg in enumerate(extra):
            if arg == "--mountpoint":
                entry_mountpoint = extra[i + 1]
                break
        home = Path("/home") / agent
        return Installed(
            name=name,
            agent=agent,
            mode=mode,
            wrapper=str(home / "juicefs-scripts" / name),
            mountpoint=entry_mountpoint,
            secrets=dict(secrets),
        )

    yield _install
    for name, agent in reversed(created):
        force_remove(name, agent)


def _free_db(redis: Redis, counter: Iterator[int]) -> int:
    """A Redis database number not used by an earlier test in this session (flushed to be sure)."""
    for db in counter:
        redis.cli("-n", str(db), "FLUSHDB")
        return db
    raise RuntimeError("out of redis databases")
