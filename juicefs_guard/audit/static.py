"""Static checks, as root: what juicefs-guard installed is still what it recorded, and root-only stays so."""

from __future__ import annotations

import functools
import glob
import os
import socket
import stat
import tempfile
from pathlib import Path

from juicefs_guard import paths, registry
from juicefs_guard.audit.catalogue import CHECKS
from juicefs_guard.audit.context import Context
from juicefs_guard.audit.model import Finding, Status
from juicefs_guard.host import nft, users
from juicefs_guard.host.run import run
from juicefs_guard.wrappers import TEMP_PREFIX

PASS, FAIL, WARN, SKIP = Status.PASS, Status.FAIL, Status.WARN, Status.SKIP


def _f(check: str, ctx: Context, status: Status, evidence: str) -> Finding:
    return Finding.of(CHECKS[check], status, ctx.name, evidence)


def _mode(path: str | Path) -> tuple[int, int, int] | None:
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


def wrapper_mode(ctx: Context) -> list[Finding]:
    wrapper, gid = ctx.entry.get("wrapper", ""), ctx.entry.get("agent_gid")
    found = _mode(wrapper)
    if found is None:
        return [_f("JG-101", ctx, FAIL, f"{wrapper} is missing")]
    uid, group, mode = found
    evidence = f"{wrapper} is uid {uid} gid {group} mode {mode:04o} (expected 0:{gid} 0750)"
    ok = uid == 0 and group == gid and mode == 0o750 and not os.path.islink(wrapper)
    results = [_f("JG-101", ctx, PASS if ok else FAIL, evidence)]
    scripts = ctx.entry.get("scripts_dir", os.path.dirname(wrapper))
    found = _mode(scripts)
    if found is None:
        results.append(_f("JG-102", ctx, FAIL, f"{scripts} is missing"))
    else:
        uid, group, mode = found
        ok = uid == 0 and not mode & 0o002 and not (mode & 0o020 and group == gid)
        results.append(_f("JG-102", ctx, PASS if ok else FAIL, f"{scripts} is uid {uid} gid {group} mode {mode:04o}"))
    return results


def wrapper_hash(ctx: Context) -> Finding:
    wrapper = ctx.entry.get("wrapper", "")
    try:
        digest = registry.file_sha256(wrapper)
    except OSError as exc:
        return _f("JG-103", ctx, FAIL, f"cannot read {wrapper}: {exc.strerror}")
    ok = digest == ctx.entry.get("wrapper_sha256")
    return _f(
        "JG-103",
        ctx,
        PASS if ok else FAIL,
        f"sha256 {digest[:16]}... {'matches' if ok else 'differs from'} the registry",
    )


def leftovers(ctx: Context) -> Finding:
    home = ctx.account.home if ctx.account else ""
    roots = [ctx.entry.get("scripts_dir", ""), home]
    found: list[str] = []
    for root in filter(None, roots):
        for pattern in ("*.x.c", "*.sh.x.c", f"{ctx.name}.sh", "*.x"):
            found += glob.glob(os.path.join(root, "**", pattern), recursive=True)
    found += glob.glob(os.path.join(tempfile.gettempdir(), f"{TEMP_PREFIX}*"))
    found += glob.glob(f"/var/tmp/{TEMP_PREFIX}*")
    found = sorted(set(found))
    if found:
        return _f("JG-104", ctx, FAIL, "found " + ", ".join(found[:10]))
    return _f("JG-104", ctx, PASS, "no .sh/.x.c leftovers in the scripts dir or home, no build dirs in /tmp")


SEARCH_ROOTS = ("/tmp", "/var/tmp", "/dev/shm")


def readable_secret_copies(ctx: Context) -> Finding:
    """Searched as the agent, so 'readable' means readable by it; the values go to grep on stdin, never argv."""
    if ctx.account is None:
        return _f("JG-105", ctx, SKIP, f"agent {ctx.agent} does not exist")
    roots = [ctx.account.home, *SEARCH_ROOTS]
    roots = [r for r in roots if os.path.isdir(r)]
    if ctx.mode == "broker":
        if not ctx.secrets:
            reason = ctx.secrets_error or "this filesystem has no secret (keyless storage, no password)"
            return _f("JG-105", ctx, SKIP if ctx.secrets_error else PASS, reason)
        patterns = "\n".join(ctx.secrets.values()) + "\n"
        result = ctx.as_agent(
            ["grep", "-rlsIF", "--exclude-dir=.trash", "-f", "-", *roots], input_text=patterns, timeout=60
        )
        hits = [line for line in result.stdout.splitlines() if line and not _in_mount(ctx, line)]
        if hits:
            return _f("JG-105", ctx, FAIL, f"readable by {ctx.agent} and holding a secret: {', '.join(hits[:10])}")
        checked = ", ".join(sorted(ctx.secrets))
        return _f("JG-105", ctx, PASS, f"no file readable by {ctx.agent} under {', '.join(roots)} holds {checked}")
    # Embedded: root keeps only salted hashes; recognise copies among KEY=VALUE-looking lines of small files.
    result = ctx.as_agent(
        ["grep", "-rlsIE", "--exclude-dir=.trash", "(META_PASSWORD|ACCESS_KEY|SECRET_KEY|PASSWORD|SECRET)", *roots],
        timeout=60,
    )
    hits = []
    for path in [p for p in result.stdout.splitlines() if p and not _in_mount(ctx, p)][:50]:
        try:
            if os.path.getsize(path) > 1 << 20:
                continue
            text = Path(path).read_text(errors="replace")
        except OSError:
            continue
        keys = ctx.secret_in(text)
        if keys:
            hits.append(f"{path} ({', '.join(keys)})")
    if hits:
        return _f("JG-105", ctx, FAIL, "readable by the agent and holding a secret: " + ", ".join(hits))
    return _f("JG-105", ctx, PASS, "no KEY=VALUE file readable by the agent matches a recorded secret hash")


def _in_mount(ctx: Context, path: str) -> bool:
    return any(path.startswith(mp + "/") for mp in ctx.entry.get("mountpoints", []))


def credentials(ctx: Context) -> Finding:
    if ctx.mode != "broker":
        return _f("JG-106", ctx, SKIP, "embedded mode has no root-side credentials (they are in the wrapper)")
    problems, checked = [], []
    command = ctx.entry.get("secrets_command") or []
    targets: list[tuple[str, int]] = []
    if command:
        targets += [(part, 0o022) for part in command if part.startswith("/") and os.path.exists(part)]
    else:
        targets.append((str(paths.credentials_file(ctx.name)), 0o077))
    targets += [(p, 0o077) for p in ctx.entry.get("meta_tls_files", {}).values()]
    for path, forbidden in targets:
        found = _mode(path)
        checked.append(path)
        if found is None:
            if ctx.entry.get("secret_keys") or forbidden == 0o022:
                problems.append(f"{path} is missing")
            continue
        uid, _gid, mode = found
        key_like = path.endswith(".key") or path.endswith(".env")
        if uid != 0 or mode & forbidden or (key_like and mode & 0o077):
            problems.append(f"{path} is uid {uid} mode {mode:04o}")
    subdir = paths.credentials_subdir(ctx.name)
    if subdir.exists():
        uid, _gid, mode = _mode(subdir) or (0, 0, 0)
        if uid != 0 or mode & 0o077:
            problems.append(f"{subdir} is uid {uid} mode {mode:04o}")
    if problems:
        return _f("JG-106", ctx, FAIL, "; ".join(problems))
    return _f("JG-106", ctx, PASS, "root-only: " + (", ".join(checked) or "no credentials (keyless)"))


def registry_root_only(ctx: Context) -> Finding:
    problems = []
    for path, forbidden in ((paths.REGISTRY_DIR, 0o077), (paths.registry_entry(ctx.name), 0o077)):
        found = _mode(path)
        if found is None or found[0] != 0 or found[2] & forbidden:
            problems.append(f"{path} is {found}")
    if problems:
        return _f("JG-107", ctx, FAIL, "; ".join(problems))
    return _f("JG-107", ctx, PASS, f"{paths.registry_entry(ctx.name)} and its directory are root-only")


def logs_and_cache(ctx: Context) -> Finding:
    if ctx.mode != "broker":
        return _f("JG-108", ctx, SKIP, "embedded mode: the agent's daemon keeps its own log and cache")
    problems = []
    for directory in (paths.LOG_DIR, paths.CACHE_DIR, paths.CACHE_DIR / ctx.name):
        found = _mode(directory)
        if found and (found[0] != 0 or found[2] & 0o077):
            problems.append(f"{directory} is uid {found[0]} mode {found[2]:04o}")
    for path in glob.glob(str(paths.LOG_DIR / "*")):
        found = _mode(path)
        if found and (found[0] != 0 or found[2] & 0o077):
            problems.append(f"{path} is uid {found[0]} mode {found[2]:04o}")
    if problems:
        return _f("JG-108", ctx, FAIL, "; ".join(problems))
    return _f("JG-108", ctx, PASS, f"{paths.LOG_DIR} and {paths.CACHE_DIR} are root 0700, their files 0600")


def sudo_rights(ctx: Context) -> Finding:
    sudo = ctx.entry.get("sudo") or "/usr/bin/sudo"
    if not os.path.exists(sudo):
        if ctx.mode == "embedded":
            return _f("JG-201", ctx, PASS, "sudo is not installed: the agent has no sudo rights")
        return _f("JG-201", ctx, FAIL, "sudo is missing: broker mode cannot work")
    result = run([sudo, "-n", "-l", "-U", ctx.agent])
    text = result.stdout
    if "is not allowed to run sudo" in text or "not allowed" in result.stderr:
        if ctx.mode == "embedded":
            return _f("JG-201", ctx, PASS, f"{ctx.agent} may not run sudo")
        return _f("JG-201", ctx, FAIL, f"{ctx.agent} may not run sudo: the drop-in is not read")
    allowed = _sudo_commands(text)
    helper = ctx.entry.get("helper", str(paths.HELPER_PATH))
    ours = {line for line in allowed if line.startswith(helper + " ")}
    others = [line for line in allowed if line not in ours]
    expected = _expected_lines(ctx, helper)
    names = {line.split()[1] for line in ours if len(line.split()) > 1}
    foreign = sorted(names - {ctx.name} - _own_filesystems(ctx))
    if others or foreign:
        return _f("JG-201", ctx, FAIL, "extra rights: " + "; ".join(others + [f"helper for {n}" for n in foreign]))
    if ctx.mode == "broker" and not expected <= ours:
        return _f("JG-201", ctx, FAIL, f"missing helper lines: {sorted(expected - ours)[:3]}")
    return _f("JG-201", ctx, PASS, f"{len(ours)} helper command lines, nothing else")


def _own_filesystems(ctx: Context) -> set[str]:
    return {e["name"] for e in registry.entries() if e.get("agent") == ctx.agent}


def _expected_lines(ctx: Context, helper: str) -> set[str]:
    if ctx.mode != "broker":
        return set()
    lines = set()
    for action in ("mount", "umount", "status"):
        lines.add(f"{helper} {ctx.name} {action}")
        lines.update(f"{helper} {ctx.name} {action} {mp}" for mp in ctx.entry.get("mountpoints", []))
    return lines


def _sudo_commands(listing: str) -> list[str]:
    """The command entries of `sudo -l -U` (after 'may run the following commands'), one string each."""
    if "may run the following commands" not in listing:
        return []
    body = listing.split("may run the following commands", 1)[1].split("\n", 1)[1]
    rules, current = [], ""
    for line in body.splitlines():
        if line.startswith("    (") and current:
            rules.append(current)
            current = line.strip()
        else:
            current += " " + line.strip()
    if current.strip():
        rules.append(current.strip())
    commands = []
    for rule in rules:
        spec = rule.split(")", 1)[1] if rule.startswith("(") else rule
        for tag in ("NOPASSWD:", "PASSWD:", "SETENV:", "NOEXEC:", "EXEC:"):
            spec = spec.replace(tag, "")
        commands += [" ".join(part.split()) for part in spec.split(",") if part.strip()]
    return commands


def sudoers_dropin(ctx: Context) -> Finding:
    if ctx.mode != "broker":
        exists = paths.sudoers_dropin(ctx.name).exists()
        return _f(
            "JG-202",
            ctx,
            FAIL if exists else PASS,
            "embedded mode " + ("has an unexpected drop-in" if exists else "installs no sudoers drop-in"),
        )
    path = paths.sudoers_dropin(ctx.name)
    found = _mode(path)
    if found is None:
        return _f("JG-202", ctx, FAIL, f"{path} is missing")
    problems = []
    if found[0] != 0 or found[2] != 0o440:
        problems.append(f"{path} is uid {found[0]} mode {found[2]:04o}")
    if "." in path.name or path.name.endswith("~"):
        problems.append(f"{path.name} would be ignored by #includedir")
    if registry.file_sha256(path) != ctx.entry.get("sudoers_sha256"):
        problems.append("its content differs from what init wrote")
    if problems:
        return _f("JG-202", ctx, FAIL, "; ".join(problems))
    return _f("JG-202", ctx, PASS, f"{path} 0440, unchanged since init")


def dangerous_groups(ctx: Context) -> Finding:
    if ctx.account is None:
        return _f("JG-203", ctx, SKIP, f"agent {ctx.agent} does not exist")
    bad = users.dangerous_memberships(ctx.agent)
    if bad:
        return _f("JG-203", ctx, FAIL, f"{ctx.agent} is in {', '.join(bad)}")
    return _f("JG-203", ctx, PASS, f"{ctx.agent} is in none of {', '.join(users.DANGEROUS_GROUPS)}")


def root_executes(ctx: Context) -> Finding:
    targets = [ctx.entry.get("juicefs", "")]
    if ctx.mode == "broker":
        targets += [ctx.entry.get("helper", ""), ctx.entry.get("python", ""), ctx.entry.get("sudo", "")]
    helper_files, problems = _helper_files(ctx) if ctx.mode == "broker" else ([], [])
    targets += helper_files
    uid = ctx.account.uid if ctx.account else -1
    gids = set(os.getgrouplist(ctx.agent, ctx.account.gid)) if ctx.account else set()
    for target in filter(None, targets):
        real = os.path.realpath(target)
        chain = [real]
        parent = os.path.dirname(real)
        while True:
            chain.append(parent)
            if parent == "/":
                break
            parent = os.path.dirname(parent)
        for path in chain:
            found = _mode(path)
            if found is None:
                problems.append(f"{path} is missing")
                continue
            owner, group, mode = found
            if owner == uid or owner != 0 or mode & 0o002 or (mode & 0o020 and group in gids):
                problems.append(f"{path} (uid {owner} gid {group} mode {mode:04o})")
    juicefs = ctx.entry.get("juicefs")
    if juicefs and os.path.exists(juicefs) and _sha256_once(juicefs) != ctx.entry.get("juicefs_sha256"):
        problems.append(f"{juicefs} differs from its recorded hash")
    if problems:
        return _f("JG-204", ctx, FAIL, "not root's alone: " + "; ".join(sorted(set(problems))[:8]))
    return _f("JG-204", ctx, PASS, "root-owned and not writable by the agent: " + ", ".join(filter(None, targets)))


def _sha256_once(path: str) -> str:
    """The client is shared by every filesystem and is large (about 80 MB): hash it once per audit. The key
    holds what any change of the file changes (ctime included), so a swap during the audit is still seen."""
    info = os.stat(path)
    return _sha256_of(path, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


@functools.lru_cache(maxsize=16)
def _sha256_of(path: str, inode: int, size: int, mtime_ns: int, ctime_ns: int) -> str:
    return registry.file_sha256(path)


@functools.lru_cache(maxsize=4)
def _compiled_helper(interpreter: str) -> tuple[Path, bytes]:
    """Once per audit and interpreter, not once per filesystem: one helper serves them all."""
    from juicefs_guard.modes.broker import compile_helper

    return compile_helper(interpreter)


def _helper_files(ctx: Context) -> tuple[list[str], list[str]]:
    """The helper's module and bytecode, and how they, and the stub sudo runs, differ from what this
    juicefs-guard installs now (one helper serves every filesystem and each init rewrites it)."""
    from juicefs_guard.errors import OperationFailed
    from juicefs_guard.modes.broker import helper_source, helper_stub

    interpreter = ctx.entry.get("python") or "/usr/bin/python3"
    expected = [(str(paths.HELPER_MODULE), helper_source().encode())]
    if ctx.entry.get("helper"):
        expected.append((ctx.entry["helper"], helper_stub(interpreter).encode()))
    problems = []
    try:
        cache_path, bytecode = _compiled_helper(interpreter)
        expected.append((str(cache_path), bytecode))
    except OperationFailed as exc:
        problems.append(str(exc))
    for path, content in expected:
        try:
            with open(path, "rb") as handle:
                if handle.read() != content:
                    problems.append(f"{path} differs from the helper this juicefs-guard installs")
        except OSError:
            problems.append(f"{path} is missing")
    return [path for path, _ in expected], problems


def meta_without_password(ctx: Context) -> Finding:
    url = ctx.entry.get("meta_url", "")
    scheme = url.split("://", 1)[0]
    if scheme not in ("redis", "rediss"):
        return _f("JG-205", ctx, SKIP, f"{scheme}:// engine: only Redis is probed")
    if scheme == "rediss":
        return _f("JG-205", ctx, SKIP, "rediss:// with client certificates: a probe without them cannot connect")
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=3) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            reply = sock.recv(64)
    except OSError as exc:
        return _f("JG-205", ctx, SKIP, f"cannot reach {parts.hostname}:{parts.port}: {exc.strerror or exc}")
    if reply.startswith(b"+PONG"):
        return _f("JG-205", ctx, FAIL, f"{parts.hostname}:{parts.port} answered PING without a password")
    return _f("JG-205", ctx, PASS, f"{parts.hostname}:{parts.port} requires authentication ({reply[:20]!r})")


def nft_block(ctx: Context) -> Finding:
    if not ctx.entry.get("nft_block"):
        return _f("JG-206", ctx, SKIP, "not requested at init (--block-meta-for-agent)")
    loaded = nft.is_installed(ctx.name, ctx.entry.get("agent_uid", -1))
    if loaded is None:
        return _f("JG-206", ctx, FAIL, "nft is not installed any more")
    if not loaded:
        return _f("JG-206", ctx, FAIL, f"chain inet {nft.TABLE} {nft.chain_name(ctx.name)} is not loaded")
    return _f("JG-206", ctx, PASS, f"uid {ctx.entry.get('agent_uid')} is rejected towards the metadata engine")


ALL = (
    wrapper_mode,
    wrapper_hash,
    leftovers,
    readable_secret_copies,
    credentials,
    registry_root_only,
    logs_and_cache,
    sudo_rights,
    sudoers_dropin,
    dangerous_groups,
    root_executes,
    meta_without_password,
    nft_block,
)
