"""Kubernetes sidecar mode: the reference manifest is flagged, our render passes the audit and schema
validation, only the sidecar (and the format Job) reference a Secret, and `verify` builds the right kubectl
commands and judges recorded outputs honestly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from juicefs_guard.errors import UserError
from juicefs_guard.k8s import verify
from juicefs_guard.k8s.audit import audit_files
from juicefs_guard.k8s.manifest import secret_references, workloads
from juicefs_guard.k8s.render import RenderRequest, render
from juicefs_guard.secrets import Secret

REFERENCE = Path("/work/shared/reference/seed-sidecar.yaml")
LOCAL_REFERENCE = Path(__file__).parent / "data" / "k8s" / "seed-sidecar.yaml"
CLI = str(Path(sys.executable).with_name("juicefs-guard"))
SECRETS = {"META_PASSWORD": Secret('p"w\\ $x'), "ACCESS_KEY": Secret("AKIA0"), "SECRET_KEY": Secret("s/k+=")}


def reference() -> Path:
    return REFERENCE if REFERENCE.exists() else LOCAL_REFERENCE


def rendered(tmp_path: Path, **options) -> Path:
    secrets = options.pop("secrets", None)
    request = RenderRequest(
        name="agentfs", meta_url="redis://agentfs-redis:6379/1", bucket="https://b.s3.amazonaws.com", **options
    )
    path = tmp_path / f"render-{len(list(tmp_path.iterdir()))}.yaml"
    path.write_text(render(request, secrets))
    return path


def test_reference_manifest_is_flagged() -> None:
    report = audit_files([str(reference())])
    assert report.exit_code() == 1
    failed = {f.id for f in report.findings if f.status == "fail"}
    # token automount, escalation, unpinned images, plain password / key on the command line,
    # unauthenticated Redis, run-time downloads, no NetworkPolicy
    assert {"JG-502", "JG-505", "JG-507", "JG-508", "JG-509", "JG-510", "JG-512"} <= failed
    warned = {f.id for f in report.findings if f.status == "warn"}
    assert "JG-511" in warned, "the shared network namespace limit is explained"


@pytest.mark.parametrize("native", [False, True])
@pytest.mark.parametrize("with_secrets", [False, True])
def test_render_passes_the_audit(tmp_path, native, with_secrets) -> None:
    path = rendered(tmp_path, native_sidecar=native, secrets=SECRETS if with_secrets else None)
    report = audit_files([str(path)])
    assert report.exit_code() == 0, [(f.id, f.evidence) for f in report.findings if f.status == "fail"]
    text = path.read_text()
    assert ("kubectl -n default create secret" in text) != with_secrets
    if with_secrets:
        documents = [d for d in yaml.safe_load_all(text) if d]
        secret = [d for d in documents if d["kind"] == "Secret" and d["metadata"]["name"] == "agentfs-meta"][0]
        assert secret["stringData"]["password"] == 'p"w\\ $x', "values survive quoting exactly"


@pytest.mark.parametrize("native", [False, True])
def test_render_passes_schema_validation(tmp_path, native) -> None:
    import kubernetes_validate

    path = rendered(tmp_path, native_sidecar=native, secrets=SECRETS)
    for document in yaml.safe_load_all(path.read_text()):
        if document:
            kubernetes_validate.validate(document, "1.31.0", strict=True)


def test_only_the_sidecar_references_a_secret(tmp_path) -> None:
    documents = [d for d in yaml.safe_load_all(rendered(tmp_path, secrets=SECRETS).read_text()) if d]
    seen = []
    for workload in workloads(documents):
        for container in workload.containers:
            refs = secret_references(workload, container)
            if refs:
                seen.append((workload.name, container.name))
                assert container.is_juicefs or container.is_metadata_engine, (workload.name, container.name, refs)
            if container.name == "code-server":
                assert refs == [] and "envFrom" not in container.spec
                assert container.security["allowPrivilegeEscalation"] is False
                assert container.security["runAsNonRoot"] is True
                assert container.security["capabilities"]["drop"] == ["ALL"]
        if workload.name == "agentfs-workspace":
            assert workload.pod["automountServiceAccountToken"] is False
            assert workload.pod["shareProcessNamespace"] is False
            assert workload.pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert ("agentfs-workspace", "juicefs") in seen


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"redis_image": "redis:latest"}, "not pinned"),
        ({"code_image": "codercom/code-server"}, "not pinned"),
        ({"namespace": "Bad_NS"}, "DNS label"),
    ],
)
def test_render_refuses_bad_options(tmp_path, options, message) -> None:
    with pytest.raises(UserError, match=message):
        rendered(tmp_path, **options)


def test_cli_render_and_audit(tmp_path) -> None:
    out = tmp_path / "out.yaml"
    result = subprocess.run(
        [
            CLI,
            "k8s",
            "render",
            "--name",
            "agentfs",
            "--meta-url",
            "redis://agentfs-redis:6379/1",
            "--bucket",
            "https://b.s3.amazonaws.com",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    clean = subprocess.run([CLI, "k8s", "audit", str(out), "--quiet"], capture_output=True, text=True)
    assert clean.returncode == 0 and clean.stdout == ""
    flagged = subprocess.run([CLI, "k8s", "audit", str(reference()), "--json"], capture_output=True, text=True)
    assert flagged.returncode == 1 and json.loads(flagged.stdout)["findings"]
    sarif = json.loads(
        subprocess.run([CLI, "k8s", "audit", str(reference()), "--sarif"], capture_output=True, text=True).stdout
    )
    assert sarif["version"] == "2.1.0"
    missing = subprocess.run([CLI, "k8s", "audit", str(tmp_path / "none.yaml")], capture_output=True, text=True)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


# --- verify, against recorded kubectl outputs -------------------------------------------------------------


def _pod(tmp_path: Path) -> dict:
    documents = [d for d in yaml.safe_load_all(rendered(tmp_path).read_text()) if d]
    deployment = [d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "agentfs-workspace"][0]
    return {
        "metadata": {"name": "agentfs-workspace-7d9f-abcde"},
        "spec": deployment["spec"]["template"]["spec"],
        "status": {"phase": "Running"},
    }, deployment


class Recorded:
    """A fake kubectl: answers from recorded outputs and remembers every command it was given."""

    def __init__(
        self,
        pod: dict,
        deployment: dict,
        user_env: str = "PATH=/usr/bin\nHOME=/home/coder\n",
        token_present: bool = False,
        visible: bool = True,
    ) -> None:
        self.pod, self.deployment, self.user_env = pod, deployment, user_env
        self.token_present, self.visible, self.calls, self.marker = token_present, visible, [], ""

    def __call__(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(argv)

        def ok(out: str = "", rc: int = 0, err: str = "") -> subprocess.CompletedProcess[str]:
            return subprocess.CompletedProcess(argv, rc, out, err)

        if argv[2:4] == ["get", "deployment"]:
            return ok(json.dumps(self.deployment))
        if argv[2:4] == ["get", "pods"]:
            return ok(json.dumps({"items": [self.pod]}))
        assert argv[2] == "exec" and argv[4] == "-c" and argv[6:9] == ["--", "sh", "-c"], argv
        container, script = argv[5], argv[-1]
        if script == "env":
            return ok(self.user_env)
        if script.startswith("echo "):
            self.marker = script.split()[1]
            return ok()
        if script.startswith("cat /home/coder/workspace/"):
            return ok(self.marker + "\n") if self.visible else ok(rc=1, err="No such file")
        if script.startswith("rm -f"):
            return ok()
        if "aws" in script:
            return ok()
        if "/proc/1/environ" in script:
            return ok("PATH=/usr/bin\n")
        if script.startswith("ls /var/run/secrets"):
            return ok("ca.crt\nnamespace\ntoken\n") if self.token_present else ok(rc=2, err="No such file")
        raise AssertionError(f"unexpected command for {container}: {script}")


def test_verify_passes_on_a_good_pod_and_builds_the_commands(tmp_path) -> None:
    pod, deployment = _pod(tmp_path)
    runner = Recorded(pod, deployment)
    report = verify.verify("ws", "agentfs-workspace", runner)
    assert report.exit_code() == 0, [(f.id, f.status, f.evidence) for f in report.findings]
    assert {f.id for f in report.findings} == set(verify.CHECKS)
    assert ["-n", "ws", "get", "deployment", "agentfs-workspace", "-o", "json"] in runner.calls
    assert ["-n", "ws", "get", "pods", "-l", "app=agentfs-workspace", "-o", "json"] in runner.calls
    execs = [call for call in runner.calls if call[2] == "exec"]
    assert all(call[3] == "agentfs-workspace-7d9f-abcde" and call[4] == "-c" for call in execs)
    assert {call[5] for call in execs} == {"juicefs", "code-server"}
    assert [call[-1] for call in execs if call[5] == "code-server"][0] == "env"


def test_verify_fails_on_leaks(tmp_path) -> None:
    pod, deployment = _pod(tmp_path)
    runner = Recorded(
        pod, deployment, user_env="AWS_SECRET_ACCESS_KEY=x\nPATH=/bin\n", token_present=True, visible=False
    )
    report = verify.verify("ws", "agentfs-workspace", runner)
    failed = {f.id for f in report.findings if f.status == "fail"}
    assert {"JG-601", "JG-602", "JG-605"} <= failed and report.exit_code() == 1
    assert all("=x" not in f.evidence for f in report.findings), "values are never shown"


def test_verify_refuses_without_kubectl_or_pod(tmp_path) -> None:
    with pytest.raises(UserError, match="kubectl is not installed"):
        verify.find_kubectl("/nonexistent/kubectl")
    pod, deployment = _pod(tmp_path)
    runner = Recorded(dict(pod, status={"phase": "Pending"}), deployment)
    with pytest.raises(UserError, match="no running pod"):
        verify.verify("ws", "agentfs-workspace", runner)

    def absent(argv):
        return subprocess.CompletedProcess(argv, 1, "", 'Error from server (NotFound): deployments.apps "x" not found')

    with pytest.raises(UserError, match="NotFound"):
        verify.verify("ws", "x", absent)
