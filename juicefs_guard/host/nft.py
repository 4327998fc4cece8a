"""Optional hardening (`--block-meta-for-agent`): an nftables rule that rejects the agent's uid on the way to the
metadata engine, so that even a leaked password is useless from this host. Root's daemon is not affected.
One table, one chain per filesystem; not persistent across reboots unless the administrator saves the ruleset
(the audit checks that the rule is present)."""

from __future__ import annotations

import ipaddress
import shutil
import socket
from urllib.parse import urlsplit

from juicefs_guard.errors import OperationFailed, UserError
from juicefs_guard.host.run import run

TABLE = "juicefs_guard"
DEFAULT_PORTS = {"redis": 6379, "rediss": 6379, "mysql": 3306, "postgres": 5432, "tikv": 2379, "etcd": 2379}


def chain_name(fs: str) -> str:
    return "out_" + fs.replace("-", "_")


def find_nft() -> str:
    nft = shutil.which("nft", path="/usr/sbin:/sbin:/usr/bin:/bin")
    if nft is None:
        raise UserError("--block-meta-for-agent needs nftables: apt-get install nftables")
    return nft


def endpoints(meta_url: str) -> list[tuple[str, int]]:
    """(address, port) of the metadata engine, resolved now; refused for engines not reached over TCP."""
    parts = urlsplit(meta_url)
    scheme = parts.scheme.split("+")[0]
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise UserError(
            f"--block-meta-for-agent: a {scheme}:// metadata engine is not reached over TCP; there is nothing to block"
        )
    port = parts.port or DEFAULT_PORTS[scheme]
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise UserError(f"--block-meta-for-agent: cannot resolve {parts.hostname}: {exc.strerror}") from None
    return sorted({(info[4][0], port) for info in infos})


def ruleset(fs: str, uid: int, targets: list[tuple[str, int]]) -> str:
    chain = chain_name(fs)
    lines = [
        f"add table inet {TABLE}",
        f"add chain inet {TABLE} {chain} {{ type filter hook output priority 0 ; policy accept ; }}",
        f"flush chain inet {TABLE} {chain}",
    ]
    for address, port in targets:
        family = "ip6" if ipaddress.ip_address(address).version == 6 else "ip"
        lines.append(
            f"add rule inet {TABLE} {chain} meta skuid {uid} {family} daddr {address} tcp dport {port} "
            f'counter reject with tcp reset comment "juicefs-guard {fs}"'
        )
    return "\n".join(lines) + "\n"


def install(fs: str, uid: int, meta_url: str) -> list[tuple[str, int]]:
    targets = endpoints(meta_url)
    result = run([find_nft(), "-f", "-"], input_text=ruleset(fs, uid, targets))
    if result.returncode != 0:
        raise OperationFailed(f"nft could not add the rule: {result.stderr.strip()}")
    return targets


def remove(fs: str) -> None:
    nft = shutil.which("nft", path="/usr/sbin:/sbin:/usr/bin:/bin")
    if nft is None:
        return
    run([nft, "delete", "chain", "inet", TABLE, chain_name(fs)])
    listing = run([nft, "list", "table", "inet", TABLE])
    if listing.returncode == 0 and "chain " not in listing.stdout:
        run([nft, "delete", "table", "inet", TABLE])


def is_installed(fs: str, uid: int) -> bool | None:
    """True/False whether the rule is loaded; None when nft is missing."""
    nft = shutil.which("nft", path="/usr/sbin:/sbin:/usr/bin:/bin")
    if nft is None:
        return None
    listing = run([nft, "-n", "list", "chain", "inet", TABLE, chain_name(fs)])
    return listing.returncode == 0 and f"meta skuid {uid}" in listing.stdout and "reject" in listing.stdout
