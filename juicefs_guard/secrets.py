"""Secret values and the only places they may come from: a hidden prompt, an environment variable, a
root-owned 0600 file, or stdin. Never a command-line flag: argv is visible to every user through `ps`."""

from __future__ import annotations

import base64
import os
import stat
import sys
from collections.abc import Mapping

from juicefs_guard.errors import UserError
from juicefs_guard.helper import decode_b64, secret_lines

SECRET_KEYS = ("META_PASSWORD", "ACCESS_KEY", "SECRET_KEY")


class Secret:
    """A string that will not print itself: `repr`, `str` and f-strings show a placeholder."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if "\0" in value:
            raise UserError("a secret holds a NUL byte, which no environment variable can carry; remove it")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


Secrets = dict[str, Secret]


def parse_secrets_text(text: str, origin: str) -> Secrets:
    """`KEY=VALUE` lines with JuiceFS's own names. A value is taken verbatim (quotes, `$`, spaces are data).

    A value that holds a line break is written `KEY:b64=<base64>`; blank lines and `#` comments are skipped.
    """
    secrets: Secrets = {}
    for number, key, value in secret_lines(text):
        if value is None:
            raise UserError(f"{origin} line {number} is not KEY=VALUE; write e.g. META_PASSWORD=...")
        if key.endswith(":b64"):
            key = key[: -len(":b64")]
            try:
                value = decode_b64(value)
            except ValueError:
                raise UserError(f"{origin} line {number}: {key}:b64 is not valid base64 of UTF-8 text") from None
        if key not in SECRET_KEYS:
            raise UserError(f"{origin} line {number}: unknown key {key!r}; allowed keys: {', '.join(SECRET_KEYS)}")
        if key in secrets:
            raise UserError(f"{origin} line {number}: {key} is set twice; keep one line per key")
        if value == "":
            raise UserError(f"{origin} line {number}: {key} is empty; remove the line or give it a value")
        secrets[key] = Secret(value)
    return secrets


def check_secrets_file_safe(st: os.stat_result, path: str) -> None:
    """Refuse a file others could have read or written, as ssh refuses an open private key."""
    if not stat.S_ISREG(st.st_mode):
        raise UserError(f"secrets file {path} is not a regular file; give the path of a KEY=VALUE file")
    if st.st_uid != 0:
        raise UserError(f"secrets file {path} is not owned by root; run: chown root:root {path}")
    if st.st_mode & 0o077:
        raise UserError(
            f"secrets file {path} has mode {stat.S_IMODE(st.st_mode):04o}, readable by others; run: chmod 600 {path}"
        )


def read_secrets_file(path: str) -> Secrets:
    """Read secrets from a root-owned 0600 file, or from stdin when `path` is `-`."""
    if path == "-":
        return parse_secrets_text(sys.stdin.read(), "stdin")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise UserError(f"secrets file {path} does not exist; create it (mode 600) with KEY=VALUE lines") from None
    except OSError as exc:
        raise UserError(f"cannot open secrets file {path}: {exc.strerror}; give a regular root-owned file") from None
    try:
        check_secrets_file_safe(os.fstat(fd), path)
        with os.fdopen(fd, "r", encoding="utf-8", closefd=False) as handle:
            text = handle.read()
    except UnicodeDecodeError:
        raise UserError(f"secrets file {path} is not UTF-8 text; write KEY=VALUE lines") from None
    finally:
        os.close(fd)
    return parse_secrets_text(text, f"secrets file {path}")


def render_secrets_text(secrets: Mapping[str, Secret]) -> str:
    """The inverse of `parse_secrets_text`, for the root-only credentials file."""
    lines = []
    for key in SECRET_KEYS:
        if key in secrets:
            value = secrets[key].reveal()
            if value.splitlines() != [value]:  # any line break, by any definition, goes base64
                encoded = base64.b64encode(value.encode("utf-8")).decode("ascii")
                lines.append(f"{key}:b64={encoded}\n")
            else:
                lines.append(f"{key}={value}\n")
    return "".join(lines)


def secrets_environment(secrets: Mapping[str, Secret]) -> dict[str, str]:
    """The environment variables JuiceFS reads the secrets from."""
    return {key: secret.reveal() for key, secret in secrets.items()}
