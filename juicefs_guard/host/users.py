"""The agent's Unix account: created locked with its own primary group, or adopted if it exists."""

from __future__ import annotations

import grp
import pwd
from dataclasses import dataclass

from juicefs_guard.errors import OperationFailed, UserError
from juicefs_guard.host.run import run

DANGEROUS_GROUPS = ("sudo", "wheel", "adm", "docker", "lxd", "disk", "shadow", "root", "kvm", "libvirt")


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    group: str
    home: str
    shell: str


def uid_min() -> int:
    """UID_MIN from /etc/login.defs (1000 on Debian): below it are system accounts."""
    try:
        with open("/etc/login.defs", encoding="utf-8") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) >= 2 and fields[0] == "UID_MIN":
                    return int(fields[1])
    except (OSError, ValueError):
        pass
    return 1000


def lookup(name: str) -> Account | None:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    try:
        group = grp.getgrgid(entry.pw_gid).gr_name
    except KeyError:
        group = str(entry.pw_gid)
    return Account(name, entry.pw_uid, entry.pw_gid, group, entry.pw_dir, entry.pw_shell)


def check_adoptable(account: Account) -> None:
    if account.uid == 0 or account.uid < uid_min():
        raise UserError(
            f"user {account.name!r} (uid {account.uid}) is a system account; choose a dedicated agent user "
            f"with uid >= {uid_min()}"
        )


def groups_of(name: str) -> list[str]:
    account = lookup(name)
    if account is None:
        return []
    names = {g.gr_name for g in grp.getgrall() if name in g.gr_mem}
    names.add(account.group)
    return sorted(names)


def dangerous_memberships(name: str) -> list[str]:
    return [g for g in groups_of(name) if g in DANGEROUS_GROUPS]


def create(name: str) -> Account:
    """Locked (no password: useradd leaves '!' in shadow), own primary group, a home, bash as its shell."""
    result = run(
        ["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", "--comment", "juicefs-guard agent", name]
    )
    if result.returncode != 0:
        raise OperationFailed(f"useradd {name} failed: {result.stderr.strip()}")
    run(["usermod", "--lock", name])
    account = lookup(name)
    if account is None:
        raise OperationFailed(f"useradd {name} reported success but the user does not exist")
    return account


def stop_processes(name: str, grace: float = 3.0) -> None:
    """userdel refuses while the user runs anything: TERM, a grace period, then KILL."""
    import time

    if run(["pkill", "-TERM", "-u", name]).returncode != 0:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if run(["pgrep", "-u", name]).returncode != 0:
            return
        time.sleep(0.1)
    run(["pkill", "-KILL", "-u", name])
    time.sleep(0.2)


def delete(name: str, *, remove_home: bool = True) -> None:
    stop_processes(name)
    argv = ["userdel", "--remove", name] if remove_home else ["userdel", name]
    result = run(argv)
    if result.returncode not in (0, 6):  # 6: no such user
        # userdel exits 12 when it could not remove the mail spool or home; the account itself is gone
        if lookup(name) is not None:
            raise OperationFailed(f"userdel {name} failed: {result.stderr.strip()}")
