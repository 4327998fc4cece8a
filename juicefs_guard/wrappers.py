"""Rendering the agent's wrapper and compiling it with shc inside a fresh root-only directory.

The plaintext script (which holds the secrets in embedded mode) and shc's `.x.c` never leave that directory,
and the directory is removed whatever happens, even when shc or the compiler fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from juicefs_guard.errors import OperationFailed
from juicefs_guard.host.run import SAFE_PATH, run
from juicefs_guard.secrets import Secret
from juicefs_guard.spec import FilesystemSpec
from juicefs_guard.templating import render_template

SHC_TIMEOUT = 120
TEMP_PREFIX = "juicefs-guard-build-"


def render_wrapper(
    spec: FilesystemSpec,
    *,
    juicefs: str,
    helper: str,
    sudo: str,
    mount_options: list[str],
    global_options: list[str],
    secrets: Mapping[str, Secret],
) -> str:
    template = f"wrapper-{spec.mode}.sh.j2"
    return render_template(
        template,
        name=spec.name,
        meta_url=spec.meta_url,
        mountpoints=spec.mountpoints,
        juicefs=juicefs,
        helper=helper,
        sudo=sudo,
        mount_options=mount_options,
        global_options=global_options,
        secrets=dict(secrets) if spec.mode == "embedded" else {},
    )


def find_tool(name: str) -> str | None:
    return shutil.which(name, path=SAFE_PATH)


def check_toolchain() -> None:
    """shc writes C and calls the compiler at run time; Debian's shc does not depend on one."""
    if not find_tool("shc"):
        raise OperationFailed("shc is not installed; run: apt-get install shc gcc libc6-dev")
    if not (find_tool("cc") or find_tool("gcc")):
        raise OperationFailed("shc needs a C compiler and none was found; run: apt-get install gcc libc6-dev")


@contextlib.contextmanager
def private_build_dir() -> Iterator[Path]:
    """A fresh 0700 root-owned directory, removed on every exit path."""
    directory = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    try:
        os.chmod(directory, 0o700)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def compile_script(script: str) -> bytes:
    """`shc -r -f` the script and return the binary's bytes; nothing of the build survives this call."""
    check_toolchain()
    compiler = find_tool("cc") or find_tool("gcc") or "cc"
    with private_build_dir() as build:
        source = build / "wrapper.sh"
        fd = os.open(source, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(script)
        output = build / "wrapper"
        result = run(
            [find_tool("shc") or "shc", "-r", "-f", str(source), "-o", str(output)],
            env={"CC": compiler, "TMPDIR": str(build)},
            cwd=str(build),
            timeout=SHC_TIMEOUT,
        )
        if result.returncode != 0 or not output.is_file():
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise OperationFailed(f"shc failed: {detail[-1] if detail else 'exit ' + str(result.returncode)}")
        return output.read_bytes()
