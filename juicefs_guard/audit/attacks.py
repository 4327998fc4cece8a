"""Attack simulations, each run as the agent through a real privilege drop (setpriv): what the agent can see
is what these checks see. A check that cannot run says skip, with the reason."""

from __future__ import annotations

import glob
import re
import secrets
import shutil

from juicefs_guard import paths
from juicefs_guard.audit.catalogue import CHECKS
from juicefs_guard.audit.context import Context
from juicefs_guard.audit.model import Finding, Status

PASS, FAIL, WARN, SKIP = Status.PASS, Status.FAIL, Status.WARN, Status.SKIP


def _f(check: str, ctx: Context, status: Status, evidence: str) -> Finding:
    return Finding.of(CHECKS[check], status, ctx.name, evidence)


def _no_agent(check: str, ctx: Context) -> Finding | None:
    if ctx.account is None:
        return _f(check, ctx, SKIP, f"agent {ctx.agent} does not exist")
    return None


def _no_daemon(check: str, ctx: Context) -> Finding | None:
    """The checks that attack the daemons: skip without an agent or without a daemon to attack."""
    if skipped := _no_agent(check, ctx):
        return skipped
    if not ctx.pids:
        return _f(check, ctx, SKIP, "no juicefs process serves this filesystem (nothing mounted)")
    return None


def strings_of_wrapper(ctx: Context) -> Finding:
    if skipped := _no_agent("JG-301", ctx):
        return skipped
    if shutil.which("strings") is None:
        return _f("JG-301", ctx, SKIP, "strings (binutils) is not installed")
    result = ctx.as_agent(["strings", "-a", "-n", "4", ctx.entry["wrapper"]], timeout=60)
    if result.returncode != 0:
        return _f("JG-301", ctx, PASS, f"the agent cannot read its wrapper: {result.stderr.strip()[:120]}")
    keys = ctx.secret_in(result.stdout)
    if keys:
        return _f("JG-301", ctx, FAIL, f"strings of {ctx.entry['wrapper']} shows {', '.join(keys)}")
    how = "known values" if ctx.secrets else "salted hashes of its lines"
    return _f(
        "JG-301",
        ctx,
        PASS,
        f"{len(result.stdout.splitlines())} strings read as {ctx.agent}; no secret among them ({how})",
    )


_STRACE_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_C_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "v": "\v", "f": "\f", "a": "\a", "b": "\b", '"': '"', "\\": "\\"}


def strace_strings(line: str) -> list[str]:
    """The quoted strings of one strace line, C escapes decoded: strace prints `"...\\n..."`, and a secret
    inside a script only matches after decoding."""
    found = []
    for match in _STRACE_STRING.finditer(line):
        raw, out, pos = match.group(1), bytearray(), 0
        while pos < len(raw):
            if raw[pos] == "\\" and pos + 1 < len(raw):
                code = raw[pos + 1]
                octal = re.match(r"[0-7]{1,3}", raw[pos + 1 : pos + 4])
                if code == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", raw[pos + 2 : pos + 4]):
                    out.append(int(raw[pos + 2 : pos + 4], 16))
                    pos += 4
                elif octal:
                    out.append(int(octal.group(0), 8) & 0xFF)
                    pos += 1 + len(octal.group(0))
                else:
                    out += _C_ESCAPES.get(code, code).encode()
                    pos += 2
            else:
                out += raw[pos].encode()
                pos += 1
        found.append(out.decode("utf-8", "replace"))
    return found


def wrapper_trace(ctx: Context) -> str:
    """`strace -f` of the wrapper as the agent, run once per audit and shared by JG-302 and JG-304."""

    def trace() -> str:
        if ctx.mode == "embedded":
            # Running `status` of an embedded wrapper is harmless and decrypts the whole script in memory.
            action = "status"
        else:
            action = "--usage"
        argv = ["strace", "-f", "-s", "9999", "-e", "trace=execve,write", ctx.entry["wrapper"], action]
        result = ctx.as_agent(argv, timeout=60)
        return result.stdout + result.stderr

    return ctx.once("wrapper-trace", trace)


def strace_of_wrapper(ctx: Context) -> Finding:
    if skipped := _no_agent("JG-302", ctx):
        return skipped
    if shutil.which("strace") is None:
        return _f("JG-302", ctx, SKIP, "strace is not installed (apt-get install strace)")
    trace = wrapper_trace(ctx)
    if "execve(" not in trace:
        return _f("JG-302", ctx, SKIP, f"strace could not trace the wrapper: {trace.strip()[-160:]}")
    decoded = "\n".join(text for line in trace.splitlines() for text in strace_strings(line))
    keys = ctx.secret_in(decoded + "\n" + trace)
    if keys:
        return _f("JG-302", ctx, FAIL, f"strace -f of the wrapper as {ctx.agent} prints {', '.join(keys)}")
    return _f(
        "JG-302", ctx, PASS, f"strace -f of the wrapper as {ctx.agent}: {trace.count('execve(')} execve, no secret"
    )


# One shell as the agent prints each file after a marker line; the marker is random per run, so content the agent
# controls (its own daemon's environment, in embedded mode) cannot forge one.
_CAT_EACH = (
    'm=$1; shift; for p do printf "\\n%s %s\\n" "$m" "$p"; cat -- "$p" 2>/dev/null || printf "\\n%s!\\n" "$m"; done'
)


def read_files_as_agent(ctx: Context, files: list[str]) -> dict[str, str | None]:
    """path -> its content as the agent reads it, or None when the agent cannot: one privilege drop for all."""
    marker = "JFG-" + secrets.token_hex(16)
    result = ctx.as_agent(["/bin/sh", "-c", _CAT_EACH, "sh", marker, *files], timeout=30)
    contents: dict[str, str | None] = dict.fromkeys(files)
    for chunk in result.stdout.split(f"\n{marker} ")[1:]:
        path, _, body = chunk.partition("\n")
        contents[path] = None if body.endswith(f"\n{marker}!\n") else body
    return contents


def proc_files(ctx: Context) -> dict[str, str | None]:
    """/proc/<pid>/environ and cmdline of every daemon, read once per audit for JG-303 and JG-304."""
    files = [f"/proc/{pid}/{name}" for pid in ctx.pids for name in ("environ", "cmdline")]
    return ctx.once("proc-files", lambda: read_files_as_agent(ctx, files))


def proc_environ(ctx: Context) -> Finding:
    if skipped := _no_daemon("JG-303", ctx):
        return skipped
    exposed, readable = [], []
    contents = proc_files(ctx)
    for pid in ctx.pids:
        text = contents.get(f"/proc/{pid}/environ")
        if text is None:
            continue
        readable.append(str(pid))
        names = _env_secret_names(ctx, text)
        if names:
            exposed.append(f"pid {pid}: {', '.join(names)}")
    if exposed:
        return _f("JG-303", ctx, FAIL, f"{ctx.agent} reads /proc/<pid>/environ holding " + "; ".join(exposed))
    detail = f"readable but secret-free: {', '.join(readable)}" if readable else "unreadable for the agent"
    return _f("JG-303", ctx, PASS, f"environ of pids {', '.join(map(str, ctx.pids))}: {detail}")


def _env_secret_names(ctx: Context, environ: str) -> list[str]:
    names = set(ctx.secret_in(environ))
    for item in environ.split("\0"):
        key, _, value = item.partition("=")
        if key in ("META_PASSWORD", "ACCESS_KEY", "SECRET_KEY") and value:
            if ctx.secrets.get(key) == value or ctx.hash_matches([value]) or not ctx.entry.get("secret_hashes"):
                names.add(key)
    return sorted(names)


def proc_cmdline(ctx: Context) -> Finding:
    """The daemons' command lines, and the shell that an shc binary starts: it gets the decrypted script as an
    argument, so while the wrapper runs every local user can read it from /proc/<pid>/cmdline."""
    if skipped := _no_agent("JG-304", ctx):
        return skipped
    if shutil.which("strace") is not None:
        for line in wrapper_trace(ctx).splitlines():
            if "execve(" not in line:
                continue
            strings = strace_strings(line)
            keys = ctx.secret_in("\n".join(strings))
            if keys:
                program = (strings or ["?"])[0]
                return _f(
                    "JG-304",
                    ctx,
                    FAIL,
                    f"the wrapper execs {program} with {', '.join(keys)} in its arguments: while it runs, any local "
                    "user reads them from /proc/<pid>/cmdline",
                )
    if not ctx.pids:
        return _f("JG-304", ctx, SKIP, "no juicefs process serves this filesystem (nothing mounted)")
    contents = proc_files(ctx)
    for pid in ctx.pids:
        text = contents.get(f"/proc/{pid}/cmdline")
        keys = ctx.secret_in(text.replace("\0", "\n")) if text is not None else []
        if keys:
            return _f("JG-304", ctx, FAIL, f"/proc/{pid}/cmdline shows {', '.join(keys)}")
    return _f("JG-304", ctx, PASS, f"command lines of pids {', '.join(map(str, ctx.pids))} hold no secret")


def ptrace_and_mem(ctx: Context) -> Finding:
    if skipped := _no_daemon("JG-305", ctx):
        return skipped
    pid = str(ctx.pids[-1])
    # One privilege drop for both attempts: read a page of the daemon's memory, then ptrace-attach to it.
    marker = "JFG-" + secrets.token_hex(8)
    has_strace = shutil.which("strace") is not None
    script = (
        'if dd if=/proc/"$1"/mem of=/dev/null bs=4096 count=1 skip=16 2>/dev/null; then echo "$2"; fi; '
        'if [ "$3" = yes ]; then timeout 3 strace -p "$1" -e trace=none 2>&1; fi'
    )
    probe = ctx.as_agent(["/bin/sh", "-c", script, "sh", pid, marker, "yes" if has_strace else "no"], timeout=15)
    mem_ok = marker in probe.stdout.splitlines()
    attach = None
    if has_strace:
        traced = probe.stdout.replace(marker, "")
        attach = "attach" in traced and "Operation not permitted" not in traced
    if mem_ok or attach:
        how = "read /proc/<pid>/mem" if mem_ok else "ptrace-attach"
        status = FAIL
        evidence = f"{ctx.agent} can {how} juicefs pid {pid}"
        if ctx.mode == "embedded":
            evidence += " (its own daemon, which holds the secrets)"
        return _f("JG-305", ctx, status, evidence)
    how = "ptrace attach refused" if attach is False else "ptrace not tried (no strace)"
    return _f("JG-305", ctx, PASS, f"/proc/{pid}/mem unreadable for {ctx.agent}; {how}")


def internal_files(ctx: Context) -> Finding:
    if skipped := _no_agent("JG-306", ctx):
        return skipped
    if not ctx.mounted:
        return _f("JG-306", ctx, SKIP, "not mounted: the internal files exist only while mounted")
    # Opening is the test (.accesslog is an endless stream: it is never read).
    readable = readable_as_agent(ctx, [f"{mp}/{name}" for mp in ctx.mounted for name in (".config", ".accesslog")])
    if readable:
        return _f("JG-306", ctx, FAIL, f"{ctx.agent} reads {', '.join(readable)}")
    return _f("JG-306", ctx, PASS, f".config and .accesslog of {', '.join(ctx.mounted)} are unreadable for the agent")


# One shell as the agent tries to open each path for reading (a directory: to list it): one privilege drop
# for all of them, not one per file, so the audit does not grow with the square of the installed filesystems.
_TRY_OPEN = 'for p do if command : < "$p"; then printf "%s\\n" "$p"; fi 2>/dev/null; done'


def readable_as_agent(ctx: Context, candidates: list[str]) -> list[str]:
    if not candidates:
        return []
    result = ctx.as_agent(["/bin/sh", "-c", _TRY_OPEN, "sh", *candidates], timeout=30)
    opened = set(result.stdout.splitlines())
    return [path for path in candidates if path in opened]


def logs_and_cache_as_agent(ctx: Context) -> Finding:
    if skipped := _no_agent("JG-307", ctx):
        return skipped
    candidates = glob.glob(str(paths.LOG_DIR / "*")) + [str(paths.CACHE_DIR / ctx.name)]
    candidates += glob.glob("/var/log/juicefs*") + glob.glob("/tmp/juicefs*")
    readable = readable_as_agent(ctx, candidates)
    if ctx.mode == "embedded" and ctx.account:
        own = f"{ctx.account.home}/.juicefs"
        logs = read_files_as_agent(ctx, glob.glob(f"{own}/*.log"))
        secrets_in_own = [path for path, text in logs.items() if text is not None and ctx.secret_in(text)]
        if secrets_in_own:
            return _f("JG-307", ctx, FAIL, f"the agent's own juicefs logs hold a secret: {', '.join(secrets_in_own)}")
    if readable:
        return _f("JG-307", ctx, FAIL, f"{ctx.agent} reads {', '.join(readable[:8])}")
    return _f("JG-307", ctx, PASS, f"{len(candidates)} juicefs logs/cache paths unreadable for {ctx.agent}")


ALL = (
    strings_of_wrapper,
    strace_of_wrapper,
    proc_environ,
    proc_cmdline,
    ptrace_and_mem,
    internal_files,
    logs_and_cache_as_agent,
)
