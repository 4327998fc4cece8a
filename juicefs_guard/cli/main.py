"""The `juicefs-guard` command: typer apps only. Every command is thin; the work is in plain modules."""

from __future__ import annotations

import sys

import typer

from juicefs_guard import __version__
from juicefs_guard.cli import audit_cmd, init_cmd, k8s_cmd, log_cmd, manage_cmd
from juicefs_guard.errors import GuardError

app = typer.Typer(
    name="juicefs-guard",
    help=(
        "Give a non-root AI agent a JuiceFS volume without ever giving it the volume's credentials.\n\n"
        "Administrators run `sudo juicefs-guard init` once per filesystem and `juicefs-guard audit` from cron; "
        "the agent runs `./juicefs-scripts/<fs> mount|umount|status`."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"juicefs-guard {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Give a non-root AI agent a JuiceFS volume without ever giving it the volume's credentials."""


init_cmd.register(app)
manage_cmd.register(app)
audit_cmd.register(app)
log_cmd.register(app)
app.add_typer(k8s_cmd.app, name="k8s")


def main() -> None:
    """Entry point: user mistakes become one line on stderr and exit 2, never a traceback."""
    try:
        code = app(standalone_mode=False)
    except GuardError as exc:
        typer.echo(f"juicefs-guard: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("juicefs-guard: interrupted; nothing was left half-done", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("juicefs-guard: aborted", err=True)
        sys.exit(1)
    except __import__("click").exceptions.ClickException as exc:
        exc.show()
        sys.exit(2)
    except __import__("click").exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    # click returns the code of a typer.Exit raised inside a command when standalone_mode is off.
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
