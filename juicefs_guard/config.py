"""`init --config FILE`: the same keys as the flags, in TOML, and never a secret."""

from __future__ import annotations

import tomllib
from typing import Any

from juicefs_guard.errors import UserError

ALLOWED_KEYS = {
    "name": str,
    "agent": str,
    "mode": str,
    "meta_url": str,
    "storage": str,
    "bucket": str,
    "mountpoints": list,
    "mountpoint": str,
    "scripts_dir": str,
    "format": bool,
    "secrets_file": str,
    "juicefs": str,
    "nft_block": bool,
    "secrets_command": str,
    "meta_tls_cert": str,
    "meta_tls_key": str,
    "meta_tls_ca": str,
}
SECRET_LOOKING = ("password", "secret", "access_key", "token")


def load_config(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise UserError(f"config file {path} does not exist; give the path of a TOML file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"config file {path} is not valid TOML: {exc}") from None
    for key, value in data.items():
        normal = key.replace("-", "_")
        if normal not in ALLOWED_KEYS:
            if any(word in normal.lower() for word in SECRET_LOOKING):
                raise UserError(
                    f"config file {path} holds {key!r}: secrets never go in the config file; put them in a "
                    "root-only secrets file (--secrets-file)"
                )
            raise UserError(f"config file {path}: unknown key {key!r}; allowed: {', '.join(sorted(ALLOWED_KEYS))}")
        expected = ALLOWED_KEYS[normal]
        if not isinstance(value, expected):
            raise UserError(f"config file {path}: {key} must be a {expected.__name__}")
    config = {key.replace("-", "_"): value for key, value in data.items()}
    if "mountpoint" in config:
        config.setdefault("mountpoints", []).insert(0, config.pop("mountpoint"))
    return config
