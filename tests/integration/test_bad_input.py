"""Bad input gets one line, exit 2, no traceback, and changes nothing on the host (users, /etc/sudoers.d,
/etc/juicefs-guard, the agent's home, mounts). Each row is a mistake an administrator (or a script) makes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.host import CLI, as_user, cli, file_storage, host_snapshot, init_args, unique_name, write_secrets
from tests.support.services import Redis

AGENT = unique_name()  # never created: every row must fail before a user exists


def _secrets(tmp: Path, text: str, mode: int = 0o600, owner: int | None = None) -> str:
    path = tmp / f"s-{unique_name('x')}.env"
    path.write_text(text)
    os.chmod(path, mode)
    if owner is not None:
        os.chown(path, owner, owner)
    return str(path)


def _config(tmp: Path, text: str) -> str:
    path = tmp / f"c-{unique_name('x')}.toml"
    path.write_text(text)
    return str(path)


def base(redis: Redis, **over: str) -> list[str]:
    values = {"--name": "badfs", "--agent": AGENT, "--mode": "broker", "--meta-url": redis.url(1)}
    values.update(over)
    args = ["init", "--non-interactive"]
    for key, value in values.items():
        if value is not None:
            args += [key, value]
    return args


def rows(redis: Redis, tmp: Path, existing) -> dict[str, tuple[list[str], str]]:
    good = _secrets(tmp, f"META_PASSWORD={redis.password}\n")
    return {
        "fs name with a dot": (base(redis, **{"--name": "my.fs"}), "filesystem name"),
        "fs name upper case": (base(redis, **{"--name": "Data"}), "filesystem name"),
        "fs name too short": (base(redis, **{"--name": "ab"}), "filesystem name"),
        "fs name ending in ~": (base(redis, **{"--name": "data~"}), "filesystem name"),
        "user root": (base(redis, **{"--agent": "root"}), "system account"),
        "user daemon": (base(redis, **{"--agent": "daemon"}), "system account"),
        "user www-data": (base(redis, **{"--agent": "www-data"}), "system account"),
        "user name with space": (base(redis, **{"--agent": "ai agent"}), "agent user name"),
        "unknown mode": (base(redis, **{"--mode": "magic"}), "mode"),
        "password inside the URL": (
            base(redis, **{"--meta-url": f"redis://:pw@127.0.0.1:{redis.port}/1"}),
            "secrets file",
        ),
        "unknown scheme": (base(redis, **{"--meta-url": "ftp://127.0.0.1/1"}), "scheme"),
        "unknown storage": (
            base(redis, **{"--storage": "floppy", "--bucket": "/x", "--format": None}) + ["--format"],
            "storage",
        ),
        "format without storage": (base(redis) + ["--format"], "--storage"),
        "relative mountpoint": (base(redis, **{"--mountpoint": "mnt/x"}), "absolute"),
        "mountpoint with newline": (base(redis, **{"--mountpoint": "/srv/a\nb"}), "control character"),
        "mountpoint /etc": (base(redis, **{"--mountpoint": "/etc"}), "system directory"),
        "mountpoint under /usr": (base(redis, **{"--mountpoint": "/usr/local/x"}), "system directory"),
        "mountpoint of another fs": (base(redis, **{"--mountpoint": existing.mountpoint}), "already belongs"),
        "secrets file missing": (base(redis, **{"--secrets-file": str(tmp / "nope.env")}), "does not exist"),
        "secrets file group-readable": (
            base(redis, **{"--secrets-file": _secrets(tmp, "META_PASSWORD=x\n", 0o640)}),
            "chmod 600",
        ),
        "secrets file not root-owned": (
            base(redis, **{"--secrets-file": _secrets(tmp, "META_PASSWORD=x\n", 0o600, owner=65534)}),
            "chown root",
        ),
        "secrets file unknown key": (base(redis, **{"--secrets-file": _secrets(tmp, "PASSWORD=x\n")}), "unknown key"),
        "secrets file not KEY=VALUE": (
            base(redis, **{"--secrets-file": _secrets(tmp, "just-a-password\n")}),
            "KEY=VALUE",
        ),
        "config file with a secret": (
            [
                "init",
                "--non-interactive",
                "--config",
                _config(tmp, f'name = "badfs"\nagent = "{AGENT}"\npassword = "x"\n'),
            ],
            "never go in the config",
        ),
        "config file not TOML": (["init", "--non-interactive", "--config", _config(tmp, "name = [\n")], "TOML"),
        "missing --name": (["init", "--non-interactive", "--agent", AGENT, "--meta-url", redis.url(1)], "--name"),
        "metadata engine down": (
            base(redis, **{"--meta-url": "redis://127.0.0.1:1/1", "--secrets-file": good}),
            "metadata",
        ),
        "wrong password": (base(redis, **{"--secrets-file": _secrets(tmp, "META_PASSWORD=wrong\n")}), "metadata"),
        "interactive without a terminal": (["init"], "not a terminal"),
        "remove of an unknown fs": (["remove", "nosuchfs", "--yes"], "nosuchfs"),
        "rotate without secrets file": (
            ["rotate", existing.name, "--secrets-file", str(tmp / "nope.env")],
            "does not exist",
        ),
        "audit of an unknown fs": (["audit", "--name", "nosuchfs"], "no filesystem named"),
        "bad cron schedule": (["audit", "--install-cron", "--schedule", "daily please"], "cron fields"),
        "secrets-command relative": (base(redis, **{"--secrets-command": "age -d x"}), "absolute path"),
        "block-meta in embedded mode": (
            base(redis, **{"--mode": "embedded"}) + ["--block-meta-for-agent"],
            "broker mode",
        ),
    }


@pytest.fixture(scope="module")
def existing(install_module):
    return install_module


@pytest.fixture(scope="module")
def install_module(redis, tmp_path_factory):
    """One real installation, so that conflicts with it can be tried; removed at the end."""
    from tests.support.host import force_remove

    name, agent = unique_name("fs"), unique_name()
    secrets = write_secrets(tmp_path_factory.mktemp("bad"), META_PASSWORD=redis.password)
    bucket = tmp_path_factory.mktemp("bucket")
    result = cli(*init_args(name, agent, redis.url(14), "--secrets-file", str(secrets), *file_storage(bucket)))
    assert result.returncode == 0, result.stderr

    class Existing:
        pass

    found = Existing()
    found.name, found.agent = name, agent
    found.mountpoint = f"/srv/juicefs-guard/{agent}/{name}"
    yield found
    force_remove(name, agent)


ROW_NAMES = [
    "fs name with a dot",
    "fs name upper case",
    "fs name too short",
    "fs name ending in ~",
    "user root",
    "user daemon",
    "user www-data",
    "user name with space",
    "unknown mode",
    "password inside the URL",
    "unknown scheme",
    "unknown storage",
    "format without storage",
    "relative mountpoint",
    "mountpoint with newline",
    "mountpoint /etc",
    "mountpoint under /usr",
    "mountpoint of another fs",
    "secrets file missing",
    "secrets file group-readable",
    "secrets file not root-owned",
    "secrets file unknown key",
    "secrets file not KEY=VALUE",
    "config file with a secret",
    "config file not TOML",
    "missing --name",
    "metadata engine down",
    "wrong password",
    "interactive without a terminal",
    "remove of an unknown fs",
    "rotate without secrets file",
    "audit of an unknown fs",
    "bad cron schedule",
    "secrets-command relative",
    "block-meta in embedded mode",
]


@pytest.mark.parametrize("row", ROW_NAMES)
def test_bad_input_is_refused_with_one_line_and_changes_nothing(row, redis, tmp_path, existing) -> None:
    table = rows(redis, tmp_path, existing)
    assert set(table) == set(ROW_NAMES)
    args, expected = table[row]
    before = host_snapshot(extra_homes=[f"/home/{existing.agent}"])
    result = cli(*args)
    assert result.returncode == 2, (row, result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, (row, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert expected.lower() in lines[0].lower(), (row, lines[0])
    assert host_snapshot(extra_homes=[f"/home/{existing.agent}"]) == before, row
    assert subprocess.run(["id", AGENT], capture_output=True).returncode != 0


@pytest.mark.parametrize(
    "command",
    [
        ["init", "--non-interactive", "--name", "x"],
        ["remove", "x", "--yes"],
        ["rotate", "x", "--secrets-file", "/x"],
        ["audit"],
        ["list"],
        ["log"],
    ],
)
def test_non_root_caller_gets_one_line(command, existing) -> None:
    before = host_snapshot()
    result = as_user(existing.agent, [CLI, *command])
    assert result.returncode == 2, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "as root" in lines[0] and "Traceback" not in result.stderr
    assert host_snapshot() == before
