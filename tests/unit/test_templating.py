"""Rendering: every value quoted, undefined variables are errors, NUL is refused."""

from __future__ import annotations

import jinja2
import pytest

from juicefs_guard.secrets import Secret
from juicefs_guard.templating import environment, shell_quote


def test_quoting_of_hostile_values() -> None:
    assert shell_quote("a b") == "'a b'"
    assert shell_quote("it's") == "'it'\"'\"'s'"
    assert shell_quote("$(id)") == "'$(id)'"
    assert shell_quote(Secret("s3cr3t")) == "s3cr3t"


def test_nul_is_refused() -> None:
    with pytest.raises(ValueError):
        shell_quote("a\0b")


def test_strict_undefined() -> None:
    template = environment().from_string("X={{ missing | q }}")
    with pytest.raises(jinja2.UndefinedError):
        template.render()
    with pytest.raises(jinja2.UndefinedError):
        environment().from_string("{{ missing }}").render()


def test_secret_never_prints_itself() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret) and "hunter2" not in f"{secret}"


def test_all_templates_render_with_strict_undefined() -> None:
    from juicefs_guard.host import sudoers

    text = sudoers.render("fsx", "agentx", "/usr/local/lib/juicefs-guard/helper", ["/srv/juicefs-guard/agentx/fsx"])
    assert "NOPASSWD: JFG_FSX" in text and "ALL, " not in text
    assert text.count("/usr/local/lib/juicefs-guard/helper fsx ") == 6
