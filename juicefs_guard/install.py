"""`init`: validate everything, then change the host in steps that each know how to undo themselves."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from juicefs_guard import __version__, juicefs, metatls, paths, registry, wrappers
from juicefs_guard.errors import UserError
from juicefs_guard.host import nft, users
from juicefs_guard.host.lock import registry_lock
from juicefs_guard.host.run import is_root
from juicefs_guard.host.transaction import Transaction, transaction
from juicefs_guard.modes import broker, embedded
from juicefs_guard.secrets import Secret
from juicefs_guard.spec import FilesystemSpec, redact_url

MODES = {"broker": broker, "embedded": embedded}

Progress = Callable[[str], None]


@dataclass
class InitRequest:
    spec: FilesystemSpec
    secrets: Mapping[str, Secret]
    juicefs_source: str | None = None
    force: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class InitResult:
    changed: bool
    entry: dict[str, Any]
    message: str


def require_root(command: str) -> None:
    if not is_root():
        raise UserError(
            f"{command} changes users, sudoers and root-only files; run it as root: sudo juicefs-guard {command}"
        )


FORMAT_ONLY = ("storage", "bucket")


def changed_settings(existing: Mapping[str, Any], spec: FilesystemSpec) -> list[str]:
    """Settings that differ. Storage and bucket matter only to --format: a re-run without them is the same."""
    old = existing.get("settings", {})
    new = _storable(spec.settings())
    return [key for key in new if old.get(key) != new.get(key) and not (key in FORMAT_ONLY and not new.get("storage"))]


def same_install(existing: Mapping[str, Any], spec: FilesystemSpec, secrets: Mapping[str, Secret]) -> bool:
    if changed_settings(existing, spec):
        return False
    if sorted(existing.get("secret_keys", [])) != sorted(secrets):
        return False
    return all(registry.matches_secret(existing, key, secret.reveal()) for key, secret in secrets.items())


def _storable(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as they read back from TOML (a nested mapping becomes a JSON string, so equality holds)."""
    import json

    return {
        key: json.dumps(value, sort_keys=True) if isinstance(value, dict) else value for key, value in settings.items()
    }


def describe_difference(existing: Mapping[str, Any], spec: FilesystemSpec) -> str:
    return ", ".join(changed_settings(existing, spec)) or "secrets"


def check_conflicts(spec: FilesystemSpec) -> None:
    for other in registry.entries():
        if other.get("name") == spec.name:
            continue
        clash = set(other.get("mountpoints", [])) & set(spec.mountpoints)
        if clash:
            raise UserError(
                f"mountpoint {sorted(clash)[0]} already belongs to filesystem {other['name']}; "
                "choose another --mountpoint"
            )


def preflight(spec: FilesystemSpec, secrets: Mapping[str, Secret], source: str | None, progress: Progress) -> str:
    """Everything that can fail without changing the host: tools, the client, the metadata engine, format."""
    wrappers.check_toolchain()
    if spec.mode == "broker":
        broker.find_sudo()
    client = juicefs.find_client(source)
    if spec.nft_block:
        nft.find_nft()
        nft.endpoints(spec.meta_url)
    meta_url = metatls.url_with_files(spec.meta_url, spec.meta_tls)
    if spec.format:
        progress(f"formatting volume {spec.name} at {redact_url(spec.meta_url)} (if not formatted yet)...")
        formatted = juicefs.format_volume(client, meta_url, spec.name, spec.storage, spec.bucket, secrets)
        progress("volume formatted" if formatted else "volume already formatted; left as it is")
    else:
        progress(f"checking the metadata engine at {redact_url(spec.meta_url)}...")
        juicefs.check_reachable(client, meta_url, secrets)
    return str(client)


def ensure_account(tx: Transaction, spec: FilesystemSpec, progress: Progress) -> tuple[users.Account, bool]:
    account = users.lookup(spec.agent)
    if account is not None:
        users.check_adoptable(account)
        return account, False
    progress(f"creating agent user {spec.agent} (locked, own primary group)...")
    with tx.step():
        account = users.create(spec.agent)
        tx.on_rollback(f"user {spec.agent}", lambda: users.delete(spec.agent))
    return account, True


def ensure_client(tx: Transaction, source: str) -> str:
    from pathlib import Path

    from juicefs_guard.modes.common import make_directory

    make_directory(tx, paths.LIB_DIR, mode=0o755)
    existed = paths.MANAGED_JUICEFS.exists()
    with tx.step():
        target, _changed = juicefs.install_client(Path(source))
        if not existed and target == paths.MANAGED_JUICEFS:
            tx.on_rollback("the managed juicefs client", lambda: paths.MANAGED_JUICEFS.unlink(missing_ok=True))
    return str(target)


def build_entry(
    spec: FilesystemSpec,
    account: users.Account,
    created_user: bool,
    client: str,
    secrets: Mapping[str, Secret],
    mode_fields: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    salt = registry.new_salt()
    entry: dict[str, Any] = {
        "name": spec.name,
        "mode": spec.mode,
        "agent": spec.agent,
        "agent_uid": account.uid,
        "agent_gid": account.gid,
        "agent_group": account.group,
        "created_user": created_user,
        "meta_url": spec.meta_url,
        "storage": spec.storage,
        "bucket": spec.bucket,
        "mountpoints": list(spec.mountpoints),
        "scripts_dir": spec.scripts_dir,
        "juicefs": client,
        "juicefs_sha256": registry.file_sha256(client),
        "secret_keys": sorted(secrets),
        "secret_salt": salt,
        "installed_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "version": __version__,
    }
    entry.update(mode_fields)
    entry.update(extra)
    entry["secret_hashes"] = registry.secret_digests(salt, secrets)
    entry["settings"] = _storable(spec.settings())
    return entry


def init(request: InitRequest, progress: Progress = print) -> InitResult:
    spec = request.spec
    require_root("init")
    with registry_lock():
        existing = registry.load(spec.name)
        if existing is not None:
            if same_install(existing, spec, request.secrets):
                return InitResult(
                    False, existing, f"{spec.name} is already installed with these settings; nothing to do"
                )
            if not request.force:
                raise UserError(
                    f"filesystem {spec.name} is already installed with other settings "
                    f"({describe_difference(existing, spec)}); re-run with --force to replace it, or use "
                    f"`juicefs-guard rotate {spec.name}` to change only the secrets"
                )
        check_conflicts(spec)
        source = preflight(spec, request.secrets, request.juicefs_source, progress)
        if existing is not None:
            from juicefs_guard.uninstall import remove_installation

            progress(f"replacing the existing installation of {spec.name} (--force)...")
            remove_installation(existing, delete_user=False, progress=progress)
        with transaction() as tx:
            account, created_user = ensure_account(tx, spec, progress)
            client = ensure_client(tx, source)
            progress(f"installing {spec.mode}-mode wrapper (shc) and root-only files...")
            mode_fields = MODES[spec.mode].install(tx, spec, account, client, request.secrets)
            if spec.nft_block:
                progress(f"blocking uid {account.uid} from the metadata engine (nftables)...")
                with tx.step():
                    targets = nft.install(spec.name, account.uid, spec.meta_url)
                    tx.on_rollback("the nftables rule", lambda: nft.remove(spec.name))
                mode_fields = {**mode_fields, "nft_block": True, "nft_targets": [f"{a}:{p}" for a, p in targets]}
            entry = build_entry(spec, account, created_user, client, request.secrets, mode_fields, request.extra)
            with tx.step():
                registry.save(spec.name, entry)
                tx.on_rollback(f"registry entry {spec.name}", lambda: registry.delete(spec.name))
            tx.commit()
    return InitResult(True, entry, f"{spec.name} installed in {spec.mode} mode for agent {spec.agent}")
