"""Where juicefs-guard keeps its state. One place, so the audit and the installer agree."""

from __future__ import annotations

from pathlib import Path

ETC_DIR = Path("/etc/juicefs-guard")
REGISTRY_DIR = ETC_DIR / "filesystems"
CREDENTIALS_DIR = ETC_DIR / "credentials"
KEYS_DIR = ETC_DIR / "keys"
LOCK_FILE = Path("/run/juicefs-guard.lock")
STATE_DIR = Path("/var/lib/juicefs-guard")
LAST_REPORT = STATE_DIR / "last-audit.json"
LOG_DIR = Path("/var/log/juicefs-guard")
HELPER_LOG = LOG_DIR / "helper.log"
CACHE_DIR = Path("/var/cache/juicefs-guard")
LIB_DIR = Path("/usr/local/lib/juicefs-guard")
HELPER_PATH = LIB_DIR / "helper"
HELPER_LIB_DIR = LIB_DIR / "helperlib"
HELPER_MODULE = HELPER_LIB_DIR / "juicefs_guard_helper.py"
MANAGED_JUICEFS = LIB_DIR / "juicefs"
MOUNT_ROOT = Path("/srv/juicefs-guard")
SUDOERS_DIR = Path("/etc/sudoers.d")
CRON_FILE = Path("/etc/cron.d/juicefs-guard")
LOGROTATE_FILE = Path("/etc/logrotate.d/juicefs-guard")


def sudoers_dropin(name: str) -> Path:
    """Drop-in names hold no '.', so sudo's #includedir really reads them."""
    return SUDOERS_DIR / f"juicefs-guard-{name}"


def registry_entry(name: str) -> Path:
    return REGISTRY_DIR / f"{name}.toml"


def credentials_file(name: str) -> Path:
    return CREDENTIALS_DIR / f"{name}.env"


def credentials_subdir(name: str) -> Path:
    return CREDENTIALS_DIR / name


def default_mountpoint(agent: str, name: str) -> Path:
    return MOUNT_ROOT / agent / name
