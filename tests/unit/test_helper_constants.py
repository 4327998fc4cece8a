"""The helper cannot import the package (it runs isolated as root), so it repeats a few constants: keep them equal."""

from __future__ import annotations

from juicefs_guard import helper, paths, secrets, spec


def test_helper_constants_match_the_package() -> None:
    assert helper.REGISTRY_DIR == str(paths.REGISTRY_DIR)
    assert helper.CREDENTIALS_DIR == str(paths.CREDENTIALS_DIR)
    assert helper.LOG_DIR == str(paths.LOG_DIR)
    assert helper.HELPER_LOG == str(paths.HELPER_LOG)
    assert spec.FS_NAME_RE.pattern == r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$"  # what valid_fs_name spells out
    assert tuple(helper.SECRET_KEYS) == tuple(secrets.SECRET_KEYS)


def test_helper_imports_only_the_standard_library() -> None:
    import ast
    import sys
    from pathlib import Path

    tree = ast.parse(Path(helper.__file__).read_text())
    modules = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    modules |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert modules <= set(sys.stdlib_module_names), modules - set(sys.stdlib_module_names)


def test_helper_refuses_wrong_argument_counts_without_root_work() -> None:
    """Argument checks come first: any argc but 2 or 3 is refused before the registry is read."""
    import pytest

    for argv in ([], ["fs"], ["fs", "mount", "/x", "extra"]):
        with pytest.raises(helper.Refused):
            helper.check_request(argv, 1000)
