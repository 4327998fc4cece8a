"""Property-based tests (hypothesis): the validators accept exactly their patterns, and any string accepted as a
secret reaches the juicefs process byte for byte through the rendered wrapper, however hostile."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from juicefs_guard import spec as specmod
from juicefs_guard.errors import UserError
from juicefs_guard.secrets import Secret, parse_secrets_text, render_secrets_text
from juicefs_guard.wrappers import render_wrapper

# Anything a KEY=VALUE line can hold: no NUL, no line break, not empty.
SECRET_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n\r"), min_size=1, max_size=60
)


@given(st.text(max_size=40))
def test_fs_name_validator_matches_its_pattern(name: str) -> None:
    ok = bool(re.fullmatch(r"[a-z][a-z0-9-]{1,30}[a-z0-9]", name))
    try:
        specmod.validate_fs_name(name)
        accepted = True
    except UserError:
        accepted = False
    assert accepted == ok
    if accepted:
        assert "." not in name and not name.endswith("~"), "sudo would ignore the drop-in"


@given(st.text(max_size=40))
def test_user_validator_never_accepts_system_or_odd_names(name: str) -> None:
    try:
        specmod.validate_user_name(name)
    except UserError:
        return
    assert name not in specmod.SYSTEM_USERS
    assert re.fullmatch(r"[a-z_][a-z0-9_-]*", name) and len(name) <= 31


@given(st.text(max_size=60))
def test_mountpoint_validator_accepts_only_plain_absolute_paths(path: str) -> None:
    try:
        normal = specmod.validate_mountpoint(path)
    except UserError:
        return
    assert normal.startswith("/") and "\n" not in normal and ".." not in normal.split("/")
    assert normal not in specmod.SYSTEM_DIRS


@given(SECRET_TEXT)
def test_secrets_file_round_trip(value: str) -> None:
    text = render_secrets_text({"META_PASSWORD": Secret(value)})
    assert parse_secrets_text(text, "test")["META_PASSWORD"].reveal() == value


def _stub(directory: Path) -> Path:
    stub = directory / "juicefs"
    stub.write_text('#!/bin/sh\nprintf %s "$META_PASSWORD" > "$JFG_OUT"\nprintf %s "$SECRET_KEY" > "$JFG_OUT.sk"\n')
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    return stub


def render_embedded(directory: Path, password: str, secret_key: str) -> str:
    spec = specmod.FilesystemSpec(
        name="propfs",
        agent="propagent",
        mode="embedded",
        meta_url="redis://127.0.0.1:1/1",
        mountpoints=[str(directory / "mnt")],
        scripts_dir=str(directory),
    )
    return render_wrapper(
        spec,
        juicefs=str(_stub(directory)),
        helper="",
        sudo="",
        mount_options=[],
        global_options=[],
        secrets={"META_PASSWORD": Secret(password), "SECRET_KEY": Secret(secret_key)},
    )


def run_wrapper(argv: list[str], directory: Path) -> None:
    env = {"JFG_OUT": str(directory / "out"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([*argv, "mount"], env=env, capture_output=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(password=SECRET_TEXT, secret_key=SECRET_TEXT)
def test_rendered_wrapper_passes_any_secret_verbatim(tmp_path: Path, password: str, secret_key: str) -> None:
    (tmp_path / "mnt").mkdir(exist_ok=True)
    script = tmp_path / "wrapper.sh"
    script.write_text(render_embedded(tmp_path, password, secret_key))
    run_wrapper(["bash", str(script)], tmp_path)
    assert (tmp_path / "out").read_bytes() == password.encode()
    assert (tmp_path / "out.sk").read_bytes() == secret_key.encode()


HOSTILE = ["'; rm -rf / #", '"$(id)"', "`id`", "a\\b\\\\c", "$HOME ${PATH}", "x;|&<>()*?[]{}!~#", " lead", "tail "]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_are_quoted_not_run(tmp_path: Path, value: str) -> None:
    (tmp_path / "mnt").mkdir()
    script = tmp_path / "wrapper.sh"
    script.write_text(render_embedded(tmp_path, value, value))
    run_wrapper(["bash", str(script)], tmp_path)
    assert (tmp_path / "out").read_bytes() == value.encode()
    assert sorted(os.listdir(tmp_path)) == sorted(["juicefs", "mnt", "out", "out.sk", "wrapper.sh"])
