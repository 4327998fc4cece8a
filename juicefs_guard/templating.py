"""The one Jinja2 environment: StrictUndefined, no autoescape surprises, and `shell_quote` as the one
quoting filter for every value that reaches a shell script."""

from __future__ import annotations

import shlex
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2


def shell_quote(value: object) -> str:
    """Quote one value for POSIX sh. Refuses undefined values and NUL, which no shell string can hold."""
    if isinstance(value, jinja2.Undefined):
        raise jinja2.UndefinedError("a template quoted an undefined value")
    if hasattr(value, "reveal"):
        value = value.reveal()  # a Secret: the wrapper in embedded mode must carry it
    text = str(value)
    if "\0" in text:
        raise ValueError("a value holds a NUL byte, which a shell script cannot carry")
    return shlex.quote(text)


def _template_root() -> Path:
    """Templates ship in the wheel as package `juicefs_guard.templates`; from a source tree, read them in place."""
    try:
        from importlib.resources import files

        root = files("juicefs_guard.templates")
        path = Path(str(root))
        if path.is_dir():
            return path
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parent.parent / "wrapper_templates"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_template_root())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - shell and YAML, not HTML; values go through explicit filters
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["shell_quote"] = shell_quote
    env.filters["q"] = shell_quote
    return env


def render_template(template_name: str, /, **context: Any) -> str:
    return environment().get_template(template_name).render(**context)
