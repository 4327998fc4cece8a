"""Broker mode end to end with Redis (password) and S3 (moto, real keys), and the attacks of an agent with a
shell: nothing it can read or run shows the metadata password or the S3 secret key."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from juicefs_guard import paths
from tests.support.host import as_user, daemon_pids, fuse_mounts


@pytest.fixture
def s3_fs(install, s3, redis):
    bucket = f"jfg-{os.urandom(3).hex()}"
    s3.create_bucket(bucket)
    secrets = {"META_PASSWORD": redis.password, "ACCESS_KEY": s3.access_key, "SECRET_KEY": s3.secret_key}
    fs = install("broker", secrets=secrets, storage=("s3", s3.bucket_url(bucket)))
    fs.mount()
    yield fs
    if fs.mountpoint in fuse_mounts():
        fs.run("umount")


def secret_values(fs) -> list[str]:
    return [value for value in fs.secrets.values() if value]


def assert_no_secret(fs, text: str, where: str) -> None:
    for value in secret_values(fs):
        assert value not in text, f"a secret appears in {where}"


def test_agent_uses_the_volume_on_s3(s3_fs) -> None:
    fs = s3_fs
    path = f"{fs.mountpoint}/data.bin"
    assert as_user(fs.agent, ["sh", "-c", f"head -c 1048576 /dev/urandom > {path} && sync"]).returncode == 0
    assert as_user(fs.agent, ["stat", "-c", "%s", path]).stdout.strip() == "1048576"
    assert "mounted" in fs.run("status").stdout
    fs.umount()
    assert fs.mountpoint not in fuse_mounts()
    fs.mount()
    assert as_user(fs.agent, ["stat", "-c", "%s", path]).stdout.strip() == "1048576"


def test_daemon_runs_as_root_with_no_secret_in_argv(s3_fs) -> None:
    fs = s3_fs
    pids = daemon_pids(fs.mountpoint, fs.name, fs.agent)
    assert pids
    for pid in pids:
        assert os.stat(f"/proc/{pid}").st_uid == 0
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            assert_no_secret(fs, handle.read().decode(errors="replace"), f"/proc/{pid}/cmdline")


def test_agent_reads_every_proc_environ_and_cmdline(s3_fs) -> None:
    script = "for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do cat \"$f\" 2>/dev/null | tr '\\0' '\\n'; done"
    result = as_user(s3_fs.agent, ["sh", "-c", script], timeout=60)
    assert result.stdout, "the agent should at least see its own processes"
    assert_no_secret(s3_fs, result.stdout, "/proc/*/environ or cmdline readable by the agent")


def test_strings_and_strace_of_the_wrapper(s3_fs) -> None:
    fs = s3_fs
    strings = as_user(fs.agent, ["strings", "-a", fs.wrapper])
    assert strings.returncode == 0 and strings.stdout
    assert_no_secret(fs, strings.stdout, "strings of the wrapper")
    trace = as_user(fs.agent, ["strace", "-f", "-s", "9999", "-e", "trace=execve,read,write", fs.wrapper, "status"])
    assert "execve" in trace.stderr, trace.stderr[-500:]
    assert_no_secret(fs, trace.stdout + trace.stderr, "strace of the wrapper")


def test_ptrace_of_the_daemon_is_refused(s3_fs) -> None:
    fs = s3_fs
    pid = str(daemon_pids(fs.mountpoint, fs.name, fs.agent)[0])
    result = as_user(fs.agent, ["timeout", "5", "strace", "-p", pid, "-s", "9999"])
    assert result.returncode != 0
    assert "Operation not permitted" in result.stderr or "attach" in result.stderr
    assert_no_secret(fs, result.stdout + result.stderr, "strace -p of the daemon")
    mem = as_user(fs.agent, ["dd", f"if=/proc/{pid}/mem", "bs=4096", "count=1", "skip=1"])
    assert mem.returncode != 0


def test_internal_files_logs_and_cache(s3_fs) -> None:
    fs = s3_fs
    for name in (".config", ".accesslog"):
        result = as_user(fs.agent, ["cat", f"{fs.mountpoint}/{name}"], timeout=10)
        assert result.returncode != 0, f"{name} is readable by the agent"
    for path in [*glob.glob(str(paths.LOG_DIR / "*")), str(paths.CACHE_DIR), str(paths.credentials_file(fs.name))]:
        result = as_user(fs.agent, ["cat", path], timeout=10)
        assert result.returncode != 0, f"{path} is readable by the agent"
    logs = as_user(fs.agent, ["sh", "-c", "cat /var/log/juicefs* /tmp/juicefs* ~/.juicefs/* 2>/dev/null; true"])
    assert_no_secret(fs, logs.stdout, "logs readable by the agent")
    # Root can read the mount log: it must not hold a secret either.
    assert_no_secret(fs, Path(paths.LOG_DIR / f"{fs.name}.mount.log").read_text(errors="replace"), "the mount log")


def test_sudo_rights_are_only_the_helper_lines(s3_fs) -> None:
    fs = s3_fs
    result = as_user(fs.agent, ["sudo", "-n", "-l"])
    assert result.returncode == 0, result.stderr
    commands = [line.strip() for line in result.stdout.split("may run the following commands")[1].splitlines()]
    text = " ".join(commands)
    assert "ALL" not in text.replace("(root)", "")
    assert text.count(str(paths.HELPER_PATH)) == 6
    listed = subprocess.run(["sudo", "-l", "-U", fs.agent], capture_output=True, text=True).stdout
    assert f"{paths.HELPER_PATH} {fs.name} mount" in listed, "the drop-in is not read by sudo"


@pytest.mark.parametrize(
    "argv",
    [
        ["{fs} mount", "{mp}"],
        ["{fs}", "mount {mp}"],
        ["{fs}", "mount", "{mp}", "--bucket=http://evil"],
        ["{fs}", "mount", "{mp}", "extra"],
        ["{fs}", "mount", "/tmp"],
        ["{fs}", "mount", "--storage=s3"],
        ["{fs}", "status", "{mp}/"],
    ],
)
def test_extra_or_merged_arguments_are_refused(s3_fs, argv) -> None:
    fs = s3_fs
    args = [part.format(fs=fs.name, mp=fs.mountpoint) for part in argv]
    before = fuse_mounts()
    result = as_user(fs.agent, ["sudo", "-n", str(paths.HELPER_PATH), *args])
    assert result.returncode != 0
    assert fuse_mounts() == before
    assert_no_secret(fs, result.stdout + result.stderr, "helper output")


def test_hostile_mountpoints_are_refused(install, tmp_path) -> None:
    fs = install("broker")
    link = f"/home/{fs.agent}/etc-link"
    as_user(fs.agent, ["ln", "-s", "/etc", link])
    for target in (link, "/tmp", "/tmp/x;id", "/tmp/$(id)", "/etc"):
        before = fuse_mounts()
        result = fs.run("mount", target)
        assert result.returncode != 0, target
        assert fuse_mounts() == before
        direct = as_user(fs.agent, ["sudo", "-n", str(paths.HELPER_PATH), fs.name, "mount", target])
        assert direct.returncode != 0
    assert os.path.islink(link) and os.readlink(link) == "/etc"


def test_symlinked_allowed_mountpoint_is_refused_by_the_helper(install) -> None:
    """Root replaced the allowed mountpoint by a symlink (or an attacker managed to): the helper refuses."""
    fs = install("broker")
    os.rmdir(fs.mountpoint)
    os.symlink("/etc", fs.mountpoint)
    try:
        result = fs.run("mount")
        assert result.returncode != 0
        assert "/etc" not in fuse_mounts()
    finally:
        os.unlink(fs.mountpoint)
        os.mkdir(fs.mountpoint, 0o755)


def test_other_users_cannot_enter_the_mount(install) -> None:
    fs = install("broker")
    other = install("broker")
    fs.mount()
    try:
        assert as_user(fs.agent, ["sh", "-c", f"echo mine > {fs.mountpoint}/f"]).returncode == 0
        assert as_user(other.agent, ["cat", f"{fs.mountpoint}/f"]).returncode != 0
        assert as_user(other.agent, ["ls", fs.mountpoint]).returncode != 0
        assert other.run("mount", user=other.agent).returncode == 0
        assert as_user(fs.agent, [other.wrapper, "status"]).returncode != 0
        assert as_user(other.agent, ["sudo", "-n", str(paths.HELPER_PATH), fs.name, "umount"]).returncode != 0
        assert fs.mountpoint in fuse_mounts()
    finally:
        fs.run("umount")
        other.run("umount")


def test_logrotate_snippet_is_installed_and_valid(install) -> None:
    install("broker")
    snippet = paths.LOGROTATE_FILE
    assert snippet.exists() and (snippet.stat().st_mode & 0o777) == 0o644
    if shutil.which("logrotate") is None:
        pytest.skip("logrotate is not installed (scripts/test.sh installs it)")
    result = subprocess.run(["logrotate", "-d", str(snippet)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "create 0600 root root" in snippet.read_text()


def test_callers_environment_does_not_reach_the_helper(install) -> None:
    """The agent plants modules and start-up hooks and points every variable it can at them: sudo resets the
    environment and the helper's interpreter runs isolated (-I -S), so none of it runs as root."""
    fs = install("broker")
    home = f"/home/{fs.agent}"
    marker = f"{home}/ran-as-root"
    payload = f"import os\nopen({marker!r}, 'w').write(str(os.geteuid()))\n"
    for name in ("juicefs_guard_helper.py", "os.py", "stat.py", "sitecustomize.py", "usercustomize.py", "evil.py"):
        as_user(fs.agent, ["sh", "-c", f"printf '%s' \"$1\" > {home}/{name}", "sh", payload])
    hostile = [
        f"PYTHONPATH={home}",
        f"PYTHONSTARTUP={home}/evil.py",
        f"PYTHONHOME={home}",
        f"PYTHONUSERBASE={home}",
        f"LD_PRELOAD={home}/evil.so",
        f"PATH={home}:/usr/bin:/bin",
        "PYTHONINSPECT=1",
    ]
    for command in ([fs.wrapper, "status"], ["sudo", "-n", str(paths.HELPER_PATH), fs.name, "status"]):
        result = as_user(fs.agent, ["env", *hostile, *command], cwd=home)
        assert "not mounted" in result.stdout, result.stderr
        assert not os.path.exists(marker), f"{command[0]} ran the agent's code"
