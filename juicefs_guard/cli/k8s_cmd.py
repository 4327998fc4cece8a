"""`juicefs-guard k8s`: render, audit and verify the sidecar pattern."""

from __future__ import annotations

import typer

app = typer.Typer(help="Kubernetes sidecar mode: render, audit and verify manifests.", no_args_is_help=True)
