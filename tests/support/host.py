"""Host-side helpers for tests: run the CLI, act as an agent, create and remove users, snapshot host state."""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from juicefs_guard import paths

CLI = str(Path(sys.executable).with_name("juicefs-guard"))
TEST_USER_PREFIX = "jfgt"


def cli(
    *args: str, input_text: str | None = None, timeout: float = 180, env: dict | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed console script as the test process's user (root in CI)."""
    base = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C.UTF-8"}
    base.update(env or {})
    return subprocess.run(
        [CLI, *args],
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=base,
        check=False,
        stdin=None if input_text is not None else subprocess.DEVNULL,
    )


def init_args(name: str, agent: str, meta_url: str, *extra: str, mode: str | None = None) -> list[str]:
    """`init --non-interactive` for one filesystem (mode: the default, broker, unless given); `extra` holds the
    flags a test is about."""
    args = ["init", "--non-interactive", "--name", name, "--agent", agent]
    if mode is not None:
        args += ["--mode", mode]
    return [*args, "--meta-url", meta_url, *extra]


def file_storage(bucket: str | Path) -> list[str]:
    """Format the volume on local storage in `bucket`."""
    return ["--format", "--storage", "file", "--bucket", f"{bucket}/"]


def write_secrets(directory: Path, **values: str) -> Path:
    """A root 0600 KEY=VALUE file, as init wants it."""
    path = directory / f"secrets-{unique_name('s')}.env"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        for key, value in values.items():
            handle.write(f"{key}={value}\n")
    return path


def as_user_argv(user: str, argv: Sequence[str]) -> list[str]:
    """The command line that runs argv as `user` (setpriv: the user's uid, gid and groups, a reset environment)."""
    return ["setpriv", "--reuid", user, "--regid", user, "--init-groups", "--reset-env", *argv]


def as_user(
    user: str, argv: Sequence[str], *, timeout: float = 120, input_text: str | None = None, cwd: str = "/"
) -> subprocess.CompletedProcess[str]:
    """A real privilege drop: uid, gid and supplementary groups of `user`, and a clean environment."""
    return subprocess.run(
        as_user_argv(user, argv),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input_text,
        cwd=cwd,
        check=False,
        stdin=None if input_text is not None else subprocess.DEVNULL,
    )


def unique_name(prefix: str = TEST_USER_PREFIX) -> str:
    return f"{prefix}{secrets.token_hex(3)}"


def kill_user_processes(user: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True, check=False, timeout=10)


def delete_user(user: str) -> None:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return
    kill_user_processes(user)
    subprocess.run(["userdel", "-r", "-f", user], capture_output=True, check=False, timeout=30)
    with contextlib.suppress(KeyError):
        pwd.getpwnam(user)
        raise RuntimeError(f"could not delete test user {user}")


def create_user(user: str) -> None:
    subprocess.run(
        ["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", user],
        check=True,
        capture_output=True,
        timeout=30,
    )


def fuse_mounts() -> dict[str, str]:
    table = {}
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            sep = fields.index("-")
            table[fields[4].replace("\\040", " ")] = fields[sep + 1]
    return {mp: kind for mp, kind in table.items() if kind.startswith("fuse")}


def force_remove(name: str, agent: str | None) -> None:
    """Last-resort cleanup when a test failed before it could `remove`: unmount, uninstall, delete the user."""
    if paths.registry_entry(name).exists():
        cli("remove", name, "--yes", *(["--delete-user"] if agent else []))
    for mountpoint, _kind in fuse_mounts().items():
        if f"/{name}" in mountpoint or (agent and f"/{agent}/" in mountpoint):
            subprocess.run(["umount", "-l", mountpoint], capture_output=True, check=False)
    paths.sudoers_dropin(name).unlink(missing_ok=True)
    paths.registry_entry(name).unlink(missing_ok=True)
    paths.credentials_file(name).unlink(missing_ok=True)
    shutil.rmtree(paths.credentials_subdir(name), ignore_errors=True)
    if agent:
        delete_user(agent)
        shutil.rmtree(paths.MOUNT_ROOT / agent, ignore_errors=True)
        for log in paths.LOG_DIR.glob(f"sudo-{agent}.log*"):  # juicefs-guard keeps logs; tests do not
            log.unlink(missing_ok=True)


def tree_digest(root: str | Path) -> dict[str, str]:
    """Path -> owner/mode/content digest for everything under root (missing root: empty). Mounted filesystems
    are recorded but not entered: a JuiceFS mount's .accesslog is an endless stream."""
    result: dict[str, str] = {}
    root = Path(root)
    if not root.exists() and not root.is_symlink():
        return result

    def record(path: Path) -> None:
        try:
            info = path.lstat()
        except OSError as error:  # a dead FUSE mount answers ENOTCONN; record it rather than crash
            if isinstance(error, FileNotFoundError):
                return
            result[str(path)] = f"error:{error.errno}"
            return
        digest = ""
        if stat.S_ISREG(info.st_mode):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        result[str(path)] = f"{info.st_uid}:{info.st_gid}:{oct(info.st_mode)}:{digest}"

    record(root)
    if not root.is_dir() or root.is_symlink():
        return result
    for directory, dirnames, filenames in os.walk(root):
        kept = []
        for name in sorted(dirnames):
            path = Path(directory) / name
            record(path)
            if result.get(str(path), "").startswith("error:"):
                continue
            if not os.path.ismount(path) and not path.is_symlink():
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            with contextlib.suppress(FileNotFoundError):
                record(Path(directory) / name)
    return result


def host_snapshot(extra_homes: Sequence[str] = ()) -> dict[str, object]:
    """What a refused command must leave untouched."""
    with open("/etc/passwd", encoding="utf-8") as handle:
        passwd = handle.read()
    with open("/etc/group", encoding="utf-8") as handle:
        group = handle.read()
    snapshot: dict[str, object] = {
        "passwd": passwd,
        "group": group,
        "sudoers.d": tree_digest("/etc/sudoers.d"),
        "etc": tree_digest(paths.ETC_DIR),
        "lib": tree_digest(paths.LIB_DIR),
        "srv": tree_digest(paths.MOUNT_ROOT),
        "cron": tree_digest(paths.CRON_FILE),
        "mounts": sorted(fuse_mounts()),
    }
    for home in extra_homes:
        snapshot[f"home:{home}"] = tree_digest(home)
    return snapshot


def juicefs_mount_pids(*markers: str, owner: str | None = None) -> list[int]:
    """PIDs of every `juicefs mount` process (supervisor and child) whose command line holds one of `markers`, or
    that `owner` runs. JuiceFS rewrites its own command line (it masks the metadata URL), which can cut the tail,
    so the markers must be something that survives near the front: an option's value, not the mountpoint alone."""
    import psutil

    found = []
    for process in psutil.process_iter(["cmdline", "username", "name"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "juicefs" not in (process.info["name"] or "") and "juicefs" not in cmdline.split(" ")[0]:
            continue
        if " mount " not in f" {cmdline} ":
            continue
        if any(marker in cmdline for marker in markers) or (owner is not None and process.info["username"] == owner):
            found.append(process.pid)
    return found


def daemon_pids(mountpoint: str, name: str, agent: str) -> list[int]:
    """The processes serving one guarded filesystem: its mountpoint, the broker cache dir named after it, or the
    embedded agent as owner."""
    return juicefs_mount_pids(mountpoint, f"/juicefs-guard/{name} ", owner=agent)


# juicefs-guard keeps its state and log directories when the last filesystem is removed (logs are an audit
# trail). Tests and benchmarks leave the host as they found it: the directories they created, they delete.
STATE_DIRS = (paths.LOG_DIR, paths.STATE_DIR, paths.CACHE_DIR, paths.ETC_DIR)


def missing_state_dirs() -> list[Path]:
    return [directory for directory in STATE_DIRS if not directory.exists()]


def remove_state_dirs(created: Sequence[Path]) -> None:
    """Delete the state directories in `created` (from missing_state_dirs() at the start), unless a filesystem
    is still installed, e.g. a developer's own volume: then everything stays."""
    if paths.REGISTRY_DIR.is_dir() and any(paths.REGISTRY_DIR.iterdir()):
        return
    for directory in created:
        shutil.rmtree(directory, ignore_errors=True)
