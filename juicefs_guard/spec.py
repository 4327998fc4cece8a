"""A validated description of one guarded filesystem. It holds no secret, so it can be printed, logged and
stored. Every value that later reaches a shell script, a sudoers line or a juicefs argv is checked here first."""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from juicefs_guard.errors import UserError

MODES = ("broker", "embedded")
DEFAULT_MODE = "broker"

# Filesystem names become file names in /etc/sudoers.d (sudo skips names with '.' or ending in '~'), registry
# entries, JuiceFS volume names (3-63 of [A-Za-z0-9-]) and sudoers words: keep them short, lowercase, plain.
FS_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
# POSIX portable user names, lowercase as Debian's adduser wants them by default.
USER_NAME_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,30}$")
# Mountpoints and directories also appear in sudoers rules: a plain character set, nothing sudo or a shell treats
# specially (no space, comma, colon, equals, backslash, quote, glob or newline).
PATH_RE = re.compile(r"^/[A-Za-z0-9._/@+-]*$")

META_SCHEMES = (
    "redis",
    "rediss",
    "unix",
    "sqlite3",
    "mysql",
    "postgres",
    "postgresql",
    "tikv",
    "etcd",
    "badger",
    "fdb",
)
STORAGE_TYPES = (
    "s3",
    "gs",
    "wasb",
    "azure",
    "oss",
    "cos",
    "ks",
    "ufile",
    "qingstor",
    "bos",
    "qiniu",
    "scw",
    "b2",
    "space",
    "swift",
    "webdav",
    "minio",
    "ceph",
    "gluster",
    "file",
    "sftp",
    "redis",
    "tikv",
    "etcd",
    "mysql",
    "postgres",
    "sqlite3",
    "hdfs",
    "obs",
    "tos",
    "eos",
    "wasabi",
    "bunny",
    "jss",
    "speedy",
    "nos",
    "mss",
    "cifs",
)
SYSTEM_USERS = frozenset(
    "root daemon bin sys sync games man lp mail news uucp proxy www-data backup list irc gnats nobody "
    "systemd-network systemd-resolve messagebus sshd redis _apt systemd-timesync polkitd".split()
)
# A mountpoint may not be one of these nor lie below the ones in the second set: root mounting a FUSE volume
# over system state would hide it from every process on the host.
SYSTEM_DIRS = frozenset(
    "/ /bin /boot /dev /etc /home /lib /lib32 /lib64 /libx32 /media /mnt /opt /proc /root /run /sbin /srv "
    "/sys /tmp /usr /var /var/tmp /srv/juicefs-guard".split()
)
SYSTEM_TREES = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/sys",
    "/usr",
    "/var",
)


def validate_fs_name(name: str) -> str:
    if not FS_NAME_RE.fullmatch(name or ""):
        raise UserError(
            f"filesystem name {name!r} is not valid; use 3-32 lowercase letters, digits and '-', starting with "
            "a letter (e.g. prod-data)"
        )
    return name


def validate_user_name(name: str) -> str:
    if not USER_NAME_RE.fullmatch(name or ""):
        raise UserError(
            f"agent user name {name!r} is not valid; use a POSIX portable name: lowercase letters, digits, '_' "
            "and '-', starting with a letter, at most 31 characters (e.g. aiagent)"
        )
    if name in SYSTEM_USERS:
        raise UserError(f"agent user {name!r} is a system account; choose a dedicated user such as aiagent")
    return name


def validate_mode(mode: str) -> str:
    if mode not in MODES:
        raise UserError(f"mode {mode!r} is not known; use --mode broker (recommended) or --mode embedded")
    return mode


def _reject_control(what: str, value: str) -> None:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise UserError(f"{what} holds a control character (newline, tab...); remove it")


def validate_meta_url(url: str) -> str:
    _reject_control("metadata URL", url or "")
    scheme, sep, rest = (url or "").partition("://")
    if not sep or scheme not in META_SCHEMES:
        raise UserError(
            f"metadata URL {redact_url(url)!r} has no known scheme; use one of "
            f"{', '.join(s + '://' for s in META_SCHEMES)} (e.g. redis://127.0.0.1:6379/1)"
        )
    if " " in url:
        raise UserError("metadata URL holds a space; percent-encode it or remove it")
    userinfo = _userinfo(rest)
    if userinfo is not None and ":" in userinfo and userinfo.split(":", 1)[1]:
        raise UserError(
            "metadata URL holds a password; remove it from the URL and put META_PASSWORD=... in the secrets file "
            "(--secrets-file), so it never appears on a command line"
        )
    return url


def _userinfo(rest: str) -> str | None:
    """The `user:password` part of `scheme://user:password@host/...`, if the URL has one."""
    head, at, _ = rest.partition("@")
    if not at or "/" in head:
        return None
    return head


def redact_url(url: str) -> str:
    """A URL safe to print: any password in it becomes ****."""
    try:
        parts = urlsplit(url)
        if parts.password:
            return url.replace(f":{parts.password}@", ":****@", 1)
    except ValueError:
        pass
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1****@", url or "")


def validate_storage(storage: str) -> str:
    if storage not in STORAGE_TYPES:
        raise UserError(
            f"storage type {storage!r} is not one JuiceFS supports; use e.g. s3, gs, oss, minio, file "
            f"(all: {', '.join(STORAGE_TYPES)})"
        )
    return storage


def validate_bucket(bucket: str) -> str:
    _reject_control("bucket", bucket or "")
    if not bucket or " " in bucket:
        raise UserError("bucket is empty or holds a space; give a URL like https://bucket.s3.amazonaws.com or a path")
    if bucket.startswith("-"):
        raise UserError("bucket may not start with '-'; give a URL or an absolute path")
    parts = urlsplit(bucket)
    if parts.password:
        raise UserError("bucket URL holds a password; put ACCESS_KEY/SECRET_KEY in the secrets file instead")
    return bucket


def validate_abs_path(what: str, path: str) -> str:
    _reject_control(what, path or "")
    if not path or not path.startswith("/"):
        raise UserError(f"{what} {path!r} is not an absolute path; give a path starting with /")
    if not PATH_RE.fullmatch(path):
        raise UserError(
            f"{what} {path!r} holds characters that are not allowed; use letters, digits and . _ - @ + / only"
        )
    normal = posixpath.normpath(path)
    if normal != path.rstrip("/") or "/../" in f"{path}/" or "/./" in f"{path}/":
        raise UserError(f"{what} {path!r} is not normalised; write it as {normal}")
    return normal


def validate_mountpoint(path: str) -> str:
    normal = validate_abs_path("mountpoint", path)
    if normal in SYSTEM_DIRS or any(normal == t or normal.startswith(t + "/") for t in SYSTEM_TREES):
        raise UserError(
            f"mountpoint {normal} is a system directory; choose a dedicated directory such as "
            "/srv/juicefs-guard/<agent>/<fs> (the default)"
        )
    return normal


@dataclass
class FilesystemSpec:
    """What `init` installs. Mountpoints are fixed here: the helper allows exactly these and no other."""

    name: str
    agent: str
    mode: str
    meta_url: str
    mountpoints: list[str]
    scripts_dir: str
    storage: str = ""
    bucket: str = ""
    format: bool = False
    nft_block: bool = False
    juicefs: str = ""
    meta_tls: dict[str, str] = field(default_factory=dict)
    secrets_command: str = ""

    def settings(self) -> dict[str, Any]:
        """The settings that define the install; an identical re-run compares these."""
        return {
            "name": self.name,
            "agent": self.agent,
            "mode": self.mode,
            "meta_url": self.meta_url,
            "mountpoints": list(self.mountpoints),
            "scripts_dir": self.scripts_dir,
            "storage": self.storage,
            "bucket": self.bucket,
            "nft_block": self.nft_block,
            "secrets_command": self.secrets_command,
            "meta_tls": dict(sorted(self.meta_tls.items())),
        }


def default_scripts_dir(agent: str, home: str | None) -> str:
    base = home or f"/home/{agent}"
    return os.path.join(base, "juicefs-scripts")


def build_spec(
    *,
    name: str,
    agent: str,
    mode: str,
    meta_url: str,
    mountpoints: list[str],
    scripts_dir: str | None,
    storage: str | None,
    bucket: str | None,
    do_format: bool,
    home: str | None,
    nft_block: bool = False,
    meta_tls: dict[str, str] | None = None,
    secrets_command: str = "",
) -> FilesystemSpec:
    """Validate every field; raise UserError on the first bad one, before anything on the host changes."""
    from juicefs_guard.paths import default_mountpoint

    validate_fs_name(name)
    validate_user_name(agent)
    validate_mode(mode)
    validate_meta_url(meta_url)
    if storage:
        validate_storage(storage)
    if bucket:
        validate_bucket(bucket)
    if do_format and not (storage and bucket):
        raise UserError("--format needs --storage and --bucket (e.g. --storage s3 --bucket https://b.s3.amazonaws.com)")
    points = [validate_mountpoint(p) for p in mountpoints] or [str(default_mountpoint(agent, name))]
    if len(set(points)) != len(points):
        raise UserError("a mountpoint is given twice; give each --mountpoint once")
    scripts = validate_abs_path("scripts directory", scripts_dir) if scripts_dir else default_scripts_dir(agent, home)
    if mode == "embedded" and (meta_tls or {}).get("key"):
        raise UserError(
            "a TLS client key cannot be used in embedded mode: the agent's own daemon would have to read it; "
            "use --mode broker"
        )
    if mode == "embedded" and secrets_command:
        raise UserError(
            "--secrets-command needs broker mode: in embedded mode the secrets are compiled into the agent's binary"
        )
    if mode == "embedded" and nft_block:
        raise UserError(
            "--block-meta-for-agent needs broker mode: in embedded mode the agent's own daemon must reach the engine"
        )
    from juicefs_guard import metatls

    meta_tls = metatls.validate(meta_url, dict(meta_tls or {}))
    return FilesystemSpec(
        name=name,
        agent=agent,
        mode=mode,
        meta_url=meta_url,
        mountpoints=points,
        scripts_dir=scripts,
        storage=storage or "",
        bucket=bucket or "",
        format=do_format,
        nft_block=nft_block,
        meta_tls=dict(meta_tls or {}),
        secrets_command=secrets_command,
    )
