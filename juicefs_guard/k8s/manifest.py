"""Reading manifests: YAML documents (List kinds unwrapped), and the pod specs inside any workload kind."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from juicefs_guard.errors import UserError

# `juicefs [global options] mount|format ...` run by the container (case-sensitive: a comment saying "JuiceFS
# mount" in a user container's script does not make it the sidecar).
JUICEFS_COMMAND = re.compile(r"(^|[\s/])juicefs(\s+--?[\w-]+)*\s+(mount|format)\b")
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}


def load_documents(paths: list[str]) -> list[dict[str, Any]]:
    import yaml

    documents: list[dict[str, Any]] = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                loaded = list(yaml.safe_load_all(handle))
        except OSError as exc:
            raise UserError(f"cannot read {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise UserError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
        for document in loaded:
            if not isinstance(document, dict):
                continue
            if document.get("kind") == "List":
                documents += [item for item in document.get("items", []) if isinstance(item, dict)]
            else:
                documents.append(document)
    if not documents:
        raise UserError(f"no Kubernetes object found in {', '.join(paths)}")
    return documents


@dataclass
class Container:
    name: str
    spec: dict[str, Any]
    init: bool
    native_sidecar: bool

    @property
    def image(self) -> str:
        return str(self.spec.get("image", ""))

    @property
    def command_text(self) -> str:
        return " ".join(str(part) for part in [*self.spec.get("command", []), *self.spec.get("args", [])])

    @property
    def security(self) -> dict[str, Any]:
        return self.spec.get("securityContext") or {}

    @property
    def is_juicefs(self) -> bool:
        """The sidecar (or format job) that is allowed to hold the volume's secrets."""
        image = self.image.lower()
        return "juicefs" in image or "juicedata/" in image or bool(JUICEFS_COMMAND.search(self.command_text))

    @property
    def is_metadata_engine(self) -> bool:
        return self.image.split("/")[-1].startswith(("redis", "valkey", "keydb"))


@dataclass
class Workload:
    kind: str
    name: str
    namespace: str
    labels: dict[str, str]
    pod: dict[str, Any]
    containers: list[Container]

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def has_sidecar(self) -> bool:
        return any(c.is_juicefs for c in self.containers)

    def user_facing(self) -> list[Container]:
        """Containers that are neither the juicefs sidecar nor the metadata engine."""
        return [c for c in self.containers if not c.is_juicefs and not c.is_metadata_engine]


def pod_spec(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]] | None:
    kind = document.get("kind")
    spec = document.get("spec") or {}
    if kind == "Pod":
        return spec, (document.get("metadata") or {}).get("labels") or {}
    if kind in POD_TEMPLATE_KINDS:
        template = spec.get("template") or {}
        return template.get("spec") or {}, (template.get("metadata") or {}).get("labels") or {}
    if kind == "CronJob":
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        return template.get("spec") or {}, (template.get("metadata") or {}).get("labels") or {}
    return None


def workloads(documents: list[dict[str, Any]]) -> Iterator[Workload]:
    for document in documents:
        found = pod_spec(document)
        if found is None:
            continue
        pod, labels = found
        metadata = document.get("metadata") or {}
        containers = [Container(c.get("name", "?"), c, False, False) for c in pod.get("containers") or []]
        containers += [
            Container(c.get("name", "?"), c, True, c.get("restartPolicy") == "Always")
            for c in pod.get("initContainers") or []
        ]
        yield Workload(
            document["kind"], metadata.get("name", "?"), metadata.get("namespace", "default"), labels, pod, containers
        )


def secret_references(workload: Workload, container: Container) -> list[str]:
    """Every way this container reaches a Secret: env valueFrom, envFrom, and mounted secret/projected volumes."""
    refs = []
    for env in container.spec.get("env") or []:
        ref = ((env.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name")
        if ref:
            refs.append(f"env {env.get('name')} <- secret {ref}")
    for source in container.spec.get("envFrom") or []:
        ref = (source.get("secretRef") or {}).get("name")
        if ref:
            refs.append(f"envFrom secret {ref}")
    volumes = {v.get("name"): v for v in workload.pod.get("volumes") or []}
    for mount in container.spec.get("volumeMounts") or []:
        volume = volumes.get(mount.get("name")) or {}
        if "secret" in volume:
            refs.append(f"volume {mount.get('name')} <- secret {volume['secret'].get('secretName')}")
        for source in (volume.get("projected") or {}).get("sources") or []:
            if "secret" in source:
                refs.append(f"projected volume {mount.get('name')} <- secret {source['secret'].get('name')}")
            if "serviceAccountToken" in source:
                refs.append(f"projected volume {mount.get('name')} <- service-account token")
    return refs
