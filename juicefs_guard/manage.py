"""`list`, `status` and `rotate`: read the registry, and replace credentials without a gap."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from juicefs_guard import juicefs, paths, registry
from juicefs_guard.errors import OperationFailed, UserError
from juicefs_guard.helper import client_argv, client_environment, mount_table
from juicefs_guard.host import users
from juicefs_guard.host.lock import registry_lock
from juicefs_guard.host.run import run
from juicefs_guard.host.transaction import transaction
from juicefs_guard.secrets import Secret
from juicefs_guard.spec import FilesystemSpec

Progress = Callable[[str], None]


def spec_from_entry(entry: Mapping[str, Any]) -> FilesystemSpec:
    """The spec an entry was installed from (nested settings were stored as JSON strings)."""
    settings = dict(entry.get("settings", {}))
    meta_tls = settings.get("meta_tls") or "{}"
    return FilesystemSpec(
        name=entry["name"],
        agent=entry["agent"],
        mode=entry["mode"],
        meta_url=entry["meta_url"],
        mountpoints=list(entry.get("mountpoints", [])),
        scripts_dir=entry["scripts_dir"],
        storage=entry.get("storage", ""),
        bucket=entry.get("bucket", ""),
        nft_block=bool(settings.get("nft_block", False)),
        meta_tls=json.loads(meta_tls) if isinstance(meta_tls, str) else dict(meta_tls),
        secrets_command=settings.get("secrets_command", ""),
    )


def mount_state(entry: Mapping[str, Any], table: Mapping[str, str] | None = None) -> dict[str, bool]:
    table = mount_table() if table is None else table
    return {mp: table.get(mp, "").startswith("fuse.juicefs") for mp in entry.get("mountpoints", [])}


def last_audit_results() -> dict[str, str]:
    """Per filesystem: 'fail', 'warn' or 'pass' from the last kept audit report, or nothing if none."""
    try:
        document = json.loads(paths.LAST_REPORT.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    worst: dict[str, str] = {}
    rank = {"pass": 0, "skip": 0, "warn": 1, "fail": 2}
    for finding in document.get("findings", []):
        target, status = finding.get("filesystem", ""), finding.get("status", "pass")
        if rank.get(status, 0) >= rank.get(worst.get(target, "pass"), 0):
            worst[target] = status if status != "skip" else worst.get(target, "pass")
    started = document.get("started", "")
    return {target: f"{status} ({started})" if started else status for target, status in worst.items()}


def describe(entry: Mapping[str, Any], audits: Mapping[str, str], table: Mapping[str, str]) -> dict[str, Any]:
    return {
        "name": entry["name"],
        "mode": entry["mode"],
        "agent": entry["agent"],
        "wrapper": entry.get("wrapper", ""),
        "mountpoints": mount_state(entry, table),
        "secrets": list(entry.get("secret_keys", [])) or (["secrets-command"] if entry.get("secrets_command") else []),
        "last_audit": audits.get(entry["name"], "never"),
    }


def list_filesystems(name: str | None = None) -> list[dict[str, Any]]:
    entries = [registry.require(name)] if name else list(registry.entries())
    audits = last_audit_results()
    table = mount_table()
    return [describe(entry, audits, table) for entry in entries]


def format_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no filesystem installed; add one with: sudo juicefs-guard init"
    lines = [f"{'NAME':<20} {'MODE':<9} {'AGENT':<16} {'MOUNTED':<8} {'LAST AUDIT':<34} MOUNTPOINTS"]
    for row in rows:
        mounted = f"{sum(row['mountpoints'].values())}/{len(row['mountpoints'])}"
        points = ", ".join(row["mountpoints"])
        lines.append(
            f"{row['name']:<20} {row['mode']:<9} {row['agent']:<16} {mounted:<8} {row['last_audit']:<34} {points}"
        )
    return "\n".join(lines)


def smooth_restart(entry: Mapping[str, Any], mountpoint: str, secrets: Mapping[str, str]) -> None:
    """A second `juicefs mount` on a mounted point takes over the FUSE connection: open files stay open,
    and the daemon that holds the old secret exits."""
    argv = client_argv(entry, mountpoint)
    argv.insert(argv.index("mount") + 1, "-d")
    result = run(argv, env=client_environment(secrets), timeout=120)
    if result.returncode != 0 or not mount_state(entry).get(mountpoint):
        detail = juicefs.scrub((result.stderr or result.stdout), {k: Secret(v) for k, v in secrets.items()})
        raise OperationFailed(
            f"the new credentials are installed but remounting {mountpoint} failed: {detail}; "
            f"the agent can run `umount` and `mount` again"
        )


def rotate(name: str, secrets: Mapping[str, Secret], progress: Progress = print) -> dict[str, Any]:
    from juicefs_guard.install import MODES, require_root

    require_root("rotate")
    with registry_lock():
        entry = registry.require(name)
        if entry.get("secrets_command"):
            raise UserError(
                f"{name} fetches its secrets with a command at mount time; change them at their source instead"
            )
        if not secrets:
            raise UserError(
                "no secrets given; pass --secrets-file FILE with the new META_PASSWORD/ACCESS_KEY/SECRET_KEY"
            )
        spec = spec_from_entry(entry)
        account = users.lookup(spec.agent)
        if account is None:
            raise UserError(f"agent user {spec.agent} no longer exists; re-run init for {name}")
        client = entry.get("juicefs") or str(paths.MANAGED_JUICEFS)
        progress("checking the new credentials against the metadata engine...")
        juicefs.check_reachable(juicefs.find_client(client), entry.get("mount_meta_url") or spec.meta_url, secrets)
        with transaction() as tx:
            progress(f"installing the new credentials of {name} ({spec.mode} mode)...")
            fields = MODES[spec.mode].rotate(tx, spec, account, client, secrets)
            updated = dict(entry)
            updated.update(fields)
            salt = registry.new_salt()
            updated["secret_keys"] = sorted(secrets)
            updated["secret_salt"] = salt
            updated["secret_hashes"] = registry.secret_digests(salt, secrets)
            registry.save(name, updated)
            tx.commit()
        if spec.mode == "broker":
            plain = {key: secret.reveal() for key, secret in secrets.items()}
            for mountpoint, mounted in mount_state(updated).items():
                if mounted:
                    progress(f"remounting {mountpoint} with the new credentials (open files stay open)...")
                    smooth_restart(updated, mountpoint, plain)
        elif any(mount_state(updated).values()):
            progress(
                "note: the agent's running daemon still holds the old secret in its environment; "
                "it goes away when the agent runs umount and mount again"
            )
    return updated
