"""`juicefs-guard k8s`: render, audit and verify the sidecar pattern. Thin: parse, call, print."""

from __future__ import annotations

from pathlib import Path

import typer

from juicefs_guard.audit.report import to_json, to_sarif, to_table
from juicefs_guard.errors import UserError
from juicefs_guard.host.atomic import atomic_write
from juicefs_guard.k8s import checks, verify
from juicefs_guard.k8s.audit import audit_files
from juicefs_guard.k8s.render import DEFAULT_IMAGES, RenderRequest, render

app = typer.Typer(
    help="Kubernetes sidecar mode: a JuiceFS sidecar holds the secret and mounts the volume; the user-facing "
    "container (code-server) gets the files through mount propagation and no credential.",
    no_args_is_help=True,
)


@app.command("render")
def render_command(
    name: str = typer.Option(..., "--name", help="Prefix of every object, also the JuiceFS volume name."),
    meta_url: str = typer.Option(..., "--meta-url", help="redis://<name>-redis:6379/1 for the rendered Redis."),
    bucket: str = typer.Option(..., "--bucket", help="Object storage bucket URL (used by the format Job)."),
    namespace: str = typer.Option("default", "--namespace", "-n"),
    storage: str = typer.Option("s3", "--storage", help="Object storage type for the format Job."),
    image_redis: str = typer.Option(DEFAULT_IMAGES["redis"], "--image-redis", help="Pinned Redis image."),
    image_juicefs: str = typer.Option(DEFAULT_IMAGES["juicefs"], "--image-juicefs", help="Pinned image with juicefs."),
    image_code_server: str = typer.Option(DEFAULT_IMAGES["code"], "--image-code-server", help="Pinned user image."),
    native_sidecar: bool = typer.Option(
        False,
        "--native-sidecar",
        help="Run the sidecar as a native sidecar (initContainers, restartPolicy Always; Kubernetes >= 1.29).",
    ),
    secrets_file: str | None = typer.Option(
        None,
        "--secrets-file",
        metavar="FILE",
        help="Root-only KEY=VALUE file: write the Secrets into the output. "
        "Without it the output says how to create them with kubectl.",
    ),
    output: str | None = typer.Option(None, "-o", "--output", metavar="FILE", help="Write to FILE (mode 600)."),
) -> None:
    """Print the manifests: Redis with a password (from a Secret-mounted config file), its Service and
    NetworkPolicy, the format Job, the workspace Deployment (sidecar + code-server) and its Service."""
    from juicefs_guard.secrets import read_secrets_file

    secrets = read_secrets_file(secrets_file) if secrets_file else None
    request = RenderRequest(
        name=name,
        meta_url=meta_url,
        bucket=bucket,
        namespace=namespace,
        storage=storage,
        redis_image=image_redis,
        juicefs_image=image_juicefs,
        code_image=image_code_server,
        native_sidecar=native_sidecar,
    )
    text = render(request, secrets)
    if output:
        atomic_write(Path(output), text, mode=0o600, uid=__import__("os").getuid(), gid=__import__("os").getgid())
        typer.echo(f"wrote {output}", err=True)
    else:
        typer.echo(text, nl=False)


@app.command("audit")
def audit_command(
    files: list[str] = typer.Argument(..., help="Manifest files (multi-document YAML)."),
    as_json: bool = typer.Option(False, "--json"),
    sarif: bool = typer.Option(False, "--sarif"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing unless a check fails."),
) -> None:
    """Static checks (ids JG-5xx): which containers reach which Secret, token automount, shared process
    namespace, privileged or escalating containers, unpinned images, plain-text secrets, an unauthenticated
    metadata engine, run-time downloads, NetworkPolicy, seccomp. Exit 0 clean, 1 a check failed, 2 could not run."""
    if as_json and sarif:
        raise UserError("give either --json or --sarif, not both")
    report = audit_files(files)
    if as_json:
        typer.echo(to_json(report))
    elif sarif:
        typer.echo(to_sarif(report, checks.CHECKS.values()))
    elif not (quiet and not report.failed and not report.errors):
        typer.echo(to_table(report, only_problems=quiet), nl=False)
    raise typer.Exit(report.exit_code())


@app.command("verify")
def verify_command(
    namespace: str = typer.Option(..., "--namespace", "-n"),
    deployment: str = typer.Option(..., "--deployment"),
    kubectl: str | None = typer.Option(None, "--kubectl", metavar="PATH", help="kubectl to use (default: PATH)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Live tests through `kubectl exec` (ids JG-6xx): no credential variable in the user container, the file
    visible from both containers, no AWS CLI credentials, /proc/1/environ and the service-account path."""
    runner = verify.default_runner(verify.find_kubectl(kubectl))
    report = verify.verify(namespace, deployment, runner)
    typer.echo(to_json(report) if as_json else to_table(report), nl=not as_json)
    raise typer.Exit(report.exit_code())
