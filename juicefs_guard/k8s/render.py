"""`k8s render`: the sidecar pattern as manifests. Values are validated here and JSON-quoted in the template."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from juicefs_guard.errors import UserError
from juicefs_guard.secrets import Secret
from juicefs_guard.spec import validate_meta_url, validate_storage
from juicefs_guard.templating import render_template

DNS_LABEL = re.compile(r"^[a-z]([a-z0-9-]{0,40}[a-z0-9])?$")
# Pinned defaults: an explicit version each; pass a @sha256 digest with --image-* for stronger pinning.
DEFAULT_IMAGES = {
    "redis": "redis:7.2.5-alpine",
    "juicefs": "juicedata/mount:ce-v1.2.3",
    "code": "codercom/code-server:4.96.4",
}


@dataclass
class RenderRequest:
    name: str
    meta_url: str
    bucket: str
    namespace: str = "default"
    storage: str = "s3"
    redis_image: str = DEFAULT_IMAGES["redis"]
    juicefs_image: str = DEFAULT_IMAGES["juicefs"]
    code_image: str = DEFAULT_IMAGES["code"]
    native_sidecar: bool = False


def _check_image(flag: str, image: str) -> None:
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    if "@sha256:" not in image and (not tag or tag == "latest"):
        raise UserError(f"{flag} {image!r} is not pinned; give a version tag or a @sha256: digest")
    if any(ch.isspace() for ch in image):
        raise UserError(f"{flag} {image!r} holds whitespace")


def validate(request: RenderRequest) -> None:
    for flag, value in (("--name", request.name), ("--namespace", request.namespace)):
        if not DNS_LABEL.fullmatch(value):
            raise UserError(f"{flag} {value!r} is not a DNS label (lowercase letters, digits, '-')")
    validate_meta_url(request.meta_url)
    if not request.meta_url.startswith(("redis://", "rediss://")):
        raise UserError("--meta-url must be redis:// or rediss:// (the rendered metadata engine is Redis)")
    validate_storage(request.storage)
    if not request.bucket or any(ch.isspace() for ch in request.bucket):
        raise UserError("--bucket is required and holds no whitespace (e.g. https://bucket.s3.amazonaws.com)")
    _check_image("--image-redis", request.redis_image)
    _check_image("--image-juicefs", request.juicefs_image)
    _check_image("--image-code-server", request.code_image)


def redis_conf(password: str) -> str:
    quoted = password.replace("\\", "\\\\").replace('"', '\\"')
    return f'requirepass "{quoted}"\nappendonly yes\ndir /data\nprotected-mode no\n'


def render(request: RenderRequest, secrets: Mapping[str, Secret] | None = None) -> str:
    validate(request)
    plain = {key: secret.reveal() for key, secret in (secrets or {}).items()}
    if plain and "META_PASSWORD" not in plain:
        raise UserError("the secrets file needs META_PASSWORD: the rendered Redis requires a password")
    if bool(plain.get("ACCESS_KEY")) != bool(plain.get("SECRET_KEY")):
        raise UserError("give both ACCESS_KEY and SECRET_KEY, or neither (keyless storage)")
    return render_template(
        "k8s/sidecar.yaml.j2",
        name=request.name,
        namespace=request.namespace,
        meta_url=request.meta_url,
        storage=request.storage,
        bucket=request.bucket,
        redis_image=request.redis_image,
        juicefs_image=request.juicefs_image,
        code_image=request.code_image,
        native_sidecar=request.native_sidecar,
        secrets=plain,
        storage_keys=bool(plain.get("ACCESS_KEY")) or not plain,
        redis_conf=redis_conf(plain["META_PASSWORD"]) if plain else "",
    )
