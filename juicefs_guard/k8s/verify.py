"""`k8s verify`: the seed document's live tests through `kubectl exec`, plus reads of /proc/1/environ and the
service-account path from the user container. No cluster here: tests inject recorded kubectl outputs through
`Runner`; a missing kubectl or an absent pod is an error (exit 2), never a pass."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from juicefs_guard.audit.model import CheckInfo, Finding, Report, Severity, Status
from juicefs_guard.errors import OperationFailed, UserError
from juicefs_guard.k8s.manifest import Container, Workload

Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]
SECRET_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "ACCESS_KEY",
    "SECRET_KEY",
    "META_PASSWORD",
    "META_PASSWORD_FILE",
)
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"  # noqa: S105 - a path, not a password

CHECKS = {
    c.id: c
    for c in (
        CheckInfo(
            "JG-601",
            "no credential variable in the user container",
            Severity.CRITICAL,
            "The seed's first test: `env` in the user container shows no AWS or JuiceFS credential.",
            "remove every credential reference from the user container",
            "live",
        ),
        CheckInfo(
            "JG-602",
            "the volume is shared by both containers",
            Severity.HIGH,
            "The seed's second test: a file written by the sidecar is visible in the user container.",
            "check mountPropagation (Bidirectional in the sidecar, HostToContainer in the user container)",
            "live",
        ),
        CheckInfo(
            "JG-603",
            "no AWS CLI credentials in the user container",
            Severity.HIGH,
            "The seed's third test: no ~/.aws credentials or config the user container could use.",
            "remove the files and the tool from the user image",
            "live",
        ),
        CheckInfo(
            "JG-604",
            "/proc/1/environ of the user container holds no credential",
            Severity.CRITICAL,
            "PID 1 of the user container (or of the pod with a shared process namespace) must not hold one.",
            "disable shareProcessNamespace; keep credentials in the sidecar",
            "live",
        ),
        CheckInfo(
            "JG-605",
            "no service-account token in the user container",
            Severity.HIGH,
            f"{TOKEN_DIR} must not exist: the token talks to the Kubernetes API.",
            "set automountServiceAccountToken: false on the pod",
            "live",
        ),
    )
}


@dataclass
class Target:
    pod: str
    sidecar: Container
    user: Container
    sidecar_path: str
    user_path: str


def default_runner(kubectl: str) -> Runner:
    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run([kubectl, *argv], capture_output=True, text=True, timeout=60, check=False)
        except subprocess.TimeoutExpired:
            raise OperationFailed(f"kubectl {' '.join(argv[:3])} did not answer within 60s") from None

    return run


def find_kubectl(explicit: str | None) -> str:
    found = explicit if explicit and os.access(explicit, os.X_OK) else shutil.which(explicit or "kubectl")
    if not found:
        raise UserError("kubectl is not installed or not on PATH; install it or pass --kubectl PATH")
    return found


def _json(runner: Runner, argv: list[str], what: str) -> dict:
    result = runner(argv)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise UserError(f"{what}: {lines[-1] if lines else 'kubectl failed'}")
    try:
        return json.loads(result.stdout)
    except ValueError:
        raise OperationFailed(f"{what}: kubectl did not return JSON") from None


def locate(runner: Runner, namespace: str, deployment: str) -> Target:
    found = _json(
        runner, ["-n", namespace, "get", "deployment", deployment, "-o", "json"], f"deployment {namespace}/{deployment}"
    )
    labels = ((found.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    if not labels:
        raise UserError(f"deployment {namespace}/{deployment} has no matchLabels selector")
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    pods = _json(runner, ["-n", namespace, "get", "pods", "-l", selector, "-o", "json"], f"pods of {deployment}")
    running = [p for p in pods.get("items", []) if (p.get("status") or {}).get("phase") == "Running"]
    if not running:
        raise UserError(f"no running pod for deployment {namespace}/{deployment} (selector {selector})")
    pod = running[0]
    workload = Workload("Pod", pod["metadata"]["name"], namespace, labels, pod["spec"], [])
    workload.containers = [Container(c["name"], c, False, False) for c in pod["spec"].get("containers", [])]
    workload.containers += [
        Container(c["name"], c, True, c.get("restartPolicy") == "Always") for c in pod["spec"].get("initContainers", [])
    ]
    sidecars = [c for c in workload.containers if c.is_juicefs]
    users = workload.user_facing()
    if not sidecars or not users:
        raise UserError(f"pod {workload.name} has no juicefs sidecar and user container pair")
    sidecar, user = sidecars[0], users[0]
    shared = _shared_mount(sidecar, user)
    if shared is None:
        raise UserError(f"pod {workload.name}: the sidecar and {user.name} share no volume")
    return Target(workload.name, sidecar, user, *shared)


def _shared_mount(sidecar: Container, user: Container) -> tuple[str, str] | None:
    user_mounts = {m["name"]: m["mountPath"] for m in user.spec.get("volumeMounts", [])}
    for mount in sidecar.spec.get("volumeMounts", []):
        if mount.get("mountPropagation") == "Bidirectional" and mount["name"] in user_mounts:
            return mount["mountPath"], user_mounts[mount["name"]]
    return None


def _exec(runner: Runner, namespace: str, pod: str, container: str, script: str) -> subprocess.CompletedProcess[str]:
    return runner(["-n", namespace, "exec", pod, "-c", container, "--", "sh", "-c", script])


def _secret_variables(listing: str) -> list[str]:
    """Names of credential variables in `env`-style NAME=VALUE lines (never their values)."""
    return [name for name in (line.split("=", 1)[0] for line in listing.splitlines()) if name in SECRET_VARS]


def verify(namespace: str, deployment: str, runner: Runner) -> Report:
    target = locate(runner, namespace, deployment)
    report = Report(tool="juicefs-guard k8s verify")
    label = f"{namespace}/{target.pod}"

    def add(check: str, ok: bool | None, evidence: str) -> None:
        status = Status.SKIP if ok is None else (Status.PASS if ok else Status.FAIL)
        report.findings.append(Finding.of(CHECKS[check], status, label, evidence))

    env = _exec(runner, namespace, target.pod, target.user.name, "env")
    if env.returncode != 0:
        add("JG-601", None, f"env failed in {target.user.name}: {env.stderr.strip()[:200]}")
    else:
        found = _secret_variables(env.stdout)
        add(
            "JG-601",
            not found,
            f"{target.user.name} env holds {', '.join(found)}"
            if found
            else f"no credential variable among {len(env.stdout.splitlines())} in {target.user.name}",
        )

    marker = f".jfg-verify-{uuid.uuid4().hex[:8]}"
    wrote = _exec(runner, namespace, target.pod, target.sidecar.name, f"echo {marker} > {target.sidecar_path}/{marker}")
    seen = _exec(runner, namespace, target.pod, target.user.name, f"cat {target.user_path}/{marker}")
    _exec(runner, namespace, target.pod, target.sidecar.name, f"rm -f {target.sidecar_path}/{marker}")
    if wrote.returncode != 0:
        add("JG-602", False, f"the sidecar could not write {target.sidecar_path}: {wrote.stderr.strip()[:200]}")
    else:
        ok = seen.returncode == 0 and marker in seen.stdout
        add(
            "JG-602",
            ok,
            f"a file written at {target.sidecar_path} by {target.sidecar.name} is "
            f"{'visible' if ok else 'NOT visible'} at {target.user_path} in {target.user.name}",
        )

    aws = _exec(
        runner,
        namespace,
        target.pod,
        target.user.name,
        "command -v aws; ls -a ~/.aws 2>/dev/null; cat ~/.aws/credentials 2>/dev/null; true",
    )
    leaks = [line for line in aws.stdout.splitlines() if line.strip() and line.strip() not in (".", "..")]
    add(
        "JG-603",
        not any("credentials" in line or "aws_" in line for line in leaks),
        f"{target.user.name}: " + ("; ".join(leaks[:5]) if leaks else "no aws tool, no ~/.aws"),
    )

    proc1 = _exec(runner, namespace, target.pod, target.user.name, "tr '\\0' '\\n' < /proc/1/environ")
    if proc1.returncode != 0:
        add("JG-604", True, f"/proc/1/environ unreadable in {target.user.name}")
    else:
        names = _secret_variables(proc1.stdout)
        add(
            "JG-604",
            not names,
            f"/proc/1/environ holds {', '.join(names)}" if names else "/proc/1/environ holds no credential variable",
        )

    token = _exec(runner, namespace, target.pod, target.user.name, f"ls {TOKEN_DIR}")
    add(
        "JG-605",
        token.returncode != 0,
        f"{TOKEN_DIR} " + ("absent" if token.returncode != 0 else f"present: {token.stdout.split()}"),
    )
    return report
