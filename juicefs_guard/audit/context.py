"""What every check of one filesystem needs, gathered once: the registry entry, the agent's account, the
secrets root knows (broker) or their salted hashes (embedded), and the juicefs processes serving it."""

from __future__ import annotations

import os
import shlex
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import psutil

from juicefs_guard import registry
from juicefs_guard.helper import Failed, mount_table, read_credentials
from juicefs_guard.host import users
from juicefs_guard.host.run import run_as
from juicefs_guard.secrets import SECRET_KEYS


@dataclass
class Context:
    entry: dict[str, Any]
    account: users.Account | None
    secrets: dict[str, str] = field(default_factory=dict)
    secrets_error: str = ""
    pids: list[int] = field(default_factory=list)
    mounted: list[str] = field(default_factory=list)
    _results: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        """One result per audit for work that several checks share (checks of one filesystem run in parallel)."""
        with self._lock:
            if key not in self._results:
                self._results[key] = compute()
            return self._results[key]

    @property
    def name(self) -> str:
        return self.entry["name"]

    @property
    def agent(self) -> str:
        return self.entry["agent"]

    @property
    def mode(self) -> str:
        return self.entry["mode"]

    def as_agent(self, argv: list[str], *, input_text: str | None = None, timeout: float = 30):
        return run_as(self.agent, argv, input_text=input_text, timeout=timeout)

    def secret_in(self, text: str) -> list[str]:
        """Names (never values) of the secrets that occur in text: exact match in broker mode, salted hashes of
        candidate tokens in embedded mode (root does not keep the values there)."""
        if self.secrets:
            return sorted(key for key, value in self.secrets.items() if value and value in text)
        return sorted({key for key, _ in self.hash_matches(_candidates(text))})

    def hash_matches(self, candidates: Iterable[str]) -> list[tuple[str, str]]:
        found = []
        keys = list(self.entry.get("secret_hashes", {}))
        for candidate in list(dict.fromkeys(candidates))[:400]:
            for key in keys:
                if registry.matches_secret(self.entry, key, candidate):
                    found.append((key, candidate))
        return found


def _candidates(text: str) -> list[str]:
    """Tokens that could be a secret: whole lines, values after '=', NUL-separated environment entries."""
    out = []
    for line in text.replace("\0", "\n").splitlines():
        line = line.strip()
        if not line or len(line) > 4096:
            continue
        out.append(line)
        if "=" in line:
            value = line.split("=", 1)[1].strip()
            out.append(value)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                out.append(value[1:-1])
            try:  # a shell assignment: export KEY='it'"'"'s' is the value it's
                words = shlex.split(value)
            except ValueError:
                words = []
            if len(words) == 1:
                out.append(words[0])
    return out


def juicefs_processes() -> list[tuple[int, str, str]]:
    """(pid, command line, user) of every juicefs mount process, one scan of /proc for the whole audit."""
    found = []
    for process in psutil.process_iter(["cmdline", "username", "name"]):
        try:
            cmdline = " ".join(process.info["cmdline"] or [])
        except (psutil.Error, TypeError):
            continue
        if "juicefs" not in (process.info["name"] or "") and "juicefs" not in cmdline.split(" ")[0]:
            continue
        if " mount " in f" {cmdline} ":
            found.append((process.pid, cmdline, process.info["username"] or ""))
    return found


def juicefs_pids(entry: dict[str, Any], mountpoints: list[str], processes=None) -> list[int]:
    """juicefs processes serving this filesystem. JuiceFS rewrites (and may cut) its command line, so also match
    on the broker's per-filesystem cache dir and, in embedded mode, on the agent as owner."""
    return [
        pid
        for pid, cmdline, user in (juicefs_processes() if processes is None else processes)
        if any(mp in cmdline for mp in mountpoints)
        or f"/juicefs-guard/{entry['name']} " in cmdline
        or (entry["mode"] == "embedded" and user == entry["agent"])
    ]


def build(entry: dict[str, Any], processes=None, table=None) -> Context:
    """`processes` (juicefs_processes()) and `table` (mount_table()) once for all filesystems of an audit."""
    context = Context(entry=entry, account=users.lookup(entry["agent"]))
    if entry["mode"] == "broker":
        try:
            context.secrets = {k: v for k, v in read_credentials(entry).items() if k in SECRET_KEYS and v}
        except (Failed, OSError) as exc:
            context.secrets_error = str(exc)
    table = mount_table() if table is None else table
    context.mounted = [mp for mp in entry.get("mountpoints", []) if table.get(mp, "").startswith("fuse.juicefs")]
    context.pids = juicefs_pids(entry, entry.get("mountpoints", []), processes)
    return context


def readable_by(path: str, uid: int, gids: set[int]) -> bool:
    try:
        info = os.stat(path)
    except OSError:
        return False
    if info.st_uid == uid:
        return bool(info.st_mode & 0o400)
    if info.st_gid in gids:
        return bool(info.st_mode & 0o040)
    return bool(info.st_mode & 0o004)
