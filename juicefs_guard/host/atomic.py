"""The one atomic writer: a temp file in the target's directory, owner and mode set on the descriptor, fsync,
then rename. A crash leaves the old file or the new one, never half of each, and never a moment where the new
content exists with a looser mode."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def atomic_write(path: Path | str, data: bytes | str, *, mode: int, uid: int = 0, gid: int = 0) -> None:
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    directory = path.parent
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    tmp_name = f".{path.name}.jfg-tmp-{os.getpid()}"
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name, dir_fd=dir_fd)
        fd = os.open(
            tmp_name,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
            dir_fd=dir_fd,
        )
        try:
            os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp_name, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        os.fsync(dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name, dir_fd=dir_fd)
        raise
    finally:
        os.close(dir_fd)


def atomic_copy(source: Path | str, target: Path | str, *, mode: int, uid: int = 0, gid: int = 0) -> None:
    """Copy a file (a compiled wrapper, a binary) into place atomically with its final owner and mode."""
    with open(source, "rb") as handle:
        data = handle.read()
    atomic_write(target, data, mode=mode, uid=uid, gid=gid)


def ensure_directory(path: Path | str, *, mode: int, uid: int = 0, gid: int = 0) -> bool:
    """Create a directory (not its parents) or fix an existing one's owner and mode; refuse a symlink.

    Returns True when this call created it, so a rollback can remove only what it made.
    """
    path = Path(path)
    created = False
    try:
        os.mkdir(path, 0o700)
        created = True
    except FileExistsError:
        pass
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    return created


def remove_file(path: Path | str) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
