"""The verifier against real installs: clean is clean, each tampering is caught by the right check and undoing
it makes the audit clean again; embedded mode's leak is reported without the password; reports parse."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from juicefs_guard import paths
from tests.support.host import as_user, cli


def audit(fs, *extra: str):
    return cli("audit", "--name", fs.name, *extra)


def failed_ids(fs) -> set[str]:
    result = audit(fs, "--json")
    document = json.loads(result.stdout)
    return {f["id"] for f in document["findings"] if f["status"] == "fail" and f["filesystem"] == fs.name}


@pytest.fixture
def mounted_broker(install):
    fs = install("broker")
    fs.mount()
    yield fs
    fs.run("umount")


def test_clean_broker_install_is_clean_and_quiet(mounted_broker) -> None:
    fs = mounted_broker
    result = audit(fs)
    assert result.returncode == 0, result.stdout
    assert "JG-303" in result.stdout and "SKIP  JG-303" not in result.stdout, "attacks must really run when mounted"
    quiet = audit(fs, "--quiet")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    assert fs.secrets["META_PASSWORD"] not in result.stdout


def _chmod(path: str, mode: int) -> Callable[[], None]:
    old = os.stat(path).st_mode & 0o7777
    os.chmod(path, mode)
    return lambda: os.chmod(path, old)


def _chown_agent(fs) -> Callable[[], None]:
    info = os.stat(fs.wrapper)
    shutil.chown(fs.wrapper, user=fs.agent)
    return lambda: os.chown(fs.wrapper, info.st_uid, info.st_gid)


def _modify(fs) -> Callable[[], None]:
    original = Path(fs.wrapper).read_bytes()
    with open(fs.wrapper, "ab") as handle:
        handle.write(b"\0tampered")
    return lambda: Path(fs.wrapper).write_bytes(original)


def _group_sudo(fs) -> Callable[[], None]:
    subprocess.run(["groupadd", "-f", "sudo"], check=True)
    subprocess.run(["gpasswd", "-a", fs.agent, "sudo"], check=True, capture_output=True)
    return lambda: subprocess.run(["gpasswd", "-d", fs.agent, "sudo"], check=True, capture_output=True)


def _nopasswd_all(fs) -> Callable[[], None]:
    path = Path(f"/etc/sudoers.d/zz-test-{fs.agent}")
    path.write_text(f"{fs.agent} ALL=(ALL) NOPASSWD: ALL\n")
    os.chmod(path, 0o440)
    return lambda: path.unlink()


def _password_in_tmp(fs) -> Callable[[], None]:
    path = Path(f"/tmp/jfg-leak-{fs.agent}.txt")
    path.write_text(f"backup of the password: {fs.secrets['META_PASSWORD']}\n")
    os.chmod(path, 0o644)
    return lambda: path.unlink()


def _leftover_xc(fs) -> Callable[[], None]:
    path = Path(fs.wrapper).parent / f"{fs.name}.sh.x.c"
    path.write_text("/* shc output */\n")
    return lambda: path.unlink()


def _helper_module_changed(fs) -> Callable[[], None]:
    module = paths.HELPER_MODULE
    original = module.read_bytes()
    module.write_bytes(original + b"\nimport os  # a changed helper\n")
    return lambda: module.write_bytes(original)


def _helper_bytecode_group_writable(fs) -> Callable[[], None]:
    from importlib.util import cache_from_source

    pyc = [p for p in Path(cache_from_source(str(paths.HELPER_MODULE))).parent.glob("*.pyc")][0]
    info = pyc.stat()
    os.chown(pyc, 0, pwd.getpwnam(fs.agent).pw_gid)
    os.chmod(pyc, 0o664)
    return lambda: (os.chown(pyc, info.st_uid, info.st_gid), os.chmod(pyc, info.st_mode & 0o7777))


TAMPERING = {
    "wrapper mode 755": (lambda fs: _chmod(fs.wrapper, 0o755), "JG-101"),
    "wrapper owned by the agent": (_chown_agent, "JG-101"),
    "wrapper bytes changed": (_modify, "JG-103"),
    "agent added to sudo": (_group_sudo, "JG-203"),
    "NOPASSWD: ALL for the agent": (_nopasswd_all, "JG-201"),
    "password in a world-readable /tmp file": (_password_in_tmp, "JG-105"),
    "leftover .x.c": (_leftover_xc, "JG-104"),
    "helper module changed": (_helper_module_changed, "JG-204"),
    "helper bytecode writable by the agent's group": (_helper_bytecode_group_writable, "JG-204"),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_is_caught_and_undoing_it_is_clean(mounted_broker, case) -> None:
    fs = mounted_broker
    tamper, check = TAMPERING[case]
    undo = tamper(fs)
    try:
        result = audit(fs)
        assert result.returncode == 1, result.stdout
        assert check in failed_ids(fs), result.stdout
        assert f"FAIL  {check}" in result.stdout
        assert fs.secrets["META_PASSWORD"] not in result.stdout
    finally:
        undo()
    assert audit(fs).returncode == 0


def test_embedded_mount_is_reported_without_the_password(install) -> None:
    fs = install("embedded")
    fs.mount()
    try:
        result = audit(fs, "--json")
        assert result.returncode == 1
        document = json.loads(result.stdout)
        status = {f["id"]: f for f in document["findings"] if f["filesystem"] == fs.name}
        # Every leak that embedded mode cannot prevent, found by the attack that shows it:
        # strace prints the decrypted script, the shell shc starts carries it in argv, the agent's own daemon
        # holds the password in its environment, the agent may ptrace it, and .config is the agent's to read.
        for check in ("JG-302", "JG-303", "JG-304", "JG-305", "JG-306"):
            assert status[check]["status"] == "fail", (check, status[check]["evidence"])
        for check in ("JG-302", "JG-303", "JG-304"):
            assert "META_PASSWORD" in status[check]["evidence"], (check, status[check]["evidence"])
        assert "broker" in status["JG-303"]["remediation"]
        for value in fs.secrets.values():
            assert value not in result.stdout
            assert value not in paths.LAST_REPORT.read_text()
    finally:
        fs.umount()


def test_sarif_and_junit(mounted_broker, tmp_path) -> None:
    fs = mounted_broker
    sarif = json.loads(audit(fs, "--sarif").stdout)
    assert sarif["version"] == "2.1.0" and "sarif" in sarif["$schema"]
    run = sarif["runs"][0]
    rule_ids = {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    assert {result["ruleId"] for result in run["results"]} <= rule_ids
    assert all(result["level"] in ("none", "note", "warning", "error") for result in run["results"])
    junit = tmp_path / "audit.xml"
    assert audit(fs, "--junit", str(junit)).returncode == 0
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites" and int(root[0].get("tests")) > 15


def test_refused_requests_are_logged_and_warned(mounted_broker, install) -> None:
    fs = mounted_broker
    other = install("broker")
    audit(fs)  # moves the cursor: only what follows counts
    helper = str(paths.HELPER_PATH)
    as_user(fs.agent, ["sudo", "-n", helper, f"{fs.name} mount", fs.mountpoint])  # merged arguments
    as_user(fs.agent, ["sudo", "-n", helper, fs.name, "mount", "/tmp"])  # sudo refuses
    as_user(fs.agent, ["sudo", "-n", helper, other.name, "status"])  # another agent's filesystem
    log = paths.HELPER_LOG
    info = log.stat()
    assert info.st_uid == 0 and info.st_mode & 0o777 == 0o600
    assert f"{fs.name} mount" in log.read_text()
    result = audit(fs, "--json")
    warn = [f for f in json.loads(result.stdout)["findings"] if f["id"] == "JG-406"][0]
    assert warn["status"] == "warn"
    assert "/tmp" in warn["evidence"] and other.name in warn["evidence"] and fs.agent in warn["evidence"]
    shown = cli("log", "--refused", "--since", "10m", "--json")
    records = [json.loads(line) for line in shown.stdout.splitlines()]
    assert any(r["source"] == "sudo" and r["mountpoint"] == "/tmp" for r in records)
    assert any(r["source"] == "helper" and r["user"] == fs.agent for r in records)
    assert audit(fs, "--json").returncode == 0
    again = [f for f in json.loads(audit(fs, "--json").stdout)["findings"] if f["id"] == "JG-406"][0]
    assert again["status"] == "pass", "only refusals since the last audit count"


def test_defense_in_depth_checks_report_with_evidence(mounted_broker) -> None:
    document = json.loads(audit(mounted_broker, "--json").stdout)
    by_id = {f["id"]: f for f in document["findings"]}
    for check_id in ("JG-401", "JG-402", "JG-403", "JG-404", "JG-405"):
        finding = by_id[check_id]
        assert finding["status"] in ("pass", "warn", "skip") and finding["evidence"], finding
    scope = Path("/proc/sys/kernel/yama/ptrace_scope")
    expected = "skip" if not scope.exists() else ("pass" if int(scope.read_text()) >= 1 else "warn")
    assert by_id["JG-401"]["status"] == expected


def test_cron_install_and_remove() -> None:
    existed = paths.CRON_FILE.exists()
    backup = paths.CRON_FILE.read_text() if existed else None
    try:
        assert cli("audit", "--install-cron", "--schedule", "5 4 * * *").returncode == 0
        text = paths.CRON_FILE.read_text()
        assert "5 4 * * * root " in text and "audit --quiet" in text
        bad = cli("audit", "--install-cron", "--schedule", "every day")
        assert bad.returncode == 2 and "cron fields" in bad.stderr
        assert cli("audit", "--remove-cron").returncode == 0
        assert not paths.CRON_FILE.exists()
    finally:
        if backup is not None:
            paths.CRON_FILE.write_text(backup)
