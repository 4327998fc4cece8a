"""Operating it for real: idempotent re-runs, --force, rotate while mounted, remove with and without a mount,
list/status, two agents isolated from each other, and concurrent runs that leave the registry intact."""

from __future__ import annotations

import json
import subprocess
import threading

from juicefs_guard import paths, registry
from tests.support.host import as_user, cli, file_storage, fuse_mounts, init_args, unique_name, write_secrets
from tests.support.services import redis_server


def _init_args(fs, redis, secrets_file: str, *extra: str) -> list[str]:
    entry = registry.require(fs.name)
    return init_args(fs.name, fs.agent, entry["meta_url"], "--secrets-file", secrets_file, *extra, mode=fs.mode)


def test_identical_init_is_a_noop_and_other_settings_need_force(install, redis, secrets_dir) -> None:
    fs = install("broker")
    secrets = str(write_secrets(secrets_dir, META_PASSWORD=redis.password))
    before = paths.registry_entry(fs.name).read_bytes()
    again = cli(*_init_args(fs, redis, secrets))
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert paths.registry_entry(fs.name).read_bytes() == before
    other = f"/srv/juicefs-guard/{fs.agent}/second"
    changed = cli(*_init_args(fs, redis, secrets, "--mountpoint", other))
    assert changed.returncode == 2 and "--force" in changed.stderr
    assert paths.registry_entry(fs.name).read_bytes() == before
    forced = cli(*_init_args(fs, redis, secrets, "--mountpoint", other, "--force"))
    assert forced.returncode == 0, forced.stderr
    assert registry.require(fs.name)["mountpoints"] == [other]
    assert as_user(fs.agent, [fs.wrapper, "mount"]).returncode == 0
    try:
        assert other in fuse_mounts()
    finally:
        as_user(fs.agent, [fs.wrapper, "umount"])


def test_rotate_while_mounted_in_broker_mode(install, secrets_dir) -> None:
    with redis_server(password="first password") as own:
        fs = install("broker", meta_url=own.url(1), secrets={"META_PASSWORD": own.password})
        fs.mount()
        try:
            path = f"{fs.mountpoint}/before.txt"
            assert as_user(fs.agent, ["sh", "-c", f"echo one > {path}"]).returncode == 0
            assert own.cli("CONFIG", "SET", "requirepass", "second p@ss'word").stdout.strip() == "OK"
            own.password = "second p@ss'word"
            new = write_secrets(secrets_dir, META_PASSWORD=own.password)
            result = cli("rotate", fs.name, "--secrets-file", str(new))
            assert result.returncode == 0, result.stderr
            assert fs.mountpoint in fuse_mounts()
            assert as_user(fs.agent, ["cat", path]).stdout == "one\n"
            assert as_user(fs.agent, ["sh", "-c", f"echo two > {fs.mountpoint}/after.txt"]).returncode == 0
            own.cli("CLIENT", "KILL", "TYPE", "normal")  # the daemon must reconnect with the new password
            assert as_user(fs.agent, ["ls", fs.mountpoint]).returncode == 0
            for path_ in (paths.credentials_file(fs.name), paths.registry_entry(fs.name)):
                text = path_.read_text()
                assert "first password" not in text
            assert "second p@ss'word" in paths.credentials_file(fs.name).read_text()
        finally:
            fs.run("umount")


def test_rotate_in_embedded_mode_replaces_the_binary(install, redis, secrets_dir) -> None:
    fs = install("embedded")
    old_hash = registry.require(fs.name)["wrapper_sha256"]
    new = write_secrets(secrets_dir, **fs.secrets)  # same values: still a freshly compiled binary
    result = cli("rotate", fs.name, "--secrets-file", str(new))
    assert result.returncode == 0, result.stderr
    entry = registry.require(fs.name)
    assert entry["wrapper_sha256"] != old_hash
    assert entry["wrapper_sha256"] == registry.file_sha256(fs.wrapper)
    fs.mount()
    fs.umount()


def test_remove_with_a_mount_keeps_the_data(install, redis, secrets_dir) -> None:
    fs = install("broker")
    fs.mount()
    assert as_user(fs.agent, ["sh", "-c", f"echo kept > {fs.mountpoint}/kept.txt"]).returncode == 0
    entry = registry.require(fs.name)
    result = cli("remove", fs.name, "--yes")
    assert result.returncode == 0, result.stderr
    assert fs.mountpoint not in fuse_mounts()
    for gone in (paths.sudoers_dropin(fs.name), paths.registry_entry(fs.name), paths.credentials_file(fs.name)):
        assert not gone.exists(), gone
    assert not subprocess.run(["test", "-e", fs.wrapper]).returncode == 0
    assert subprocess.run(["id", fs.agent], capture_output=True).returncode == 0, "the user is kept by default"
    secrets = write_secrets(secrets_dir, META_PASSWORD=redis.password)
    again = cli(*init_args(fs.name, fs.agent, entry["meta_url"], "--secrets-file", str(secrets)))
    assert again.returncode == 0, again.stderr
    fs.mount()
    try:
        assert as_user(fs.agent, ["cat", f"{fs.mountpoint}/kept.txt"]).stdout == "kept\n"
    finally:
        fs.umount()


def test_remove_without_a_mount_and_delete_user(install) -> None:
    fs = install("broker")
    result = cli("remove", fs.name, "--yes", "--delete-user")
    assert result.returncode == 0, result.stderr
    assert subprocess.run(["id", fs.agent], capture_output=True).returncode != 0
    assert not paths.registry_entry(fs.name).exists()
    asked = cli("remove", fs.name)
    assert asked.returncode == 2


def test_remove_asks_before_it_acts(install) -> None:
    fs = install("broker")
    result = cli("remove", fs.name)
    assert result.returncode == 2 and "--yes" in result.stderr
    assert paths.registry_entry(fs.name).exists()


def test_list_and_status(install) -> None:
    fs = install("broker")
    listing = json.loads(cli("list", "--json").stdout)
    row = [r for r in listing["filesystems"] if r["name"] == fs.name][0]
    assert row["mode"] == "broker" and row["agent"] == fs.agent and row["mountpoints"] == {fs.mountpoint: False}
    assert cli("status", fs.name).returncode == 3
    fs.mount()
    try:
        status = cli("status", fs.name)
        assert status.returncode == 0 and f"{fs.mountpoint}: mounted" in status.stdout
    finally:
        fs.umount()
    table = cli("list").stdout
    assert fs.name in table and "MOUNTED" in table


def test_two_agents_are_isolated(install) -> None:
    first, second = install("broker"), install("embedded")
    first.mount()
    second.mount()
    try:
        assert as_user(second.agent, [first.wrapper, "status"]).returncode != 0
        assert as_user(first.agent, [second.wrapper, "status"]).returncode != 0
        assert as_user(second.agent, ["ls", first.mountpoint]).returncode != 0
        assert as_user(first.agent, ["ls", second.mountpoint]).returncode != 0
        assert as_user(second.agent, ["sudo", "-n", str(paths.HELPER_PATH), first.name, "umount"]).returncode != 0
        assert first.mountpoint in fuse_mounts() and second.mountpoint in fuse_mounts()
    finally:
        first.umount()
        second.umount()


def test_concurrent_inits_and_audit_leave_the_registry_intact(install, redis, secrets_dir) -> None:
    agents = [unique_name() for _ in range(2)]
    names = [unique_name("fs") for _ in range(2)]
    secrets = str(write_secrets(secrets_dir, META_PASSWORD=redis.password))
    results: dict[str, subprocess.CompletedProcess] = {}

    def run(name: str, agent: str, db: int) -> None:
        bucket = secrets_dir.parent / f"b-{name}"
        results[name] = cli(*init_args(name, agent, redis.url(db), "--secrets-file", secrets, *file_storage(bucket)))

    for name in names:
        (secrets_dir.parent / f"b-{name}").mkdir(mode=0o700)
    threads = [
        threading.Thread(target=run, args=(n, a, 12 + i)) for i, (n, a) in enumerate(zip(names, agents, strict=True))
    ]
    try:
        for thread in threads:
            thread.start()
        audit = cli("audit", "--json")
        for thread in threads:
            thread.join()
        for name in names:
            assert results[name].returncode == 0, results[name].stderr
            assert registry.require(name)["name"] == name
        assert audit.returncode in (0, 1), audit.stderr
        assert audit.stdout, repr(audit)
        assert json.loads(audit.stdout)["findings"]
    finally:
        from tests.support.host import force_remove

        for name, agent in zip(names, agents, strict=True):
            force_remove(name, agent)
