"""Defense in depth around the guard, and the request log: host settings that make a leak harder to use or to
get, and refused requests since the last audit (warn: someone probes the boundary)."""

from __future__ import annotations

import os
import shutil
import stat

from juicefs_guard.audit.catalogue import CHECKS
from juicefs_guard.audit.context import Context
from juicefs_guard.audit.model import Finding, Status
from juicefs_guard.requestlog import all_requests

PASS, FAIL, WARN, SKIP = Status.PASS, Status.FAIL, Status.WARN, Status.SKIP
HOST = "host"


def _h(check: str, status: Status, evidence: str, target: str = HOST) -> Finding:
    return Finding.of(CHECKS[check], status, target, evidence)


def _sysctl(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return None


def ptrace_scope() -> Finding:
    value = _sysctl("/proc/sys/kernel/yama/ptrace_scope")
    if value is None:
        return _h("JG-401", SKIP, "the kernel has no Yama LSM (/proc/sys/kernel/yama/ptrace_scope is absent)")
    return _h("JG-401", PASS if int(value) >= 1 else WARN, f"kernel.yama.ptrace_scope = {value}")


def hidepid() -> Finding:
    for line in mount_table_options():
        point, fstype, options = line
        if point == "/proc" and fstype == "proc":
            hidden = any(opt.startswith("hidepid=") and opt not in ("hidepid=0", "hidepid=off") for opt in options)
            return _h("JG-402", PASS if hidden else WARN, f"/proc mounted with {','.join(options)}")
    return _h("JG-402", SKIP, "/proc is not in the mount table")


def mount_table_options() -> list[tuple[str, str, list[str]]]:
    rows = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if len(fields) >= 6 and len(tail) >= 3:
                rows.append((fields[4], tail[0], fields[5].split(",") + tail[2].split(",")))
    return rows


def suid_dumpable() -> Finding:
    value = _sysctl("/proc/sys/fs/suid_dumpable")
    if value is None:
        return _h("JG-403", SKIP, "/proc/sys/fs/suid_dumpable is not readable")
    return _h("JG-403", PASS if value == "0" else WARN, f"fs.suid_dumpable = {value}")


def fuse_and_mount_options(ctx: Context) -> Finding:
    try:
        info = os.stat("/dev/fuse")
    except OSError:
        return Finding.of(CHECKS["JG-404"], FAIL, ctx.name, "/dev/fuse does not exist")
    problems = []
    if not stat.S_ISCHR(info.st_mode) or info.st_uid != 0:
        problems.append("/dev/fuse is not a root-owned character device")
    mode = stat.S_IMODE(info.st_mode)
    if ctx.mode == "embedded" and mode & 0o006 != 0o006:
        problems.append(f"/dev/fuse is {mode:04o}: the agent cannot mount (expected 0666)")
    options = {point: opts for point, _t, opts in mount_table_options()}
    for mountpoint in ctx.mounted:
        opts = options.get(mountpoint, [])
        if ctx.mode == "broker" and "allow_other" not in opts:
            problems.append(f"{mountpoint} lacks allow_other: the agent cannot use it")
        if ctx.mode == "embedded" and "allow_other" in opts:
            problems.append(f"{mountpoint} has allow_other: other users can reach the agent's daemon")
        problems += [f"{mountpoint} lacks {opt}" for opt in ("nosuid", "nodev") if opt not in opts]
    if problems:
        return Finding.of(CHECKS["JG-404"], FAIL, ctx.name, "; ".join(problems))
    mounted = f"; mounted with the expected options at {', '.join(ctx.mounted)}" if ctx.mounted else "; not mounted"
    return Finding.of(CHECKS["JG-404"], PASS, ctx.name, f"/dev/fuse {mode:04o}{mounted}")


def persistence(ctx: Context) -> Finding:
    if ctx.account is None:
        return Finding.of(CHECKS["JG-405"], SKIP, ctx.name, f"agent {ctx.agent} does not exist")
    notes = []
    if not ctx.account.shell.endswith(("nologin", "false")):
        notes.append(f"login shell {ctx.account.shell}")
    for tool, deny in (("crontab", "/etc/cron.deny"), ("at", "/etc/at.deny")):
        if shutil.which(tool) is None:
            continue
        allow = deny.replace(".deny", ".allow")
        if os.path.exists(allow):
            allowed = ctx.agent in _names(allow)
        else:
            allowed = ctx.agent not in _names(deny)
        if allowed:
            notes.append(f"may use {tool}")
    if notes:
        return Finding.of(CHECKS["JG-405"], WARN, ctx.name, f"{ctx.agent}: " + ", ".join(notes))
    return Finding.of(CHECKS["JG-405"], PASS, ctx.name, f"{ctx.agent}: no login shell, no cron or at")


def _names(path: str) -> set[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return {line.strip() for line in handle if line.strip()}
    except OSError:
        return set()


def refused_requests(offsets: dict[str, int] | None, since: str = "") -> Finding:
    refused = [r for r in all_requests(offsets=offsets or {}) if r.outcome == "refused"]
    window = f"since the last audit ({since})" if offsets is not None else "in the whole log (first audit)"
    if not refused:
        return _h("JG-406", PASS, f"no refused request {window}")
    lines = [f"{r.time} {r.user} {r.filesystem or '?'} {r.action} {r.mountpoint}: {r.reason}".strip() for r in refused]
    return _h("JG-406", WARN, f"{len(refused)} refused {window}: " + " | ".join(lines[-5:]))


HOST_CHECKS = (ptrace_scope, hidepid, suid_dumpable)
PER_FS = (fuse_and_mount_options, persistence)
