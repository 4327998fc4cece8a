"""Embedded mode end to end, with real parts: redis with a hostile password, shc, FUSE as the agent."""

from __future__ import annotations

import glob
import os

import pytest

from juicefs_guard import paths, registry
from juicefs_guard.wrappers import TEMP_PREFIX
from tests.support.host import as_user, daemon_pids


def test_agent_mounts_writes_reads_and_unmounts(install) -> None:
    fs = install("embedded")
    assert "\\" in fs.secrets["META_PASSWORD"] and "'" in fs.secrets["META_PASSWORD"]
    fs.mount()
    target = f"{fs.mountpoint}/hello.txt"
    assert as_user(fs.agent, ["sh", "-c", f"echo guarded > {target}"]).returncode == 0
    assert as_user(fs.agent, ["cat", target]).stdout == "guarded\n"
    status = fs.run("status")
    assert status.returncode == 0 and "mounted" in status.stdout
    fs.umount()
    assert fs.run("status").returncode == 3


def test_installed_state(install, host) -> None:
    fs = install("embedded")
    wrapper = host.file(fs.wrapper)
    assert wrapper.user == "root" and wrapper.group == fs.agent and wrapper.mode == 0o750
    with open(fs.wrapper, "rb") as handle:
        assert handle.read(4) == b"\x7fELF"
    scripts = host.file(os.path.dirname(fs.wrapper))
    assert scripts.user == "root" and scripts.mode == 0o750
    entry = host.file(str(paths.registry_entry(fs.name)))
    assert entry.user == "root" and entry.mode == 0o600
    recorded = registry.require(fs.name)
    assert recorded["wrapper_sha256"] == registry.file_sha256(fs.wrapper)
    assert not paths.credentials_file(fs.name).exists()


def test_no_plaintext_secret_on_disk_and_strings_hides_it(install) -> None:
    """Searched as the agent: every file it can read under its home and the temp dirs."""
    fs = install("embedded")
    home = f"/home/{fs.agent}"
    canary = f"/tmp/jfg-canary-{fs.agent}"
    for value in fs.secrets.values():
        with open(canary, "w") as handle:  # positive control: the search must find a planted copy
            handle.write(value)
        os.chmod(canary, 0o644)
        try:
            found = as_user(fs.agent, ["grep", "-rlsF", "-f", "-", home, "/tmp", "/var/tmp"], input_text=value)
        finally:
            os.unlink(canary)
        assert found.stdout.splitlines() == [canary], f"a secret is readable by the agent in {found.stdout}"
    leftovers = glob.glob(f"{home}/**/*.x.c", recursive=True) + glob.glob(f"{home}/**/*.sh", recursive=True)
    assert leftovers == []
    assert not glob.glob(f"/tmp/{TEMP_PREFIX}*")
    result = as_user(fs.agent, ["strings", "-a", fs.wrapper])
    assert result.returncode == 0 and result.stdout
    for value in fs.secrets.values():
        assert value not in result.stdout


def test_embedded_leak_is_real_while_mounted(install) -> None:
    """The documented limit of embedded mode: the agent's own daemon holds the password in its environment."""
    fs = install("embedded")
    fs.mount()
    try:
        pids = daemon_pids(fs.mountpoint, fs.name, fs.agent)
        assert pids
        leaked = any(
            fs.secrets["META_PASSWORD"] in as_user(fs.agent, ["cat", f"/proc/{pid}/environ"]).stdout for pid in pids
        )
        assert leaked, "expected the embedded-mode leak that the audit reports; if this fails, update the docs"
    finally:
        fs.umount()


@pytest.mark.parametrize("args", [["bogus"], ["mount", "/etc"], ["mount", "relative/path"], []])
def test_wrapper_refuses_bad_arguments(install, args) -> None:
    fs = install("embedded", fmt=True)
    result = fs.run(*args)
    assert result.returncode == 2, result
    assert "usage" in (result.stderr + result.stdout) or "not an allowed" in (result.stderr + result.stdout)


@pytest.mark.parametrize("value", ["p@ss w'o\"rd $HOME \\x ;|&`id`", "\u2028line\x85sep\x0b", "-n -e \\c"])
def test_shc_compiled_wrapper_passes_the_secret_verbatim(tmp_path, value) -> None:
    from juicefs_guard.wrappers import compile_script
    from tests.unit.test_properties import render_embedded, run_wrapper

    (tmp_path / "mnt").mkdir()
    binary = tmp_path / "wrapper"
    binary.write_bytes(compile_script(render_embedded(tmp_path, value, value)))
    binary.chmod(0o700)
    run_wrapper([str(binary)], tmp_path)
    assert (tmp_path / "out").read_bytes() == value.encode()
