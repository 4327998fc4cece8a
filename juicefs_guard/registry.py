"""/etc/juicefs-guard/filesystems/<fs>.toml: what is installed for each filesystem, with hashes.

Root-only (directory 0700, files 0600): it holds salted hashes of the secrets (so the audit can recognise a
leaked copy without keeping the secret) and is read by the helper, which trusts nothing the agent passes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets as pysecrets
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from juicefs_guard import paths, tomlw
from juicefs_guard.errors import UserError
from juicefs_guard.host.atomic import atomic_write, ensure_directory, remove_file
from juicefs_guard.secrets import Secret


def ensure_dirs() -> None:
    ensure_directory(paths.ETC_DIR, mode=0o755)
    ensure_directory(paths.REGISTRY_DIR, mode=0o700)


def load(name: str) -> dict[str, Any] | None:
    path = paths.registry_entry(name)
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"registry entry {path} is corrupt ({exc}); restore it or run remove --yes {name}") from None


def require(name: str) -> dict[str, Any]:
    entry = load(name)
    if entry is None:
        raise UserError(f"no filesystem named {name!r} is installed; see `juicefs-guard list`")
    return entry


def save(name: str, entry: Mapping[str, Any]) -> None:
    ensure_dirs()
    atomic_write(paths.registry_entry(name), tomlw.dumps(entry), mode=0o600)


def delete(name: str) -> bool:
    return remove_file(paths.registry_entry(name))


def names() -> list[str]:
    try:
        return sorted(p.stem for p in Path(paths.REGISTRY_DIR).glob("*.toml") if not p.name.startswith("."))
    except PermissionError:
        raise UserError(f"cannot read {paths.REGISTRY_DIR}; run as root (sudo)") from None


def entries() -> Iterator[dict[str, Any]]:
    for name in names():
        entry = load(name)
        if entry is not None:
            yield entry


def new_salt() -> str:
    return pysecrets.token_hex(16)


def secret_digest(salt: str, value: str) -> str:
    """A salted, slow-enough hash: enough to recognise a leaked copy, useless as a lookup table."""
    return hashlib.pbkdf2_hmac("sha256", value.encode("utf-8"), bytes.fromhex(salt), 50_000).hex()


def secret_digests(salt: str, secrets: Mapping[str, Secret]) -> dict[str, str]:
    return {key: secret_digest(salt, secret.reveal()) for key, secret in secrets.items()}


def matches_secret(entry: Mapping[str, Any], key: str, candidate: str) -> bool:
    digests = entry.get("secret_hashes", {})
    if key not in digests:
        return False
    return hmac.compare_digest(digests[key], secret_digest(entry["secret_salt"], candidate))


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
