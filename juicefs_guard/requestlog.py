"""Who knocked on the door: the helper's JSON-lines log and sudo's per-agent log of refused attempts (sudo
refuses a mountpoint or action outside the exact rules before the helper ever runs)."""

from __future__ import annotations

import datetime
import glob
import json
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from juicefs_guard import paths
from juicefs_guard.errors import UserError

SUDO_REFUSALS = ("a password is required", "command not allowed", "user NOT in sudoers", "incorrect password")
_SUDO_HEAD = re.compile(r"^(?P<stamp>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) : (?P<user>[^ ]+) : (?P<rest>.*)$")


@dataclass
class Request:
    time: str
    source: str  # "helper" or "sudo"
    user: str
    uid: int | None
    filesystem: str
    action: str
    mountpoint: str
    outcome: str
    reason: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def when(self) -> datetime.datetime:
        return parse_time(self.time)


def parse_time(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _lines_from(path: str, offset: int) -> list[str]:
    """The lines after byte `offset` (from the start if the file shrank: it was rotated)."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(offset if offset <= size else 0)
            return handle.read().decode("utf-8", "replace").splitlines()
    except FileNotFoundError:
        return []


def log_files() -> list[str]:
    return [str(paths.HELPER_LOG), *sorted(glob.glob(str(paths.LOG_DIR / "sudo-*.log")))]


def current_offsets() -> dict[str, int]:
    return {path: os.path.getsize(path) for path in log_files() if os.path.exists(path)}


def helper_requests(path: str | None = None, offset: int = 0) -> Iterator[Request]:
    for line in _lines_from(path or str(paths.HELPER_LOG), offset):
        try:
            data = json.loads(line)
            yield Request(
                data["time"],
                "helper",
                data.get("user", "?"),
                data.get("uid"),
                data.get("filesystem", ""),
                data.get("action", ""),
                data.get("mountpoint", ""),
                data.get("outcome", ""),
                data.get("reason", ""),
            )
        except (ValueError, KeyError, TypeError):
            continue


def sudo_requests(
    pattern: str | None = None, year: int | None = None, offsets: dict[str, int] | None = None
) -> Iterator[Request]:
    """Entries of sudo's logfile (`Defaults:<agent> logfile=`), continuation lines joined. sudo writes local
    time without a year: the current year is assumed."""
    year = year or datetime.datetime.now().year
    helper = str(paths.HELPER_PATH)
    for path in sorted(glob.glob(pattern or str(paths.LOG_DIR / "sudo-*.log"))):
        entries, current = [], ""
        for line in _lines_from(path, (offsets or {}).get(path, 0)):
            if _SUDO_HEAD.match(line):
                if current:
                    entries.append(current)
                current = line
            else:
                current += " " + line.strip()
        if current:
            entries.append(current)
        for entry in entries:
            match = _SUDO_HEAD.match(entry)
            if not match:
                continue
            rest = match["rest"]
            command = rest.split("COMMAND=", 1)[1].strip() if "COMMAND=" in rest else ""
            refused = next((reason for reason in SUDO_REFUSALS if reason in rest), "")
            words = command.split()
            fs = words[1] if words[:1] == [helper] and len(words) > 1 else ""
            action = words[2] if words[:1] == [helper] and len(words) > 2 else ""
            stamp = datetime.datetime.strptime(f"{year} {match['stamp']}", "%Y %b %d %H:%M:%S").astimezone()
            yield Request(
                stamp.isoformat(timespec="seconds"),
                "sudo",
                match["user"],
                None,
                fs,
                action,
                " ".join(words[3:]),
                "refused" if refused else "allowed",
                f"sudo: {refused}; command: {command}" if refused else "",
            )


def all_requests(since: datetime.datetime | None = None, offsets: dict[str, int] | None = None) -> list[Request]:
    """Every request, or those after `since`, or those logged after the byte `offsets` of an earlier read."""
    offsets = offsets or {}
    helper_log = str(paths.HELPER_LOG)
    found = [*helper_requests(helper_log, offsets.get(helper_log, 0)), *sudo_requests(offsets=offsets)]
    if since is not None:
        found = [r for r in found if _safe_when(r) >= since]
    # sudo logs the allowed helper calls too; the helper's own line says more, so keep sudo's refusals only.
    found = [r for r in found if r.source == "helper" or r.outcome == "refused"]
    return sorted(found, key=_safe_when)


def _safe_when(request: Request) -> datetime.datetime:
    try:
        return request.when
    except ValueError:
        return datetime.datetime.min.replace(tzinfo=datetime.UTC)


def parse_since(text: str) -> datetime.datetime:
    """'30m', '12h', '7d' back from now, or an ISO date/time."""
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    now = datetime.datetime.now(datetime.UTC)
    if match:
        seconds = int(match[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]
        return now - datetime.timedelta(seconds=seconds)
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"--since {text!r} is neither a duration (30m, 12h, 7d) nor an ISO date (2026-11-24)") from None
    return value if value.tzinfo else value.astimezone()
