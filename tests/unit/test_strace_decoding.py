"""The audit finds secrets in strace output only after decoding strace's C escapes, and in shell assignments only
after undoing the shell quoting: the two steps that made an embedded wrapper's strace look clean."""

from __future__ import annotations

import shlex

from hypothesis import given, settings
from hypothesis import strategies as st

from juicefs_guard.audit.attacks import strace_strings
from juicefs_guard.audit.context import _candidates


def strace_escape(text: str) -> str:
    """What strace -s prints for a string argument: printable ASCII as is, the usual C escapes, octal otherwise
    (three digits when an octal digit follows, as strace does, so that the escape stays unambiguous)."""
    out = []
    data = text.encode("utf-8")
    for index, byte in enumerate(data):
        ch = chr(byte)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif 32 <= byte < 127:
            out.append(ch)
        elif data[index + 1 : index + 2].isdigit() and data[index + 1] < ord("8"):
            out.append(f"\\{byte:03o}")
        else:
            out.append(f"\\{byte:o}")
    return '"' + "".join(out) + '"'


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=4))
def test_strace_strings_decode_what_strace_escapes(values) -> None:
    line = "execve(" + strace_escape("/bin/bash") + ", [" + ", ".join(map(strace_escape, values)) + "], 0x7f) = 0"
    assert strace_strings(line) == ["/bin/bash", *values]


def test_hostile_password_in_a_traced_script_becomes_a_candidate() -> None:
    password = "p@ss w'o\"rd $HOME \\x ;|&`id` end"
    script = f"#!/bin/bash\nset -u\n    export META_PASSWORD={shlex.quote(password)}\nexec true\n"
    line = f"execve({strace_escape('/bin/bash')}, [{strace_escape('bash')}, {strace_escape(script)}], 0x1) = 0"
    decoded = "\n".join(strace_strings(line))
    assert password in _candidates(decoded)
