"""A minimal TOML writer for the registry (the standard library reads TOML but does not write it)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dumps(document: Mapping[str, Any]) -> str:
    """Scalars and lists first, then one `[table]` per nested mapping (one level deep is all we need)."""
    lines = []
    tables = []
    for key, value in document.items():
        if isinstance(value, Mapping):
            tables.append((key, value))
        elif value is not None:
            lines.append(f"{key} = {_value(value)}")
    for key, table in tables:
        lines.append("")
        lines.append(f"[{key}]")
        for sub_key, sub_value in table.items():
            if sub_value is not None:
                lines.append(f"{_value(str(sub_key))} = {_value(sub_value)}")
    return "\n".join(lines) + "\n"
