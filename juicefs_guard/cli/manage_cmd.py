"""`list`, `status`, `rotate`, `remove`: operate installed filesystems. Thin: parse, call, print."""

from __future__ import annotations

import json
import sys

import typer

from juicefs_guard import manage, registry
from juicefs_guard.errors import UserError
from juicefs_guard.install import require_root
from juicefs_guard.secrets import read_secrets_file
from juicefs_guard.uninstall import remove


def list_command(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List installed filesystems: mode, agent, mounted mountpoints, last audit result."""
    require_root("list")
    rows = manage.list_filesystems()
    typer.echo(json.dumps({"filesystems": rows}, indent=2) if as_json else manage.format_table(rows))


def status_command(
    name: str | None = typer.Argument(None, help="One filesystem (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show whether each mountpoint is mounted, and the last audit result. Exit 3 if a NAME is not mounted."""
    require_root("status")
    rows = manage.list_filesystems(name)
    if as_json:
        typer.echo(json.dumps({"filesystems": rows}, indent=2))
    else:
        for row in rows:
            typer.echo(f"{row['name']} ({row['mode']} mode, agent {row['agent']}, last audit: {row['last_audit']})")
            for mountpoint, mounted in row["mountpoints"].items():
                typer.echo(f"  {mountpoint}: {'mounted' if mounted else 'not mounted'}")
        if not rows:
            typer.echo(manage.format_table(rows))
    if name and not any(rows[0]["mountpoints"].values()):
        raise typer.Exit(3)


def rotate_command(
    name: str = typer.Argument(..., help="The filesystem whose credentials change."),
    secrets_file: str = typer.Option(
        ..., "--secrets-file", metavar="FILE", help="Root-owned 0600 KEY=VALUE file with the new secrets, or -."
    ),
) -> None:
    """Replace a filesystem's credentials atomically.

    Broker mode: the root-only credentials file is replaced, and a mounted volume is remounted in place (the new
    daemon takes over the FUSE connection; open files stay open). Embedded mode: a freshly compiled wrapper
    replaces the old one. Change the password on the metadata engine / object store first; the new one is
    checked against the metadata engine before anything changes.
    """
    require_root("rotate")
    secrets = read_secrets_file(secrets_file)
    manage.rotate(name, secrets, progress=typer.echo)
    typer.echo(f"{name}: new credentials installed; the old ones are gone from every file juicefs-guard wrote")


def remove_command(
    name: str = typer.Argument(..., help="The filesystem to remove."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    delete_user: bool = typer.Option(
        False, "--delete-user", help="Also delete the agent user and its home (only if no other filesystem uses it)."
    ),
) -> None:
    """Unmount and uninstall a filesystem: wrapper, sudoers drop-in, credentials, registry entry (and the cron
    line with the last one). The volume's data and metadata are never touched."""
    require_root("remove")
    entry = registry.require(name)
    if not yes:
        if not sys.stdin.isatty():
            raise UserError(f"remove asks for confirmation; re-run with --yes: juicefs-guard remove {name} --yes")
        what = f"{name} ({entry['mode']} mode, agent {entry['agent']}{', and delete the user' if delete_user else ''})"
        if not typer.confirm(f"Remove {what}? The volume's data is kept.", default=False):
            raise typer.Abort()
    remove(name, delete_user=delete_user, progress=typer.echo)
    typer.echo(f"{name} removed (the volume's data and metadata are untouched)")


def register(app: typer.Typer) -> None:
    app.command("list")(list_command)
    app.command("status")(status_command)
    app.command("rotate")(rotate_command)
    app.command("remove")(remove_command)
