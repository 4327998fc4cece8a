"""Every host audit check: a stable id, what it looks at, why it matters, how to fix a failure.
docs/audit-checks.md lists the same ids (a unit test keeps them in step). Ids never change meaning."""

from __future__ import annotations

from juicefs_guard.audit.model import CheckInfo
from juicefs_guard.audit.model import Severity as S


def _c(id_: str, title: str, severity: S, rationale: str, remediation: str, kind: str = "static") -> CheckInfo:
    return CheckInfo(id_, title, severity, rationale, remediation, kind)


REINIT = "re-run `sudo juicefs-guard init` with the same settings and --force to reinstall it"

CHECKS: dict[str, CheckInfo] = {
    check.id: check
    for check in (
        # JG-1xx: files juicefs-guard installed, as root.
        _c(
            "JG-101",
            "wrapper owner, group and mode",
            S.HIGH,
            "The wrapper must be root:<agent group> 0750: an agent-owned or world-accessible wrapper can be replaced "
            "or read by anyone.",
            f"chown root:<agent group> and chmod 750 the wrapper, or {REINIT}",
        ),
        _c(
            "JG-102",
            "scripts directory owner and mode",
            S.HIGH,
            "If the agent can write the scripts directory it can swap the wrapper for its own program.",
            "chown root:<agent group> and chmod 750 the scripts directory",
        ),
        _c(
            "JG-103",
            "wrapper bytes match the registry",
            S.HIGH,
            "A wrapper whose sha256 differs from the one recorded at init was replaced or modified.",
            REINIT,
        ),
        _c(
            "JG-104",
            "no plaintext leftovers of the build",
            S.CRITICAL,
            "shc's input script (.sh) and generated C (.x.c) hold the wrapper in clear, secrets included in embedded "
            "mode; the build directory must be gone.",
            "delete the listed files (shred them in embedded mode) and rotate",
        ),
        _c(
            "JG-105",
            "no agent-readable file holds a secret",
            S.CRITICAL,
            "Any copy of a secret the agent can read defeats the guard (a forgotten secrets file, a log, a backup).",
            "delete or chmod 600 the listed files, then rotate the secret (juicefs-guard rotate)",
        ),
        _c(
            "JG-106",
            "credentials root-only",
            S.CRITICAL,
            "Broker credentials (file, TLS files, the secrets command and the files it reads) must be root's alone.",
            "chown root:root and chmod 600 the credentials (700 for directories)",
        ),
        _c(
            "JG-107",
            "registry root-only",
            S.HIGH,
            "The registry holds salted secret hashes and what root trusts (paths, hashes); it must be root's alone.",
            "chown -R root:root /etc/juicefs-guard/filesystems; chmod 700 the directory and 600 its files",
        ),
        _c(
            "JG-108",
            "daemon logs and cache root-only",
            S.HIGH,
            "The root daemon's log and block cache hold file data and metadata the agent must reach only through "
            "the mount.",
            "chmod 700 /var/log/juicefs-guard /var/cache/juicefs-guard and 600 the files in them",
        ),
        # JG-2xx: privilege: sudo, groups, what root runs.
        _c(
            "JG-201",
            "sudo rights of the agent are only the helper lines",
            S.CRITICAL,
            "`sudo -l -U <agent>` must list exactly the helper's command lines; any other rule (ALL, a shell, an "
            "editor) gives the agent root.",
            "remove the extra sudoers rules for the agent (visudo)",
        ),
        _c(
            "JG-202",
            "sudoers drop-in intact and read by sudo",
            S.HIGH,
            "The drop-in must match what init wrote (0440, no '.' in its name so #includedir reads it).",
            REINIT,
        ),
        _c(
            "JG-203",
            "agent in no dangerous group",
            S.CRITICAL,
            "sudo, wheel, adm, docker, lxd, disk, shadow... each gives root or reads of root-only files.",
            "gpasswd -d <agent> <group>",
        ),
        _c(
            "JG-204",
            "what root executes for the agent is not writable by it",
            S.CRITICAL,
            "The helper, its interpreter, the juicefs client and every directory above them must be root-owned and "
            "not writable by others, and the helper and client must match their recorded hashes.",
            REINIT,
        ),
        _c(
            "JG-205",
            "metadata engine refuses unauthenticated clients",
            S.HIGH,
            "A Redis that answers without a password hands its whole metadata, object-storage keys included, to "
            "anyone who can reach it, the agent first.",
            "set requirepass (or ACLs) on the metadata engine",
        ),
        _c(
            "JG-206",
            "nftables block of the agent uid is loaded",
            S.MEDIUM,
            "--block-meta-for-agent was chosen at init; rules are not persistent across reboots unless saved.",
            "re-run init with --force, or save the ruleset (nft list ruleset > /etc/nftables.conf)",
        ),
        # JG-3xx: attack simulations, run as the agent (real privilege drop).
        _c(
            "JG-301",
            "strings of the wrapper show no secret",
            S.CRITICAL,
            "The agent can read its wrapper (mode 750 gives the group read); shc obfuscates, it does not encrypt.",
            "use broker mode: its wrapper holds no secret",
            "attack",
        ),
        _c(
            "JG-302",
            "strace of the wrapper shows no secret",
            S.CRITICAL,
            "`strace -f -s 9999` of an shc binary prints the decrypted script and the environment it exports.",
            "use broker mode",
            "attack",
        ),
        _c(
            "JG-303",
            "no juicefs process environment readable by the agent holds a secret",
            S.CRITICAL,
            "In embedded mode the agent's own daemon runs with META_PASSWORD etc. in its environment: "
            "cat /proc/<pid>/environ shows them.",
            "use broker mode: the secrets stay in root's daemon",
            "attack",
        ),
        _c(
            "JG-304",
            "no command line holds a secret",
            S.CRITICAL,
            "/proc/<pid>/cmdline is readable by every user: the juicefs daemons', and the shell that an shc binary "
            "starts with the decrypted script as its argument.",
            "never pass secrets in arguments; for an shc wrapper with secrets inside, use broker mode",
            "attack",
        ),
        _c(
            "JG-305",
            "the agent cannot ptrace or read the memory of root's daemon",
            S.CRITICAL,
            "ptrace or /proc/<pid>/mem of the daemon would give every secret in its memory.",
            "keep the daemon running as root (broker mode); set kernel.yama.ptrace_scope >= 1",
            "attack",
        ),
        _c(
            "JG-306",
            "the mount's internal files are not readable by the agent",
            S.HIGH,
            "JuiceFS's .config holds the volume's format, object-storage keys included; .accesslog shows all users' "
            "operations.",
            "use broker mode (the files are root 0400 there)",
            "attack",
        ),
        _c(
            "JG-307",
            "juicefs logs and cache are not readable by the agent",
            S.HIGH,
            "Logs and cached blocks of the root daemon can hold metadata and other users' data.",
            "chmod 700 the log and cache directories",
            "attack",
        ),
        # JG-4xx: the host around it, and who knocked on the door.
        _c(
            "JG-401",
            "ptrace restricted (kernel.yama.ptrace_scope >= 1)",
            S.MEDIUM,
            "With ptrace_scope 0 a process can trace any other process of the same user.",
            "sysctl -w kernel.yama.ptrace_scope=1 and persist it in /etc/sysctl.d/",
        ),
        _c(
            "JG-402",
            "/proc hides other users' processes (hidepid)",
            S.LOW,
            "Without hidepid the agent lists every process and command line on the host.",
            "mount -o remount,hidepid=invisible /proc (and in /etc/fstab)",
        ),
        _c(
            "JG-403",
            "core dumps of privileged processes off (fs.suid_dumpable = 0)",
            S.MEDIUM,
            "A core dump of a privileged process can end up readable with its secrets.",
            "sysctl -w fs.suid_dumpable=0 and persist it",
        ),
        _c(
            "JG-404",
            "/dev/fuse and mount options",
            S.MEDIUM,
            "Broker mounts need allow_other, nosuid and nodev; embedded mounts must not use allow_other; /dev/fuse "
            "must be a character device no one but root can replace.",
            "re-mount through the wrapper; chmod 666 /dev/fuse",
        ),
        _c(
            "JG-405",
            "agent persistence: login shell, cron and at",
            S.LOW,
            "An agent that can log in or schedule jobs keeps running after its session ends.",
            "usermod -s /usr/sbin/nologin <agent>; list it in /etc/cron.deny and /etc/at.deny",
        ),
        _c(
            "JG-406",
            "refused requests since the last audit",
            S.MEDIUM,
            "Requests the helper or sudo refused (a foreign mountpoint, merged arguments, another agent's filesystem) "
            "mean someone probes the boundary.",
            "read `juicefs-guard log --since ...` and find out why",
        ),
    )
}
