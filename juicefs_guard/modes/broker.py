"""Broker mode: root holds the credentials; the agent's wrapper holds none and asks root's helper, through one
exact sudo rule per action and mountpoint, to mount. No process the agent owns ever sees a secret."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from juicefs_guard import juicefs, metatls, paths, wrappers
from juicefs_guard.errors import OperationFailed
from juicefs_guard.host import sudoers
from juicefs_guard.host.run import run
from juicefs_guard.host.transaction import Transaction
from juicefs_guard.host.users import Account
from juicefs_guard.modes.common import install_wrapper, make_directory, prepare_mountpoints, replace_file
from juicefs_guard.registry import file_sha256
from juicefs_guard.secrets import Secret, render_secrets_text
from juicefs_guard.spec import FilesystemSpec

SUDO_CANDIDATES = ("/usr/bin/sudo", "/bin/sudo", "/usr/local/bin/sudo")


def find_sudo() -> str:
    for candidate in SUDO_CANDIDATES:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise OperationFailed("sudo is not installed; broker mode needs it: apt-get install sudo")


def helper_interpreter() -> str:
    """An interpreter root can run in isolated mode: the system python3 when it is new enough (3.11 reads TOML),
    else the one running us, resolved past any venv."""
    system = "/usr/bin/python3"
    if os.path.exists(system):
        real = os.path.realpath(system)
        name = os.path.basename(real)
        if name.startswith("python3.") and int(name.split(".")[1]) >= 11:
            return real
    return os.path.realpath(sys.executable)


HELPER_STUB = """#!{interpreter} -IS
# juicefs-guard's root helper (broker mode), run by sudo. Its code is {module}: this stub loads it from the
# bytecode compiled at install time, so that no mount pays for compiling it again.
import sys

sys.path.insert(0, "{directory}")
import juicefs_guard_helper  # noqa: E402

juicefs_guard_helper.run(sys.argv[1:])
"""

# Run by the helper's own interpreter: its bytecode format and cache tag are the ones that count.
_COMPILE = """
import importlib.util, py_compile, sys
source, output, installed = sys.argv[1:4]
py_compile.compile(source, cfile=output, dfile=installed, doraise=True,
                   invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
print(importlib.util.cache_from_source(installed))
"""


HELPER_SOURCE = Path(__file__).resolve().parent.parent / "helper.py"


def helper_stub(interpreter: str) -> str:
    return HELPER_STUB.format(interpreter=interpreter, module=paths.HELPER_MODULE, directory=paths.HELPER_LIB_DIR)


def helper_source() -> str:
    return HELPER_SOURCE.read_text(encoding="utf-8")


def compile_helper(interpreter: str) -> tuple[Path, bytes]:
    """(where the interpreter looks for the installed module's bytecode, the bytecode of this package's helper).
    Hash-checked bytecode: the interpreter verifies it against the installed source on every start, and the same
    source always gives the same bytes, so the audit can compare them."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="jfg-pyc-") as scratch:
        target = Path(scratch) / "helper.pyc"
        argv = [interpreter, "-I", "-S", "-c", _COMPILE, str(HELPER_SOURCE), str(target), str(paths.HELPER_MODULE)]
        result = run(argv, timeout=60)
        if result.returncode != 0:
            raise OperationFailed(f"could not compile the helper with {interpreter}: {result.stderr.strip()}")
        return Path(result.stdout.strip()), target.read_bytes()


def install_helper(tx: Transaction) -> tuple[str, str]:
    make_directory(tx, paths.LIB_DIR, mode=0o755)
    make_directory(tx, paths.HELPER_LIB_DIR, mode=0o755)
    interpreter = helper_interpreter()
    replace_file(tx, paths.HELPER_MODULE, helper_source(), mode=0o644)
    cache_path, bytecode = compile_helper(interpreter)
    make_directory(tx, cache_path.parent, mode=0o755)
    replace_file(tx, cache_path, bytecode, mode=0o644)
    replace_file(tx, paths.HELPER_PATH, helper_stub(interpreter), mode=0o755)
    return str(paths.HELPER_PATH), interpreter


def prepare_state_dirs(tx: Transaction, name: str) -> None:
    make_directory(tx, paths.ETC_DIR, mode=0o755)
    make_directory(tx, paths.CREDENTIALS_DIR, mode=0o700)
    make_directory(tx, paths.LOG_DIR, mode=0o700)
    make_directory(tx, paths.CACHE_DIR, mode=0o700)
    make_directory(tx, paths.CACHE_DIR / name, mode=0o700)
    if paths.LOGROTATE_FILE.parent.is_dir():
        from juicefs_guard.templating import render_template

        replace_file(tx, paths.LOGROTATE_FILE, render_template("logrotate.conf"), mode=0o644)


def write_credentials(tx: Transaction, name: str, secrets: Mapping[str, Secret]) -> None:
    replace_file(tx, paths.credentials_file(name), render_secrets_text(secrets), mode=0o600)


def build_wrapper(spec: FilesystemSpec, helper: str, sudo: str) -> bytes:
    script = wrappers.render_wrapper(
        spec, juicefs="", helper=helper, sudo=sudo, mount_options=[], global_options=[], secrets={}
    )
    return wrappers.compile_script(script)


def install(
    tx: Transaction, spec: FilesystemSpec, account: Account, client: str, secrets: Mapping[str, Secret]
) -> dict[str, Any]:
    sudo = find_sudo()
    prepare_state_dirs(tx, spec.name)
    prepare_mountpoints(tx, "broker", account, spec.mountpoints)
    if not spec.secrets_command:
        write_credentials(tx, spec.name, secrets)
    tls_files = metatls.install(tx, spec.name, spec.meta_tls)
    helper, interpreter = install_helper(tx)
    binary = build_wrapper(spec, helper, sudo)
    wrapper = install_wrapper(tx, spec.scripts_dir, spec.name, account, binary)
    text = sudoers.render(spec.name, spec.agent, helper, spec.mountpoints)
    sudoers.validate(text)
    replace_file(tx, paths.sudoers_dropin(spec.name), text, mode=0o440)
    return {
        "wrapper": str(wrapper),
        "wrapper_sha256": file_sha256(wrapper),
        "helper": helper,
        "helper_sha256": file_sha256(helper),
        "python": interpreter,
        "sudo": sudo,
        "sudoers": str(paths.sudoers_dropin(spec.name)),
        "sudoers_sha256": file_sha256(paths.sudoers_dropin(spec.name)),
        "mount_options": juicefs.mount_options("broker", spec.name),
        "mount_meta_url": metatls.url_with_files(spec.meta_url, tls_files),
        "meta_tls_files": tls_files,
        "secrets_command": shlex.split(spec.secrets_command) if spec.secrets_command else [],
        "global_options": juicefs.global_options(),
    }


def rotate(tx: Transaction, spec: FilesystemSpec, account: Account, client: str, secrets: Mapping[str, Secret]) -> dict:
    """The credentials file is replaced atomically; the wrapper holds no secret and stays."""
    write_credentials(tx, spec.name, secrets)
    return {}
