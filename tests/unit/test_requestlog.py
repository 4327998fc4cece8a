"""Parsing of the two request logs: the helper's JSON lines and sudo's multi-line logfile entries."""

from __future__ import annotations

import json

from juicefs_guard import paths, requestlog

HELPER = str(paths.HELPER_PATH)
SUDO_LOG = f"""Nov 24 22:41:22 : agent1 : PWD=/ ; USER=root ;
    COMMAND={HELPER} devfs mount
Nov 24 22:41:39 : agent1 : a password is required ; PWD=/tmp ; USER=root ;
    COMMAND={HELPER} devfs mount /tmp
Nov 24 22:41:40 : agent1 : command not allowed ; PWD=/tmp ; USER=root ;
    COMMAND=/bin/bash
"""


def test_sudo_entries_joined_and_refusals_found(tmp_path) -> None:
    log = tmp_path / "sudo-agent1.log"
    log.write_text(SUDO_LOG)
    entries = list(requestlog.sudo_requests(str(log), year=2026))
    assert [e.outcome for e in entries] == ["allowed", "refused", "refused"]
    assert entries[1].filesystem == "devfs" and entries[1].action == "mount" and entries[1].mountpoint == "/tmp"
    assert "a password is required" in entries[1].reason
    assert entries[2].filesystem == "" and "/bin/bash" in entries[2].reason


def test_offsets_read_only_new_lines(tmp_path) -> None:
    log = tmp_path / "sudo-agent1.log"
    log.write_text(SUDO_LOG)
    offsets = {str(log): log.stat().st_size}
    assert list(requestlog.sudo_requests(str(log), offsets=offsets)) == []
    with log.open("a") as handle:
        handle.write(f"Nov 24 23:00:00 : agent1 : a password is required ; USER=root ;\n    COMMAND={HELPER} x mount\n")
    assert [e.action for e in requestlog.sudo_requests(str(log), offsets=offsets)] == ["mount"]
    log.write_text("")  # rotated: shorter than the offset, read from the start
    assert list(requestlog.sudo_requests(str(log), offsets=offsets)) == []


def test_helper_json_lines_and_garbage(tmp_path) -> None:
    log = tmp_path / "helper.log"
    record = {
        "time": "2026-11-24T22:41:22+0000",
        "user": "a",
        "uid": 1001,
        "filesystem": "fs",
        "action": "mount",
        "mountpoint": "/srv/x",
        "outcome": "refused",
        "reason": "not allowed",
    }
    log.write_text(json.dumps(record) + "\nnot json\n")
    entries = list(requestlog.helper_requests(str(log)))
    assert len(entries) == 1 and entries[0].uid == 1001 and entries[0].outcome == "refused"


def test_parse_since() -> None:
    import datetime

    import pytest

    from juicefs_guard.errors import UserError

    delta = datetime.datetime.now(datetime.UTC) - requestlog.parse_since("2h")
    assert 7190 < delta.total_seconds() < 7210
    assert requestlog.parse_since("2026-11-24").year == 2026
    with pytest.raises(UserError):
        requestlog.parse_since("yesterday")
