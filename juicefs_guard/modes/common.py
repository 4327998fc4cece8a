"""Steps both modes share: directories, the agent's wrapper, mountpoints. Each step registers its undo."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from juicefs_guard import paths
from juicefs_guard.errors import UserError
from juicefs_guard.helper import Failed, Refused, check_chain
from juicefs_guard.host.atomic import atomic_write, ensure_directory, remove_file
from juicefs_guard.host.transaction import Transaction
from juicefs_guard.host.users import Account

WRAPPER_MODE = 0o750
SCRIPTS_DIR_MODE = 0o750


def make_directory(tx: Transaction, path: Path | str, *, mode: int, uid: int = 0, gid: int = 0) -> None:
    """Create (or fix) one directory; undo removes it only if this run created it."""
    path = Path(path)
    previous = None
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            raise UserError(f"{path} exists and is not a directory (or is a symlink); move it away and retry")
        previous = (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode))
    except FileNotFoundError:
        pass
    with tx.step():
        created = ensure_directory(path, mode=mode, uid=uid, gid=gid)
        if created:
            tx.on_rollback(f"directory {path}", lambda: os.rmdir(path))
        elif previous is not None and previous != (uid, gid, mode):

            def restore(p: Path = path, prev: tuple[int, int, int] = previous) -> None:
                os.chown(p, prev[0], prev[1], follow_symlinks=False)
                os.chmod(p, prev[2])

            tx.on_rollback(f"owner and mode of {path}", restore)


def make_directories(tx: Transaction, path: Path | str, *, mode: int, uid: int = 0, gid: int = 0) -> None:
    """Like `make_directory` for a path whose parents may be missing (created root:root 0755)."""
    path = Path(path)
    missing = []
    current = path.parent
    while not current.exists():
        missing.append(current)
        current = current.parent
    for parent in reversed(missing):
        make_directory(tx, parent, mode=0o755)
    make_directory(tx, path, mode=mode, uid=uid, gid=gid)


def replace_file(
    tx: Transaction, path: Path | str, data: bytes | str, *, mode: int, uid: int = 0, gid: int = 0
) -> None:
    """Atomically write a file; undo restores the previous bytes, owner and mode, or removes it."""
    path = Path(path)
    try:
        info = os.lstat(path)
        with open(path, "rb") as handle:
            old = handle.read()
        restore_args = (old, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)
    except FileNotFoundError:
        restore_args = None
    with tx.step():
        atomic_write(path, data, mode=mode, uid=uid, gid=gid)
        if restore_args is None:
            tx.on_rollback(f"file {path}", lambda: remove_file(path))
        else:
            old, old_mode, old_uid, old_gid = restore_args
            tx.on_rollback(f"file {path}", lambda: atomic_write(path, old, mode=old_mode, uid=old_uid, gid=old_gid))


def install_wrapper(tx: Transaction, scripts_dir: str, name: str, account: Account, binary: bytes) -> Path:
    """`<scripts-dir>/<fs>`: root-owned, the agent's group may read and execute, others nothing."""
    make_directories(tx, scripts_dir, mode=SCRIPTS_DIR_MODE, uid=0, gid=account.gid)
    target = Path(scripts_dir) / name
    replace_file(tx, target, binary, mode=WRAPPER_MODE, uid=0, gid=account.gid)
    return target


def prepare_mountpoints(tx: Transaction, mode: str, account: Account, mountpoints: list[str]) -> None:
    """broker: root-owned directories below root-owned ancestors (the helper refuses anything else);
    the default per-agent parent is root:<agent group> 0750, which keeps other local users out of the mount.
    embedded: the agent's own daemon mounts, so the mountpoint itself belongs to the agent."""
    for mountpoint in mountpoints:
        path = Path(mountpoint)
        if path.parent.parent == paths.MOUNT_ROOT:
            make_directory(tx, paths.MOUNT_ROOT, mode=0o755)
            make_directory(tx, path.parent, mode=0o750, uid=0, gid=account.gid)
        if mode == "broker":
            make_directories(tx, path, mode=0o755)
            try:
                check_chain(mountpoint)
            except (Refused, Failed) as exc:
                raise UserError(
                    f"mountpoint {mountpoint} is unsafe for a root mount: {exc}; choose a path whose every "
                    "directory is owned by root and writable by root only"
                ) from None
        else:
            make_directories(tx, path, mode=0o700, uid=account.uid, gid=account.gid)
