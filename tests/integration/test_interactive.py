"""The interactive `init`, driven through a real pseudo-terminal (pexpect), answering every prompt; then the
agent mounts and writes."""

from __future__ import annotations

import os

import pexpect

from tests.support.host import CLI, as_user, force_remove, unique_name

ENTER = "\r"


def test_interactive_init_end_to_end(redis, tmp_path) -> None:
    agent, name = unique_name(), unique_name("fs")
    bucket = tmp_path / "bucket"
    bucket.mkdir(mode=0o700)
    env = {"PATH": os.environ["PATH"], "TERM": "xterm", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    child = pexpect.spawn(CLI, ["init"], env=env, encoding="utf-8", timeout=60, dimensions=(40, 200))
    try:
        child.expect("Agent user")
        child.send("\x15" + agent + ENTER)  # ^U clears the default
        child.expect("Filesystem name")
        child.send(name + ENTER)
        child.expect("Credential mode")
        child.expect("recommended")
        child.send(ENTER)  # broker is preselected
        child.expect("Metadata URL")
        child.send(redis.url(9) + ENTER)
        child.expect("Format the volume")
        child.send("y")
        child.expect("Storage type")
        child.send("\x15file" + ENTER)
        child.expect("Bucket URL or path")
        child.send(f"{bucket}/" + ENTER)
        child.expect("Mountpoint")
        child.send(ENTER)
        child.expect("Metadata engine password")
        child.send(redis.password + ENTER)
        child.expect("access key")
        child.send(ENTER)
        child.expect("secret key")
        child.send(ENTER)
        child.expect("About to install")
        child.expect("Proceed")
        assert redis.password not in child.before
        child.send("y")
        child.expect("The agent runs: ", timeout=180)
        child.expect(pexpect.EOF, timeout=60)
        child.close()
        assert child.exitstatus == 0
        wrapper = f"/home/{agent}/juicefs-scripts/{name}"
        assert as_user(agent, [wrapper, "mount"]).returncode == 0
        mountpoint = f"/srv/juicefs-guard/{agent}/{name}"
        try:
            wrote = as_user(agent, ["sh", "-c", f"echo typed > {mountpoint}/t && cat {mountpoint}/t"])
            assert wrote.stdout == "typed\n"
        finally:
            as_user(agent, [wrapper, "umount"])
    finally:
        if child.isalive():
            child.terminate(force=True)
        force_remove(name, agent)
