"""`juicefs-guard log`: every request to the root helper, and every attempt sudo refused before it."""

from __future__ import annotations

import json

import typer

from juicefs_guard.install import require_root
from juicefs_guard.requestlog import all_requests, parse_since


def log_command(
    since: str | None = typer.Option(None, "--since", help="30m, 12h, 7d, or an ISO date/time."),
    refused: bool = typer.Option(False, "--refused", help="Only refused requests."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Show the helper's request log (/var/log/juicefs-guard/helper.log) merged with the attempts sudo refused
    (/var/log/juicefs-guard/sudo-<agent>.log): time, user, filesystem, action, mountpoint, outcome, reason."""
    require_root("log")
    requests = all_requests(parse_since(since) if since else None)
    if refused:
        requests = [r for r in requests if r.outcome == "refused"]
    for request in requests:
        if as_json:
            typer.echo(json.dumps(request.to_dict()))
        else:
            uid = "" if request.uid is None else f"({request.uid})"
            typer.echo(
                f"{request.time} {request.outcome:<8} {request.user}{uid} {request.filesystem} {request.action} "
                f"{request.mountpoint} {('- ' + request.reason) if request.reason else ''}".rstrip()
            )
    if not requests and not as_json:
        typer.echo("no request recorded" + (f" since {since}" if since else ""))


def register(app: typer.Typer) -> None:
    app.command("log")(log_command)
