"""Static checks of manifests for the sidecar pattern (`k8s audit`), ids JG-5xx. Each returns findings for the
workloads of a manifest set; the attacker is whoever runs code in the user-facing container."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from juicefs_guard.audit.model import CheckInfo, Finding, Severity, Status
from juicefs_guard.k8s.manifest import Workload, secret_references, workloads

PASS, FAIL, WARN = Status.PASS, Status.FAIL, Status.WARN

CHECKS: dict[str, CheckInfo] = {
    c.id: c
    for c in (
        CheckInfo(
            "JG-501",
            "only the juicefs sidecar reaches a Secret",
            Severity.CRITICAL,
            "A user-facing container that references a Secret (env, envFrom, secret or projected volume) "
            "holds the credentials the pattern exists to keep from it.",
            "move every secretKeyRef/secretRef/secret volume to the juicefs sidecar",
            "manifest",
        ),
        CheckInfo(
            "JG-502",
            "no service-account token in the pod",
            Severity.HIGH,
            "The token is mounted into every container unless disabled; with it the user container talks to "
            "the Kubernetes API (and may read Secrets).",
            "set automountServiceAccountToken: false",
            "manifest",
        ),
        CheckInfo(
            "JG-503",
            "no shared process namespace",
            Severity.CRITICAL,
            "With shareProcessNamespace the user container sees the sidecar's processes, and /proc/<pid>/"
            "environ of the juicefs daemon.",
            "remove shareProcessNamespace: true",
            "manifest",
        ),
        CheckInfo(
            "JG-504",
            "no privileged container but the juicefs sidecar",
            Severity.CRITICAL,
            "Privileged (or SYS_ADMIN) in a user-facing container is root on the node. The sidecar is the one "
            "documented exception: FUSE with Bidirectional propagation needs it.",
            "drop privileged and added capabilities from every container but the sidecar",
            "manifest",
        ),
        CheckInfo(
            "JG-505",
            "user-facing containers cannot escalate",
            Severity.HIGH,
            "allowPrivilegeEscalation must be false and all capabilities dropped.",
            "set allowPrivilegeEscalation: false and capabilities.drop: [ALL]",
            "manifest",
        ),
        CheckInfo(
            "JG-506",
            "user-facing containers run as non-root",
            Severity.HIGH,
            "The mount's .config (object-storage keys) is readable by root only: a root user container reads it.",
            "set runAsNonRoot: true and a runAsUser other than 0",
            "manifest",
        ),
        CheckInfo(
            "JG-507",
            "images pinned",
            Severity.MEDIUM,
            "An untagged or :latest image changes under you; the sidecar image holds the credentials.",
            "pin every image to a version tag or, better, a @sha256 digest",
            "manifest",
        ),
        CheckInfo(
            "JG-508",
            "no secret or password in plain env values or command lines",
            Severity.CRITICAL,
            "A literal PASSWORD/SECRET/TOKEN/KEY env value or a key on a command line is readable by anyone "
            "who can read the manifest or the pod spec.",
            "take it from a Secret mounted into the sidecar only",
            "manifest",
        ),
        CheckInfo(
            "JG-509",
            "metadata engine requires authentication",
            Severity.CRITICAL,
            "An unauthenticated Redis hands out the whole JuiceFS metadata, object-storage keys stored at "
            "format time included, to every container in the pod's network namespace.",
            "give Redis a password from a Secret-mounted config file and the sidecar META_PASSWORD_FILE",
            "manifest",
        ),
        CheckInfo(
            "JG-510",
            "no downloads at run time",
            Severity.HIGH,
            "curl | sh, apt-get or pip at start-up run whatever the network serves, as the credential holder.",
            "build an image that carries juicefs and its tools; run no installer in command/args",
            "manifest",
        ),
        CheckInfo(
            "JG-511",
            "shared network namespace understood",
            Severity.MEDIUM,
            "Containers of a pod share one network namespace: the user container reaches the metadata engine "
            "exactly like the sidecar. Only the metadata password (which only the sidecar has) protects it; "
            "a NetworkPolicy cannot tell the two containers apart.",
            "keep the metadata password in the sidecar only (JG-501, JG-509); treat the metadata engine as "
            "reachable from the user container",
            "manifest",
        ),
        CheckInfo(
            "JG-512",
            "metadata engine behind a NetworkPolicy",
            Severity.HIGH,
            "Without a NetworkPolicy any pod in the cluster can reach the metadata engine.",
            "add a NetworkPolicy that admits only the sidecar's pod on the engine's port",
            "manifest",
        ),
        CheckInfo(
            "JG-513",
            "seccomp RuntimeDefault at pod level",
            Severity.LOW,
            "Per-container seccomp is ignored on a privileged container; the pod-level profile covers the rest.",
            "set spec.securityContext.seccompProfile.type: RuntimeDefault",
            "manifest",
        ),
    )
}

DOWNLOAD = re.compile(r"\b(curl|wget)\b|apt-get\s+install|apt\s+install|apk\s+add|pip3?\s+install|\|\s*(ba)?sh\b")
SECRET_NAME = re.compile(r"PASS(WORD)?|SECRET|TOKEN|ACCESS_KEY|PRIVATE_KEY|API_KEY", re.IGNORECASE)
SECRET_ARG = re.compile(r"--(secret-key|access-key|requirepass|password)\b|redis://[^/\s@]*:[^/\s@]+@")


def _f(check: str, status: Status, target: str, evidence: str) -> Finding:
    return Finding.of(CHECKS[check], status, target, evidence)


def secrets_only_in_sidecar(items: list[Workload]) -> list[Finding]:
    out = []
    for w in items:
        if not w.has_sidecar:
            continue
        leaks = [f"{c.name}: {ref}" for c in w.user_facing() for ref in secret_references(w, c)]
        out.append(
            _f(
                "JG-501",
                FAIL if leaks else PASS,
                w.label,
                "; ".join(leaks)
                if leaks
                else "only " + ", ".join(c.name for c in w.containers if c.is_juicefs) + " references a Secret",
            )
        )
    return out


def token_automount(items: list[Workload]) -> list[Finding]:
    return [
        _f(
            "JG-502",
            PASS if w.pod.get("automountServiceAccountToken") is False else FAIL,
            w.label,
            f"automountServiceAccountToken: {w.pod.get('automountServiceAccountToken', 'unset (true)')}",
        )
        for w in items
    ]


def process_namespace(items: list[Workload]) -> list[Finding]:
    return [
        _f(
            "JG-503",
            FAIL if w.pod.get("shareProcessNamespace") else PASS,
            w.label,
            f"shareProcessNamespace: {w.pod.get('shareProcessNamespace', False)}",
        )
        for w in items
    ]


def privileged(items: list[Workload]) -> list[Finding]:
    out = []
    for w in items:
        bad, notes = [], []
        for c in w.containers:
            added = ((c.security.get("capabilities") or {}).get("add")) or []
            if c.security.get("privileged") or "SYS_ADMIN" in added or "ALL" in added:
                (notes if c.is_juicefs else bad).append(
                    f"{c.name} (privileged={c.security.get('privileged', False)}, add={added})"
                )
        evidence = "; ".join(bad) if bad else ("sidecar exception: " + "; ".join(notes) if notes else "none privileged")
        out.append(_f("JG-504", FAIL if bad else PASS, w.label, evidence))
    return out


def escalation(items: list[Workload]) -> list[Finding]:
    out = []
    for w in items:
        bad = []
        for c in w.user_facing():
            drops = (c.security.get("capabilities") or {}).get("drop") or []
            if c.security.get("allowPrivilegeEscalation") is not False or "ALL" not in drops:
                bad.append(
                    f"{c.name} (allowPrivilegeEscalation={c.security.get('allowPrivilegeEscalation', 'unset')},"
                    f" drop={drops})"
                )
        if w.user_facing():
            out.append(_f("JG-505", FAIL if bad else PASS, w.label, "; ".join(bad) or "no escalation, caps dropped"))
    return out


def non_root(items: list[Workload]) -> list[Finding]:
    out = []
    pod_level = lambda w: w.pod.get("securityContext") or {}  # noqa: E731
    for w in items:
        bad = []
        for c in w.user_facing():
            uid = c.security.get("runAsUser", pod_level(w).get("runAsUser"))
            non_root_flag = c.security.get("runAsNonRoot", pod_level(w).get("runAsNonRoot"))
            if uid == 0 or (uid is None and not non_root_flag):
                bad.append(f"{c.name} (runAsUser={uid}, runAsNonRoot={non_root_flag})")
        if w.user_facing():
            out.append(_f("JG-506", FAIL if bad else PASS, w.label, "; ".join(bad) or "non-root"))
    return out


def pinned(items: list[Workload]) -> list[Finding]:
    out = []
    for w in items:
        bad = []
        for c in w.containers:
            image = c.image
            if "@sha256:" in image:
                continue
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            if not tag or tag == "latest" or tag.endswith("-latest"):
                bad.append(f"{c.name}: {image or '(no image)'}")
        out.append(
            _f("JG-507", FAIL if bad else PASS, w.label, "; ".join(bad) or "every image has a version or digest")
        )
    return out


def plain_secrets(items: list[Workload]) -> list[Finding]:
    out = []
    for w in items:
        bad = []
        for c in w.containers:
            for env in c.spec.get("env") or []:
                name, value = str(env.get("name", "")), str(env.get("value", ""))
                is_path = name.endswith("_FILE") or value.startswith("/")
                if "value" in env and SECRET_NAME.search(name) and value and not is_path:
                    bad.append(f"{c.name}: env {env['name']} has a literal value")
            match = SECRET_ARG.search(c.command_text)
            if match:
                bad.append(f"{c.name}: command line holds {match.group(0)!r}")
        out.append(_f("JG-508", FAIL if bad else PASS, w.label, "; ".join(bad) or "no literal secret"))
    return out


def engine_auth(items: list[Workload]) -> list[Finding]:
    out = []
    for w in items:
        for c in w.containers:
            if c.is_metadata_engine:
                volumes = {v.get("name"): v for v in w.pod.get("volumes") or []}
                secret_config = any(
                    "secret" in (volumes.get(m.get("name")) or {}) and ".conf" in c.command_text
                    for m in c.spec.get("volumeMounts") or []
                )
                authed = secret_config or "requirepass" in c.command_text or "--aclfile" in c.command_text
                out.append(
                    _f(
                        "JG-509",
                        PASS if authed else FAIL,
                        w.label,
                        f"{c.name}: "
                        + (
                            "config with requirepass from a Secret volume"
                            if secret_config
                            else "password on the command line"
                            if authed
                            else "no requirepass"
                        ),
                    )
                )
            elif c.is_juicefs and re.search(r"\bredis(s)?://", c.command_text):
                env_names = {e.get("name") for e in c.spec.get("env") or []}
                authed = bool({"META_PASSWORD", "META_PASSWORD_FILE"} & env_names) or "@" in c.command_text
                out.append(
                    _f(
                        "JG-509",
                        PASS if authed else FAIL,
                        w.label,
                        f"{c.name}: juicefs connects " + ("with a password" if authed else "without a password"),
                    )
                )
    return out


def downloads(items: list[Workload]) -> list[Finding]:
    out = []
    for w in items:
        bad = [f"{c.name}: {m.group(0).strip()}" for c in w.containers if (m := DOWNLOAD.search(c.command_text))]
        out.append(_f("JG-510", FAIL if bad else PASS, w.label, "; ".join(bad) or "no installer or download"))
    return out


def shared_network(items: list[Workload]) -> list[Finding]:
    return [
        _f(
            "JG-511",
            WARN,
            w.label,
            f"{', '.join(c.name for c in w.user_facing())} share the sidecar's network namespace and reach the "
            "metadata engine; only its password, held by the sidecar alone, protects it",
        )
        for w in items
        if w.has_sidecar and w.user_facing()
    ]


def network_policy(items: list[Workload], documents: list[dict[str, Any]]) -> list[Finding]:
    policies = [d for d in documents if d.get("kind") == "NetworkPolicy"]
    out = []
    for w in items:
        if not any(c.is_metadata_engine for c in w.containers):
            continue
        covering = [
            p
            for p in policies
            if _selects(p, w.labels) and "Ingress" in (p.get("spec") or {}).get("policyTypes", ["Ingress"])
        ]
        names = ", ".join((p.get("metadata") or {}).get("name", "?") for p in covering)
        out.append(
            _f(
                "JG-512",
                PASS if covering else FAIL,
                w.label,
                f"selected by NetworkPolicy {names}" if covering else "no NetworkPolicy selects this pod",
            )
        )
    return out


def _selects(policy: dict[str, Any], labels: dict[str, str]) -> bool:
    selector = ((policy.get("spec") or {}).get("podSelector") or {}).get("matchLabels") or {}
    return all(labels.get(key) == value for key, value in selector.items())


def seccomp(items: list[Workload]) -> list[Finding]:
    return [
        _f(
            "JG-513",
            PASS if profile == "RuntimeDefault" else WARN,
            w.label,
            f"pod seccompProfile: {profile or 'unset'}",
        )
        for w in items
        for profile in [((w.pod.get("securityContext") or {}).get("seccompProfile") or {}).get("type")]
    ]


PER_WORKLOADS: list[Callable[[list[Workload]], list[Finding]]] = [
    secrets_only_in_sidecar,
    token_automount,
    process_namespace,
    privileged,
    escalation,
    non_root,
    pinned,
    plain_secrets,
    engine_auth,
    downloads,
    shared_network,
    seccomp,
]


def run_checks(documents: list[dict[str, Any]]) -> list[Finding]:
    items = list(workloads(documents))
    findings = [finding for check in PER_WORKLOADS for finding in check(items)]
    findings += network_policy(items, documents)
    return findings
