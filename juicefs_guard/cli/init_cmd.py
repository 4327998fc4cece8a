"""`juicefs-guard init`: interactive (questionary) or non-interactive (flags / --config). Parse, ask, print."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

from juicefs_guard import paths
from juicefs_guard.config import load_config
from juicefs_guard.errors import UserError
from juicefs_guard.host import users
from juicefs_guard.install import InitRequest, init, require_root
from juicefs_guard.secrets import SECRET_KEYS, Secret, Secrets, read_secrets_file
from juicefs_guard.spec import DEFAULT_MODE, FilesystemSpec, build_spec, redact_url

HELP = """Install one guarded JuiceFS filesystem for an agent user (root only).

Creates (or adopts) the agent user, installs the agent's wrapper `<scripts-dir>/<name>` (shc-compiled,
root:<agent group> 0750) and, in broker mode (the default, recommended), a root-only credentials file, the root
helper and one exact sudo rule per action and mountpoint. Re-running with the same settings changes nothing.

Secrets never go on the command line: use --secrets-file FILE (root-owned, mode 600, KEY=VALUE lines with
META_PASSWORD, ACCESS_KEY, SECRET_KEY; `-` reads stdin), --secrets-env (read those variables from the
environment), or answer the hidden prompts of the interactive form.

Examples:

  sudo juicefs-guard init                                   # interactive

  sudo juicefs-guard init --non-interactive --name prod-data --agent aiagent \\
       --meta-url redis://10.0.0.5:6379/1 --secrets-file /root/prod-data.env

  sudo juicefs-guard init --non-interactive --config /root/prod-data.toml --secrets-file -
"""


def _secrets_from_env() -> Secrets:
    return {key: Secret(os.environ[key]) for key in SECRET_KEYS if os.environ.get(key)}


def _collect_secrets(secrets_file: str | None, secrets_env: bool) -> Secrets:
    if secrets_file and secrets_env:
        raise UserError("give either --secrets-file or --secrets-env, not both")
    if secrets_file:
        return read_secrets_file(secrets_file)
    if secrets_env:
        found = _secrets_from_env()
        if not found:
            raise UserError(f"--secrets-env was given but none of {', '.join(SECRET_KEYS)} is set in the environment")
        return found
    return {}


def _summary(spec: FilesystemSpec, secrets: Secrets) -> str:
    lines = [
        f"  filesystem   {spec.name}",
        f"  mode         {spec.mode}",
        f"  agent user   {spec.agent}",
        f"  metadata     {redact_url(spec.meta_url)}",
        f"  storage      {spec.storage or '(as formatted)'} {spec.bucket}",
        f"  mountpoints  {', '.join(spec.mountpoints)}",
        f"  wrapper      {spec.scripts_dir}/{spec.name}",
        f"  format       {'yes, if not formatted yet' if spec.format else 'no'}",
        f"  secrets      {', '.join(sorted(secrets)) or 'none'} (values hidden)",
    ]
    return "\n".join(lines)


def _interactive(defaults: dict[str, Any]) -> tuple[dict[str, Any], Secrets]:
    """Ask for every setting; nothing changes until the summary is confirmed."""
    import questionary

    from juicefs_guard.spec import (
        validate_bucket,
        validate_fs_name,
        validate_meta_url,
        validate_mountpoint,
        validate_storage,
        validate_user_name,
    )

    def check(validator):
        def run(value: str) -> bool | str:
            try:
                validator(value)
                return True
            except UserError as exc:
                return str(exc)

        return run

    def ask(question):
        answer = question.ask()
        if answer is None:
            raise typer.Abort()
        return answer

    agent = ask(
        questionary.text(
            "Agent user (created if missing):",
            default=defaults.get("agent", "aiagent"),
            validate=check(validate_user_name),
        )
    )
    account = users.lookup(agent)
    if account is not None:
        if not ask(questionary.confirm(f"User {agent} exists (uid {account.uid}). Adopt it?", default=True)):
            raise typer.Abort()
    name = ask(questionary.text("Filesystem name:", default=defaults.get("name", ""), validate=check(validate_fs_name)))
    mode = ask(
        questionary.select(
            "Credential mode:",
            choices=[
                questionary.Choice("broker (recommended): root holds the secrets; the agent never sees them", "broker"),
                questionary.Choice(
                    "embedded: secrets inside the agent's shc binary (obfuscated, readable by the agent)", "embedded"
                ),
            ],
            default=defaults.get("mode", DEFAULT_MODE),
        )
    )
    meta_url = ask(
        questionary.text(
            "Metadata URL (no password in it):", default=defaults.get("meta_url", ""), validate=check(validate_meta_url)
        )
    )
    do_format = ask(
        questionary.confirm(
            "Format the volume if it is not formatted yet?", default=bool(defaults.get("format", False))
        )
    )
    storage = bucket = ""
    if do_format:
        storage = ask(
            questionary.text("Storage type:", default=defaults.get("storage", "s3"), validate=check(validate_storage))
        )
        bucket = ask(
            questionary.text("Bucket URL or path:", default=defaults.get("bucket", ""), validate=check(validate_bucket))
        )
    default_mp = str(paths.default_mountpoint(agent, name)) if name else ""
    mountpoint = ask(
        questionary.text(
            "Mountpoint:", default=(defaults.get("mountpoints") or [default_mp])[0], validate=check(validate_mountpoint)
        )
    )
    secrets: Secrets = {}
    for key, question in (
        ("META_PASSWORD", "Metadata engine password (empty for none):"),
        ("ACCESS_KEY", "Object storage access key (empty for none):"),
        ("SECRET_KEY", "Object storage secret key (empty for none):"),
    ):
        value = ask(questionary.password(question))
        if value:
            secrets[key] = Secret(value)
    values = dict(defaults)
    values.update(
        agent=agent,
        name=name,
        mode=mode,
        meta_url=meta_url,
        format=do_format,
        storage=storage,
        bucket=bucket,
        mountpoints=[mountpoint],
    )
    return values, secrets


def init_command(
    non_interactive: bool = typer.Option(
        False, "--non-interactive", help="Take every value from flags/--config; never prompt."
    ),
    config: str | None = typer.Option(
        None, "--config", metavar="FILE", help="TOML file with the same keys as the flags (no secrets)."
    ),
    name: str | None = typer.Option(
        None, "--name", help="Filesystem name: 3-32 of a-z, 0-9, '-' (also the JuiceFS volume name)."
    ),
    agent: str | None = typer.Option(None, "--agent", help="Agent user: created locked if missing, or adopted."),
    mode: str | None = typer.Option(None, "--mode", help="broker (default, recommended) or embedded."),
    meta_url: str | None = typer.Option(
        None, "--meta-url", help="Metadata engine URL, without a password (e.g. redis://host:6379/1)."
    ),
    storage: str | None = typer.Option(None, "--storage", help="Object storage type for --format (s3, gs, file...)."),
    bucket: str | None = typer.Option(None, "--bucket", help="Bucket URL or path for --format."),
    mountpoint: list[str] = typer.Option(
        [], "--mountpoint", help="Allowed mountpoint (repeatable; the first is the default)."
    ),
    scripts_dir: str | None = typer.Option(
        None, "--scripts-dir", help="Where the wrapper goes (default ~agent/juicefs-scripts)."
    ),
    do_format: bool = typer.Option(False, "--format", help="Format the volume if it is not formatted yet."),
    secrets_file: str | None = typer.Option(
        None, "--secrets-file", metavar="FILE", help="Root-owned 0600 KEY=VALUE file, or - for stdin."
    ),
    secrets_env: bool = typer.Option(
        False, "--secrets-env", help="Read META_PASSWORD/ACCESS_KEY/SECRET_KEY from the environment."
    ),
    juicefs_path: str | None = typer.Option(
        None, "--juicefs", metavar="PATH", help="The juicefs client to install (default: the bundled one)."
    ),
    meta_tls_cert: str | None = typer.Option(
        None, "--meta-tls-cert", metavar="FILE", help="broker, rediss://: client certificate for the metadata engine."
    ),
    meta_tls_key: str | None = typer.Option(
        None, "--meta-tls-key", metavar="FILE", help="broker, rediss://: its private key (root-owned, mode 600)."
    ),
    meta_tls_ca: str | None = typer.Option(
        None, "--meta-tls-ca", metavar="FILE", help="broker, rediss://: CA certificate that signed the server's."
    ),
    secrets_command: str | None = typer.Option(
        None,
        "--secrets-command",
        metavar="'CMD ARG...'",
        help="broker: root runs this (no shell, absolute path) at every mount and reads KEY=VALUE lines from it, "
        "instead of a credentials file; e.g. '/usr/bin/age -d -i /etc/juicefs-guard/keys/FS.key FILE.age'.",
    ),
    block_meta: bool = typer.Option(
        False,
        "--block-meta-for-agent",
        help="broker: add an nftables rule that rejects the agent's uid on its way to the metadata engine.",
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing installation that has other settings."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Interactive form: skip the final confirmation."),
) -> None:
    require_root("init")
    values: dict[str, Any] = load_config(config) if config else {}
    flags = {
        "name": name,
        "agent": agent,
        "mode": mode,
        "meta_url": meta_url,
        "storage": storage,
        "bucket": bucket,
        "scripts_dir": scripts_dir,
        "secrets_file": secrets_file,
        "juicefs": juicefs_path,
        "meta_tls_cert": meta_tls_cert,
        "meta_tls_key": meta_tls_key,
        "meta_tls_ca": meta_tls_ca,
        "secrets_command": secrets_command,
    }
    values.update({key: value for key, value in flags.items() if value is not None})
    if mountpoint:
        values["mountpoints"] = list(mountpoint)
    if do_format:
        values["format"] = True
    if block_meta:
        values["nft_block"] = True
    interactive = not non_interactive
    if interactive and not sys.stdin.isatty():
        raise UserError("stdin is not a terminal; pass --non-interactive with --name, --agent and --meta-url")
    if interactive:
        values, secrets = _interactive(values)
    else:
        missing = [
            flag
            for flag, key in (("--name", "name"), ("--agent", "agent"), ("--meta-url", "meta_url"))
            if not values.get(key)
        ]
        if missing:
            raise UserError(f"missing {', '.join(missing)}; --non-interactive needs them (or a --config file)")
        if values.get("secrets_command") and (values.get("secrets_file") or secrets_env):
            raise UserError("give either --secrets-command or a secrets file/--secrets-env, not both")
        secrets = _collect_secrets(values.get("secrets_file"), secrets_env)
    account = users.lookup(values["agent"]) if values.get("agent") else None
    spec = build_spec(
        name=values["name"],
        agent=values["agent"],
        mode=values.get("mode") or DEFAULT_MODE,
        meta_url=values["meta_url"],
        mountpoints=list(values.get("mountpoints") or []),
        scripts_dir=values.get("scripts_dir"),
        storage=values.get("storage"),
        bucket=values.get("bucket"),
        do_format=bool(values.get("format")),
        home=account.home if account else None,
        nft_block=bool(values.get("nft_block")),
        meta_tls={
            "cert": values.get("meta_tls_cert") or "",
            "key": values.get("meta_tls_key") or "",
            "ca": values.get("meta_tls_ca") or "",
        },
        secrets_command=values.get("secrets_command") or "",
    )
    if spec.secrets_command:
        from juicefs_guard import secretcmd

        argv = secretcmd.parse_command(spec.secrets_command)
        secretcmd.check_command(argv)
        secrets = secretcmd.fetch(argv)
    if account is not None:
        users.check_adoptable(account)
    if interactive:
        import questionary

        typer.echo("\nAbout to install:\n" + _summary(spec, secrets))
        if not yes and not questionary.confirm("Proceed?", default=True).ask():
            raise typer.Abort()
    result = init(
        InitRequest(spec=spec, secrets=secrets, juicefs_source=values.get("juicefs"), force=force), progress=typer.echo
    )
    typer.echo(result.message)
    wrapper = result.entry.get("wrapper", f"{spec.scripts_dir}/{spec.name}")
    typer.echo(f"The agent runs: sudo -u {spec.agent} {wrapper} mount")


def register(app: typer.Typer) -> None:
    app.command("init", help=HELP)(init_command)
