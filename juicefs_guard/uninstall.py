"""`remove`: unmount, then delete what `init` installed for one filesystem. Never the volume's data."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from juicefs_guard import paths, registry
from juicefs_guard.errors import OperationFailed
from juicefs_guard.helper import mount_table
from juicefs_guard.host import nft, users
from juicefs_guard.host.atomic import remove_file
from juicefs_guard.host.run import run

Progress = Callable[[str], None]


def mounted_points(entry: Mapping[str, Any]) -> list[str]:
    table = mount_table()
    return [mp for mp in entry.get("mountpoints", []) if table.get(mp, "").startswith("fuse.juicefs")]


def unmount(entry: Mapping[str, Any], mountpoint: str) -> None:
    """As root, whoever mounted it: juicefs's own umount first (it waits for pending writes), then the kernel's."""
    client = entry.get("juicefs") or str(paths.MANAGED_JUICEFS)
    result = run([client, "--no-agent", "--quiet", "umount", mountpoint], timeout=60)
    if result.returncode != 0 and mountpoint in mounted_points(entry):
        result = run(["umount", mountpoint], timeout=60)
    if mountpoint in mounted_points(entry):
        raise OperationFailed(
            f"could not unmount {mountpoint}: {(result.stderr or result.stdout).strip()}; close what uses it "
            f"(fuser -vm {mountpoint}) and retry"
        )


def _rmdir_if_empty(path: str | Path) -> None:
    with contextlib.suppress(OSError):
        os.rmdir(path)


def remove_installation(entry: Mapping[str, Any], *, delete_user: bool, progress: Progress = print) -> None:
    name = entry["name"]
    for mountpoint in mounted_points(entry):
        progress(f"unmounting {mountpoint}...")
        unmount(entry, mountpoint)
    remove_file(paths.sudoers_dropin(name))
    if entry.get("nft_block"):
        nft.remove(name)
    if entry.get("wrapper"):
        remove_file(entry["wrapper"])
        _rmdir_if_empty(entry.get("scripts_dir", ""))
    remove_file(paths.credentials_file(name))
    shutil.rmtree(paths.credentials_subdir(name), ignore_errors=True)
    shutil.rmtree(paths.CACHE_DIR / name, ignore_errors=True)
    remove_file(paths.LOG_DIR / f"{name}.mount.log")
    for mountpoint in entry.get("mountpoints", []):
        _rmdir_if_empty(mountpoint)
        parent = Path(mountpoint).parent
        if parent.parent == paths.MOUNT_ROOT:
            _rmdir_if_empty(parent)
    _rmdir_if_empty(paths.MOUNT_ROOT)
    registry.delete(name)
    others = [e for e in registry.entries() if e.get("name") != name]
    if delete_user and not any(e.get("agent") == entry["agent"] for e in others):
        if users.lookup(entry["agent"]) is not None:
            progress(f"deleting user {entry['agent']} and its home...")
            users.delete(entry["agent"])
    if not others:
        remove_shared_state()


def remove_shared_state() -> None:
    """Once the last filesystem is gone: the helper, the managed client, the cron line, empty state dirs."""
    remove_file(paths.HELPER_PATH)
    shutil.rmtree(paths.HELPER_LIB_DIR, ignore_errors=True)
    remove_file(paths.MANAGED_JUICEFS)
    _rmdir_if_empty(paths.LIB_DIR)
    remove_file(paths.CRON_FILE)
    remove_file(paths.LOGROTATE_FILE)
    for directory in (paths.CREDENTIALS_DIR, paths.CACHE_DIR, paths.REGISTRY_DIR):
        _rmdir_if_empty(directory)


def remove(name: str, *, delete_user: bool, progress: Progress = print) -> None:
    from juicefs_guard.host.lock import registry_lock
    from juicefs_guard.install import require_root

    require_root("remove")
    with registry_lock():
        entry = registry.require(name)
        remove_installation(entry, delete_user=delete_user, progress=progress)
