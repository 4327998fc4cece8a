"""The helper does without `re`, `json` and `tomllib` to start fast; its small parsers must agree with them."""

from __future__ import annotations

import json
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from juicefs_guard import helper, spec, tomlw

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x7f"), max_size=40)
SCALAR = st.one_of(TEXT, st.integers(min_value=-(2**63), max_value=2**63 - 1), st.booleans())
VALUE = st.one_of(SCALAR, st.lists(SCALAR, max_size=5))
BARE_KEY = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-0123456789", min_size=1, max_size=12)
TABLE = st.dictionaries(TEXT.filter(bool), VALUE, max_size=4)
DOCUMENT = st.dictionaries(BARE_KEY, st.one_of(VALUE, TABLE), max_size=8)


@settings(max_examples=300, deadline=None)
@given(DOCUMENT)
def test_registry_parser_reads_what_tomlw_writes_like_tomllib(document) -> None:
    text = tomlw.dumps(document)
    assert helper.parse_registry(text) == tomllib.loads(text)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='"\\\n'), max_size=30))
def test_registry_parser_takes_raw_string_characters_like_tomllib(raw) -> None:
    """Characters tomlw never leaves raw (tabs, control characters, DEL) are judged as tomllib judges them."""
    text = f'a = "{raw}"\n'
    try:
        expected = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        with pytest.raises(helper.RegistryFormatError):
            helper.parse_registry(text)
    else:
        assert helper.parse_registry(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "a = 1.5\n",  # floats are never written
        "a = 'literal'\n",
        'a = """multi"""\n',
        "a = 1\na = 2\n",
        "a.b = 1\n",
        "a = [1, 2\n",
        'a = "x" junk\n',
        "[[array]]\n",
        "a = 0x10\n",
        "a = 01\n",
        'a = "\\q"\n',
        'a = "\\ud800"\n',
        "key without value\n",
    ],
)
def test_registry_parser_refuses_what_tomlw_never_writes(text) -> None:
    with pytest.raises(helper.RegistryFormatError):
        helper.parse_registry(text)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(TEXT, st.one_of(TEXT, st.integers(), st.none()), max_size=8))
def test_log_lines_are_json(record) -> None:
    line = helper.json_line(record)
    assert line.isascii() and "\n" not in line
    assert json.loads(line) == record


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.A/ ", max_size=40))
def test_fs_name_check_equals_the_package_pattern(name) -> None:
    assert helper.valid_fs_name(name) == bool(spec.FS_NAME_RE.fullmatch(name))


@pytest.mark.parametrize(
    ("field", "path"),
    [
        ("/srv/plain", "/srv/plain"),
        ("/srv/with\\040space", "/srv/with space"),
        ("/srv/tab\\011and\\012newline", "/srv/tab\tand\nnewline"),
        ("/srv/back\\134slash", "/srv/back\\slash"),
        ("/srv/not\\08octal", "/srv/not\\08octal"),
    ],
)
def test_mountinfo_unescape(field, path) -> None:
    assert helper.unescape_mountinfo(field) == path
