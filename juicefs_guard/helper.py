#!/usr/bin/python3 -IS
"""The root side of broker mode, run by sudo on the agent's behalf: `helper FS mount|umount|status [MOUNTPOINT]`.

This file is the security boundary. It is installed as a standalone copy (root:root 0755) and run by an isolated
interpreter (`python3 -I -S`): standard library only, no import from the juicefs-guard package or site-packages,
nothing taken from the caller's environment, umask or working directory. Its argv is hostile: sudo matches rules
on arguments joined by spaces, so `helper "fs mount" /x` can match a rule for `helper fs mount /x`; the helper
checks the exact argument count and every value against the root-only registry. Nothing the caller passes
reaches juicefs except one mountpoint that equals an allowed one, below a chain of root-owned directories.

Its constants repeat those of juicefs_guard.paths/spec on purpose (it cannot import them); a unit test keeps the
two in step.

It is on the path of every mount, so it starts lean: only modules built into the interpreter are imported up
front (`re`, `json`, `tomllib` and `subprocess` would add about 15 ms, more than the rest of the helper). The
registry is read by a strict parser of the TOML subset that juicefs_guard.tomlw writes (anything else is refused),
and the client is started with posix_spawn; unit tests hold both to the standard library's behaviour.
"""

import os
import stat
import sys
import time

REGISTRY_DIR = "/etc/juicefs-guard/filesystems"
CREDENTIALS_DIR = "/etc/juicefs-guard/credentials"
LOG_DIR = "/var/log/juicefs-guard"
HELPER_LOG = LOG_DIR + "/helper.log"
FS_NAME_FIRST = "abcdefghijklmnopqrstuvwxyz"
FS_NAME_LAST = FS_NAME_FIRST + "0123456789"
FS_NAME_MIDDLE = FS_NAME_LAST + "-"
FS_NAME_LENGTH = (3, 32)
ACTIONS = ("mount", "umount", "status")
SECRET_KEYS = ("META_PASSWORD", "ACCESS_KEY", "SECRET_KEY")
SAFE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
MOUNT_TIMEOUT = 60.0
SECRETS_COMMAND_TIMEOUT = 30.0
EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2


class Refused(Exception):
    """A request the helper will not carry out; the message is shown to the caller and logged."""


class Failed(Exception):
    """An allowed request that did not succeed (metadata engine down, mount timed out)."""


def caller() -> tuple[str, int | None]:
    """Who asked: sudo's SUDO_UID and SUDO_USER (set by sudo, which drops the caller's own), or root itself when
    run directly. The uid decides; the name is only logged."""
    raw = os.environ.get("SUDO_UID")
    if raw is None:
        return "root", 0
    name = printable(os.environ.get("SUDO_USER", "?"))
    try:
        return name, int(raw)
    except ValueError:
        return name, None


def log_request(user: str, uid: int | None, fs: str, action: str, mountpoint: str, outcome: str, reason: str) -> None:
    """One JSON line per call to a root-only log, and to syslog when one listens. Never a secret."""
    record = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "user": user,
        "uid": uid,
        "filesystem": fs,
        "action": action,
        "mountpoint": mountpoint,
        "outcome": outcome,
        "reason": reason,
    }
    line = json_line(record) + "\n"
    try:
        os.makedirs(LOG_DIR, mode=0o700, exist_ok=True)
        fd = os.open(HELPER_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, line.encode("ascii"))
        finally:
            os.close(fd)
    except OSError:
        pass
    if os.path.exists("/dev/log"):
        try:
            import syslog

            syslog.openlog("juicefs-guard-helper", syslog.LOG_PID, syslog.LOG_AUTHPRIV)
            priority = syslog.LOG_NOTICE if outcome == "allowed" else syslog.LOG_WARNING
            syslog.syslog(priority, line.strip())
        except OSError:
            pass


def valid_fs_name(value: str) -> bool:
    """The same names as juicefs_guard.spec.FS_NAME_RE (a unit test compares them), without importing `re`."""
    low, high = FS_NAME_LENGTH
    return (
        low <= len(value) <= high
        and value[0] in FS_NAME_FIRST
        and value[-1] in FS_NAME_LAST
        and all(ch in FS_NAME_MIDDLE for ch in value[1:-1])
    )


def json_string(value: str) -> str:
    """A JSON string literal in ASCII (json.loads gives the value back; a unit test checks it)."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif 32 <= code < 127:
            out.append(ch)
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            code -= 0x10000
            out.append(f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}")
    out.append('"')
    return "".join(out)


def json_line(record: dict) -> str:
    """One log record: string, integer and null values only."""
    parts = []
    for key, value in record.items():
        if value is None:
            text = "null"
        elif isinstance(value, int):
            text = str(value)
        else:
            text = json_string(str(value))
        parts.append(f"{json_string(key)}: {text}")
    return "{" + ", ".join(parts) + "}"


def printable(value: str) -> str:
    """Caller-supplied text, made safe to echo into a terminal or a log: no control characters, bounded."""
    return "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in value)[:200]


class RegistryFormatError(ValueError):
    """The registry entry is not in the TOML subset that juicefs-guard writes."""


ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def parse_string(text: str, pos: int) -> tuple[str, int]:
    """A TOML basic string as tomlw writes it (a JSON string); pos is at the opening quote. Runs of plain
    characters are taken whole (str.find, str.isprintable run in C); only escapes are decoded one by one."""
    out = []
    pos += 1
    while True:
        quote = text.find('"', pos)
        if quote < 0:
            raise RegistryFormatError("unterminated string")
        backslash = text.find("\\", pos, quote)
        end = quote if backslash < 0 else backslash
        chunk = text[pos:end]
        if not chunk.isprintable():  # a tab, or a character that is not printable: look closer
            for ch in chunk:
                if ord(ch) < 32 and ch != "\t" or ch == "\x7f":
                    raise RegistryFormatError("control character in a string")
        out.append(chunk)
        if backslash < 0:
            return "".join(out), quote + 1
        code = text[backslash + 1 : backslash + 2]
        if code in ESCAPES:
            out.append(ESCAPES[code])
            pos = backslash + 2
        elif code in ("u", "U"):
            width = 4 if code == "u" else 8
            digits = text[backslash + 2 : backslash + 2 + width]
            if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise RegistryFormatError("bad unicode escape")
            value = int(digits, 16)
            if 0xD800 <= value < 0xE000 or value > 0x10FFFF:
                raise RegistryFormatError("bad unicode escape")
            out.append(chr(value))
            pos = backslash + 2 + width
        else:
            raise RegistryFormatError("bad escape")


def parse_value(text: str, pos: int) -> tuple[object, int]:
    if text.startswith('"', pos):
        return parse_string(text, pos)
    if text.startswith("[", pos):
        items = []
        pos += 1
        while True:
            while text.startswith(" ", pos):
                pos += 1
            if text.startswith("]", pos):
                return items, pos + 1
            item, pos = parse_value(text, pos)
            items.append(item)
            while text.startswith(" ", pos):
                pos += 1
            if text.startswith(",", pos):
                pos += 1
            elif not text.startswith("]", pos):
                raise RegistryFormatError("bad list")
    end = pos
    while end < len(text) and text[end] not in ",] ":
        end += 1
    word = text[pos:end]
    if word in ("true", "false"):
        return word == "true", end
    digits = word[1:] if word[:1] == "-" else word
    if digits.isdigit() and digits.isascii() and (digits == "0" or digits[0] != "0"):
        return int(word), end
    raise RegistryFormatError(f"unsupported value {word[:20]!r}")


def parse_key(text: str) -> str:
    if text.startswith('"'):
        key, end = parse_string(text, 0)
        if text[end:].strip():
            raise RegistryFormatError("bad key")
        return key
    if text and all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in text):
        return text
    raise RegistryFormatError("bad key")


def parse_registry(text: str) -> dict:
    """The TOML that juicefs_guard.tomlw.dumps writes: `key = value` lines (strings, integers, booleans, lists
    of them), then one level of `[table]`s. Anything else raises RegistryFormatError."""
    document: dict = {}
    table = document
    for line in text.split("\n"):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]") and not line.startswith("[["):
            name = parse_key(line[1:-1].strip())
            if name in document:
                raise RegistryFormatError(f"duplicate table {name}")
            table = document[name] = {}
            continue
        key_text, sep, rest = line.partition(" = ")
        if not sep:
            raise RegistryFormatError("not a key = value line")
        key = parse_key(key_text.strip())
        value, end = parse_value(rest, 0)
        if rest[end:].strip():
            raise RegistryFormatError("trailing characters")
        if key in table:
            raise RegistryFormatError(f"duplicate key {key}")
        table[key] = value
    return document


def load_entry(fs: str) -> dict:
    path = os.path.join(REGISTRY_DIR, fs + ".toml")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise Refused(f"no filesystem named {fs} is installed") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if info.st_uid != 0 or info.st_mode & 0o022:
            raise Failed(f"registry entry {path} is not root-owned and protected; run juicefs-guard audit")
        try:
            return parse_registry(handle.read().decode("utf-8"))
        except (RegistryFormatError, UnicodeDecodeError) as exc:
            raise Failed(f"registry entry {path} is malformed ({exc}); re-run juicefs-guard init --force") from None


def check_request(argv: list[str], uid: int | None) -> tuple[dict, str, str]:
    """Validate argc, names, the caller and the mountpoint; return (entry, action, mountpoint)."""
    if len(argv) not in (2, 3):
        raise Refused(f"expected FS ACTION [MOUNTPOINT], got {len(argv)} arguments")
    fs, action = argv[0], argv[1]
    if not valid_fs_name(fs):
        raise Refused("malformed filesystem name")
    if action not in ACTIONS:
        raise Refused("unknown action (allowed: mount, umount, status)")
    entry = load_entry(fs)
    if entry.get("mode") != "broker" or entry.get("name") != fs:
        raise Refused(f"{fs} is not a broker-mode filesystem")
    if uid is None or (uid != 0 and uid != entry.get("agent_uid")):
        raise Refused(f"{fs} belongs to another agent")
    allowed = list(entry.get("mountpoints", []))
    if not allowed:
        raise Failed(f"{fs} has no mountpoint in its registry entry")
    mountpoint = argv[2] if len(argv) == 3 else allowed[0]
    if mountpoint not in allowed:
        raise Refused("mountpoint is not one of the allowed mountpoints")
    return entry, action, mountpoint


def check_chain(path: str) -> None:
    """Every component from / to the mountpoint: a real directory (no symlink), owned by root, writable by no
    one else. Otherwise a caller could swap a component and make root mount over another directory."""
    current = "/"
    components = [part for part in path.split("/") if part]
    for part in [""] + components:
        current = os.path.join(current, part) if part else "/"
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            raise Failed(f"{current} does not exist; run juicefs-guard init again to recreate it") from None
        if stat.S_ISLNK(info.st_mode):
            raise Refused(f"{current} is a symbolic link")
        if not stat.S_ISDIR(info.st_mode):
            raise Refused(f"{current} is not a directory")
        if info.st_uid != 0:
            raise Refused(f"{current} is not owned by root")
        if info.st_mode & 0o022:
            raise Refused(f"{current} is writable by a user other than root")


MOUNTINFO = "/proc/self/mountinfo"


def mount_table() -> dict[str, str]:
    """Mountpoint -> filesystem type, from the kernel's table (octal escapes decoded)."""
    with open(MOUNTINFO, encoding="utf-8", errors="surrogateescape") as handle:
        return parse_mount_table(handle.read())


def parse_mount_table(text: str) -> dict[str, str]:
    table = {}
    for line in text.split("\n"):  # not splitlines(): a path may hold \x85 or \u2028; the kernel escapes only \n
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) < 5 or not right:
            continue
        table[unescape_mountinfo(fields[4])] = right.split()[0]
    return table


def unescape_mountinfo(field: str) -> str:
    """The kernel writes space, tab, newline and backslash in mount paths as \\ooo octal escapes."""
    if "\\" not in field:
        return field
    out, pos = [], 0
    while pos < len(field):
        chunk = field[pos + 1 : pos + 4]
        if field[pos] == "\\" and len(chunk) == 3 and all(c in "01234567" for c in chunk):
            out.append(chr(int(chunk, 8)))
            pos += 4
        else:
            out.append(field[pos])
            pos += 1
    return "".join(out)


def secret_lines(text: str):
    """(line number, key, value) for each line of a KEY=VALUE secrets text: blank lines and `#` comments skipped,
    an `export ` prefix allowed, a `KEY:b64` key kept with its suffix, value None for a line without `=`.
    Split on \\n only: str.splitlines() also breaks on \\x85, \\u2028..., which a password may hold. Shared
    with juicefs_guard.secrets, which adds the administrator's checks and messages."""
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if key.startswith("export "):
            key = key[len("export ") :].strip()
        yield number, key, value if sep else None


def decode_b64(value: str) -> str:
    """The value of a `KEY:b64=` line; ValueError when it is not base64 of UTF-8 text."""
    import base64  # only here: the common mount path does without it

    return base64.b64decode(value.strip(), validate=True).decode("utf-8")


def parse_secrets(text: str, origin: str) -> dict:
    secrets = {}
    for _number, key, value in secret_lines(text):
        encoded = key.endswith(":b64")
        if encoded:
            key = key[: -len(":b64")]
        if value is None or key not in SECRET_KEYS:
            raise Failed(f"{origin} has a line that is not one of {', '.join(SECRET_KEYS)}=VALUE")
        if encoded:
            try:
                value = decode_b64(value)
            except ValueError:
                raise Failed(f"{origin}: {key}:b64 is not valid base64 of UTF-8 text") from None
        secrets[key] = value
    return secrets


def read_credentials(entry: dict) -> dict:
    command = entry.get("secrets_command")
    if command:
        return run_secrets_command(command)
    path = os.path.join(CREDENTIALS_DIR, entry["name"] + ".env")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        if entry.get("secret_keys"):
            raise Failed(f"credentials file {path} is missing; run juicefs-guard rotate") from None
        return {}
    with os.fdopen(fd, "r", encoding="utf-8") as handle:
        info = os.fstat(handle.fileno())
        if info.st_uid != 0 or info.st_mode & 0o077 or not stat.S_ISREG(info.st_mode):
            raise Failed(f"credentials file {path} is not root:root 0600; run juicefs-guard audit")
        return parse_secrets(handle.read(), path)


def run_secrets_command(command: list) -> dict:
    """Root runs the configured command (no shell, fixed environment, a timeout) and reads KEY=VALUE lines.
    The command and every existing file named in its arguments must be root's alone, checked on each run."""
    import subprocess  # only here: the common mount path does without its import cost

    for part in command:
        if str(part).startswith("/") and (part == command[0] or os.path.exists(part)):
            check_trusted_path(str(part))
    try:
        result = subprocess.run(
            [str(part) for part in command],
            env=fixed_environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=SECRETS_COMMAND_TIMEOUT,
            cwd="/",
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise Failed(f"the secrets command did not finish within {SECRETS_COMMAND_TIMEOUT:.0f}s") from None
    except OSError as exc:
        raise Failed(f"the secrets command could not start: {exc.strerror}") from None
    if result.returncode != 0:
        raise Failed(f"the secrets command failed with exit {result.returncode}")
    return parse_secrets(result.stdout.decode("utf-8", "replace"), "the secrets command's output")


def check_trusted_path(path: str) -> None:
    """What root executes or reads for the agent (binaries, the secrets command and its files): the real file
    and every directory above it owned by root and writable by no one else, or the agent could swap it."""
    real = os.path.realpath(path)
    try:
        info = os.stat(real)
    except OSError:
        raise Failed(f"{path} does not exist") from None
    if info.st_uid != 0 or info.st_mode & 0o022:
        raise Failed(f"{path} is not owned by root or is writable by others; run juicefs-guard audit")
    parent = os.path.dirname(real)
    while True:
        info = os.stat(parent)
        if info.st_uid != 0 or info.st_mode & 0o022:
            raise Failed(f"{parent} (above {path}) is not owned by root or is writable by others")
        if parent == "/":
            return
        parent = os.path.dirname(parent)


def check_executable(path: str) -> None:
    check_trusted_path(path)


def scrub(text: str, secrets: dict) -> str:
    for value in secrets.values():
        if value:
            text = text.replace(value, "********")
    return text


def log_tail(path: str, secrets: dict) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = [line.strip() for line in handle.read().splitlines()[-20:] if line.strip()]
    except OSError:
        return "no log"
    errors = [line for line in lines if "<ERROR>" in line or "<FATAL>" in line] or lines
    return printable(scrub(errors[-1], secrets)) if errors else "no log"


def fixed_environment() -> dict:
    """The whole environment of whatever root runs for the caller: nothing of the caller's."""
    return {"PATH": SAFE_PATH, "HOME": "/root", "LANG": "C.UTF-8"}


def client_environment(secrets: dict) -> dict:
    """The daemon's whole environment: the fixed one plus the secrets, which never go into argv."""
    return {**fixed_environment(), **secrets}


def client_argv(entry: dict, mountpoint: str) -> list:
    """The mount command line, built only from the root-only registry and one validated mountpoint."""
    return [
        entry["juicefs"],
        *entry.get("global_options", []),
        "mount",
        *entry.get("mount_options", []),
        entry.get("mount_meta_url") or entry["meta_url"],
        mountpoint,
    ]


def do_mount(entry: dict, mountpoint: str) -> str:
    mounted = mount_table().get(mountpoint)
    if mounted is not None:
        if mounted.startswith("fuse.juicefs"):
            return f"{entry['name']} is already mounted at {mountpoint}"
        raise Refused(f"something else is mounted at {mountpoint}")
    check_chain(mountpoint)
    juicefs = entry["juicefs"]
    check_executable(juicefs)
    secrets = read_credentials(entry)
    env = client_environment(secrets)
    log_path = os.path.join(LOG_DIR, entry["name"] + ".mount.log")
    argv = client_argv(entry, mountpoint)
    # The client runs in the foreground of its own session (not `-d`, whose fixed wait would cost 0.4 s): its
    # output goes to the root-only log, and we wait only until the kernel shows the mount.
    pid = spawn_client(argv, env, log_path)
    deadline = time.monotonic() + MOUNT_TIMEOUT
    for table in mount_tables(deadline):
        if table.get(mountpoint, "").startswith("fuse.juicefs"):
            return f"{entry['name']} mounted at {mountpoint}"
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            code = os.waitstatus_to_exitcode(status)
            raise Failed(f"juicefs mount failed (exit {code}): {log_tail(log_path, secrets)}")
    import signal

    os.killpg(pid, signal.SIGTERM)
    raise Failed(f"juicefs mount did not become ready within {MOUNT_TIMEOUT:.0f}s: {log_tail(log_path, secrets)}")


def spawn_client(argv: list, env: dict, log_path: str) -> int:
    """Start the client in a new session: stdin /dev/null, stdout and stderr to the root-only log, cwd / (set in
    main), every other descriptor closed (Python opens them close-on-exec)."""
    log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, log_fd, 1),
            (os.POSIX_SPAWN_DUP2, log_fd, 2),
        ]
        return os.posix_spawn(argv[0], argv, env, file_actions=actions, setsid=True)
    except OSError as exc:
        raise Failed(f"could not start juicefs: {exc.strerror}") from None
    finally:
        os.close(log_fd)


def mount_tables(deadline: float):
    """The mount table now, then each time the kernel changes it (poll() on mountinfo wakes with POLLPRI), and
    at least every 20 ms so that a client that died is noticed: no sleep-and-poll delay on the ready path, and
    one read of the table per wake-up."""
    import select

    with open(MOUNTINFO, encoding="utf-8", errors="surrogateescape") as watched:
        poller = select.poll()
        poller.register(watched.fileno(), select.POLLPRI | select.POLLERR)
        while True:
            watched.seek(0)
            yield parse_mount_table(watched.read())
            if time.monotonic() >= deadline:
                return
            poller.poll(20)


def do_umount(entry: dict, mountpoint: str) -> str:
    kind = mount_table().get(mountpoint)
    if kind is None:
        return f"{entry['name']} is not mounted at {mountpoint}"
    if not kind.startswith("fuse.juicefs"):
        raise Refused(f"what is mounted at {mountpoint} is not a JuiceFS volume")
    check_executable(entry["juicefs"])
    import subprocess

    # Right after a mount the client may still hold the mountpoint for a moment (EBUSY): retry for up to 2 s.
    for attempt in range(20):
        result = subprocess.run(
            [entry["juicefs"], "--no-agent", "--quiet", "umount", mountpoint],
            env=fixed_environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            cwd="/",
            timeout=60,
            check=False,
        )
        if result.returncode == 0 or "busy" not in (result.stderr + result.stdout) or attempt == 19:
            break
        time.sleep(0.1)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise Failed(f"juicefs umount failed: {printable(detail[-1]) if detail else result.returncode}")
    return f"{entry['name']} unmounted from {mountpoint}"


def do_status(entry: dict, mountpoint: str) -> str:
    """Mounted or not, and space used: nothing from `juicefs status`, which prints the access key."""
    kind = mount_table().get(mountpoint)
    if kind is None or not kind.startswith("fuse.juicefs"):
        return f"{entry['name']}: not mounted at {mountpoint}"
    usage = os.statvfs(mountpoint)
    total = usage.f_blocks * usage.f_frsize
    used = (usage.f_blocks - usage.f_bfree) * usage.f_frsize
    return f"{entry['name']}: mounted at {mountpoint} ({used / 2**30:.2f} GiB used of {total / 2**30:.2f} GiB)"


def main(argv: list[str]) -> int:
    os.umask(0o077)
    os.chdir("/")
    user, uid = caller()
    fs = printable(argv[0]) if argv else ""
    action = printable(argv[1]) if len(argv) > 1 else ""
    requested = printable(argv[2]) if len(argv) > 2 else ""
    if os.geteuid() != 0:
        print("juicefs-guard helper: must be run as root through sudo", file=sys.stderr)
        return EXIT_REFUSED
    try:
        entry, action, mountpoint = check_request(argv, uid)
        requested = mountpoint
        handler = {"mount": do_mount, "umount": do_umount, "status": do_status}[action]
        message = handler(entry, mountpoint)
    except Refused as exc:
        log_request(user, uid, fs, action, requested, "refused", str(exc))
        print(f"juicefs-guard: refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except Failed as exc:
        log_request(user, uid, fs, action, requested, "failed", str(exc))
        print(f"juicefs-guard: {exc}", file=sys.stderr)
        return EXIT_FAILED
    log_request(user, uid, fs, action, mountpoint, "allowed", "")
    print(message)
    return EXIT_OK if not (action == "status" and "not mounted" in message) else 3


def run(argv: list[str]) -> None:
    """main, then exit at once: the interpreter's own teardown (freeing every module and object) costs about 1 ms,
    which every mount waits for. Nothing needs it: files are closed, children are waited for or detached."""
    code = main(argv)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    run(sys.argv[1:])
