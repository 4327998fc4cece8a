"""Embedded mode, the seed's model: the credentials are compiled into the agent's shc binary and the agent's
own juicefs daemon holds them. It obfuscates; it does not isolate (the audit says so, with evidence)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from juicefs_guard import juicefs, wrappers
from juicefs_guard.host.transaction import Transaction
from juicefs_guard.host.users import Account
from juicefs_guard.modes.common import install_wrapper, prepare_mountpoints
from juicefs_guard.registry import file_sha256
from juicefs_guard.secrets import Secret
from juicefs_guard.spec import FilesystemSpec


def build_wrapper(spec: FilesystemSpec, client: str, secrets: Mapping[str, Secret]) -> bytes:
    script = wrappers.render_wrapper(
        spec,
        juicefs=client,
        helper="",
        sudo="",
        mount_options=juicefs.mount_options("embedded", spec.name),
        global_options=juicefs.global_options(),
        secrets=secrets,
    )
    return wrappers.compile_script(script)


def install(
    tx: Transaction, spec: FilesystemSpec, account: Account, client: str, secrets: Mapping[str, Secret]
) -> dict[str, Any]:
    prepare_mountpoints(tx, "embedded", account, spec.mountpoints)
    binary = build_wrapper(spec, client, secrets)
    wrapper = install_wrapper(tx, spec.scripts_dir, spec.name, account, binary)
    return {"wrapper": str(wrapper), "wrapper_sha256": file_sha256(wrapper)}


def rotate(tx: Transaction, spec: FilesystemSpec, account: Account, client: str, secrets: Mapping[str, Secret]) -> dict:
    """A freshly compiled binary replaces the old one atomically; the old secret leaves with it."""
    binary = build_wrapper(spec, client, secrets)
    wrapper = install_wrapper(tx, spec.scripts_dir, spec.name, account, binary)
    return {"wrapper": str(wrapper), "wrapper_sha256": file_sha256(wrapper)}
