"""Redis over TLS with a client certificate (`rediss://`): the files are copied root-only next to the
credentials and handed to the root daemon in the metadata URL's query, the way JuiceFS reads them
(`tls-cert-file`, `tls-key-file`, `tls-ca-cert-file`)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from urllib.parse import quote

from juicefs_guard import paths
from juicefs_guard.errors import UserError
from juicefs_guard.host.transaction import Transaction

INSTALLED_NAMES = {"cert": "client.crt", "key": "client.key", "ca": "ca.crt"}
QUERY_NAMES = {"cert": "tls-cert-file", "key": "tls-key-file", "ca": "tls-ca-cert-file"}
FLAGS = {"cert": "--meta-tls-cert", "key": "--meta-tls-key", "ca": "--meta-tls-ca"}


def validate(meta_url: str, files: dict[str, str]) -> dict[str, str]:
    files = {kind: path for kind, path in files.items() if path}
    if not files:
        return {}
    if not meta_url.startswith("rediss://"):
        raise UserError("TLS client files need a rediss:// metadata URL (Redis over TLS)")
    if ("cert" in files) != ("key" in files):
        raise UserError("give both --meta-tls-cert and --meta-tls-key (a client certificate needs its key)")
    for kind, path in files.items():
        flag = FLAGS[kind]
        if not path.startswith("/"):
            raise UserError(f"{flag} must be an absolute path")
        try:
            info = os.stat(path)
        except OSError:
            raise UserError(f"{flag} {path} does not exist") from None
        if not stat.S_ISREG(info.st_mode):
            raise UserError(f"{flag} {path} is not a regular file")
        if kind == "key" and (info.st_uid != 0 or info.st_mode & 0o077):
            raise UserError(f"{flag} {path} must be owned by root and readable by root only: chmod 600 {path}")
    return files


def url_with_files(meta_url: str, files: dict[str, str]) -> str:
    """The metadata URL plus the TLS query parameters (none for an empty mapping)."""
    if not files:
        return meta_url
    query = "&".join(f"{QUERY_NAMES[kind]}={quote(path, safe='/')}" for kind, path in sorted(files.items()))
    return f"{meta_url}{'&' if '?' in meta_url else '?'}{query}"


def install(tx: Transaction, name: str, files: dict[str, str]) -> dict[str, str]:
    """Copy the files to /etc/juicefs-guard/credentials/<fs>/ (0700), each root 0600; return the new paths."""
    from juicefs_guard.modes.common import make_directory, replace_file

    if not files:
        return {}
    directory = paths.credentials_subdir(name)
    make_directory(tx, directory, mode=0o700)
    installed = {}
    for kind, source in files.items():
        target = directory / INSTALLED_NAMES[kind]
        replace_file(tx, target, Path(source).read_bytes(), mode=0o600)
        installed[kind] = str(target)
    return installed
