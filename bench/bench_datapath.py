"""Data path: sequential write and read of a large file and a metadata-heavy run (create, stat and delete many
small files), as the agent, through its broker mount against a direct root mount of the same volume with the
same client and options, in one run, which goes first alternating from round to round. Prints medians and the
ratios guarded/direct (target >= 0.97).

    sudo /opt/juicefs-guard-test/bin/python bench/bench_datapath.py [--size-mb 1024] [--files 10000] [--runs 10]

The guard adds no process to the data path (the agent's reads and writes go to the kernel and to a root
`juicefs` daemon in both cases); this benchmark shows that the guarded mount's options cost nothing either.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import agent_run, machine, start_direct, stop_direct, volumes  # noqa: E402

# Run as the agent with `python3 -I -S`: the same interpreter and code for both mounts.
WORKLOAD = r"""
import json, os, sys, time
target, size_mb, files, phase = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
big = os.path.join(target, "seq.bin")
result = {}
if phase == "write":
    block = os.urandom(1 << 20)
    start = time.perf_counter()
    with open(big, "wb", buffering=0) as handle:
        for _ in range(size_mb):
            handle.write(block)
        os.fsync(handle.fileno())
    result["write"] = time.perf_counter() - start
elif phase == "read":
    start = time.perf_counter()
    with open(big, "rb", buffering=0) as handle:
        while handle.read(1 << 20):
            pass
    result["read"] = time.perf_counter() - start
    os.unlink(big)
else:
    folder = os.path.join(target, "small")
    os.mkdir(folder)
    names = [os.path.join(folder, f"f{i:06d}") for i in range(files)]
    payload = b"x" * 512
    start = time.perf_counter()
    for name in names:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, payload)
        os.close(fd)
    result["create"] = time.perf_counter() - start
    start = time.perf_counter()
    for name in names:
        os.stat(name)
    result["stat"] = time.perf_counter() - start
    start = time.perf_counter()
    for name in names:
        os.unlink(name)
    result["delete"] = time.perf_counter() - start
    os.rmdir(folder)
print(json.dumps(result))
"""


def drop_caches() -> bool:
    """So that reads come from the filesystem, not the page cache (not allowed in some containers)."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w", encoding="ascii") as handle:
            handle.write("3\n")
        return True
    except OSError:
        return False


def run_phase(agent: str, target: str, phase: str, size_mb: int, files: int) -> dict[str, float]:
    argv = ["python3", "-I", "-S", "-c", WORKLOAD, target, str(size_mb), str(files), phase]
    return json.loads(agent_run(agent, argv).stdout)


def one_round(agent: str, target: str, size_mb: int, files: int) -> tuple[dict[str, float], bool]:
    times = run_phase(agent, target, "write", size_mb, files)
    dropped = drop_caches()
    times |= run_phase(agent, target, "read", size_mb, files)
    times |= run_phase(agent, target, "small", size_mb, files)
    return times, dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the sequential file (default 1024)")
    parser.add_argument("--files", type=int, default=10000, help="number of small files (default 10000)")
    parser.add_argument("--runs", type=int, default=10, help="rounds per mount, order alternated (default 10)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds of rest after each workload (default 5)")
    args = parser.parse_args()
    with volumes(1) as (volume,):
        # A directory the agent can reach (the workdir is root-only), for the direct mount.
        direct_parent = tempfile.mkdtemp(prefix="jfg-bench-direct-")
        os.chmod(direct_parent, 0o755)
        direct_point = os.path.join(direct_parent, "mnt")
        os.mkdir(direct_point, 0o755)
        agent_run(volume.agent, [volume.wrapper, "mount"])
        start_direct(volume, direct_point)
        try:
            for point in (volume.mountpoint, direct_point):  # the agent owns one working directory per mount
                workdir = os.path.join(point, "bench-" + os.path.basename(point))
                os.makedirs(workdir, exist_ok=True)
                os.chown(workdir, *_ids(volume.agent))
            guarded: list[dict[str, float]] = []
            direct: list[dict[str, float]] = []
            dropped = True
            for index in range(args.runs):
                order = [("guarded", volume.mountpoint, guarded), ("direct", direct_point, direct)]
                if index % 2:  # the second of a pair runs while the first one's daemon still frees deleted blocks
                    order.reverse()
                for label, point, store in order:
                    print(f"\rround {index + 1}/{args.runs}: {label}   ", end="", file=sys.stderr, flush=True)
                    target = os.path.join(point, "bench-" + os.path.basename(point))
                    times, ok = one_round(volume.agent, target, args.size_mb, args.files)
                    time.sleep(args.settle)  # let the daemon free the deleted blocks before the next workload
                    store.append(times)
                    dropped = dropped and ok
            print(file=sys.stderr)
        finally:
            stop_direct(volume, direct_point)
            agent_run(volume.agent, [volume.wrapper, "umount"], check=False)
            os.rmdir(direct_point)
            os.rmdir(direct_parent)
    report(args, guarded, direct, dropped)


def _ids(user: str) -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def report(args: argparse.Namespace, guarded: list[dict], direct: list[dict], dropped: bool) -> None:
    """Two views of the same rounds: the ratio of the medians (what the target names), and the median of the
    ratios within each round, whose two runs were back to back, so that the machine's drift cancels."""

    def median(rows: list[dict], key: str) -> float:
        return statistics.median(row[key] for row in rows)

    print(f"# data path, {datetime.date.today()}, {machine()}, {args.runs} rounds each, order alternated")
    print(f"# page cache dropped before reads: {'yes' if dropped else 'no (not permitted here)'}")
    print("# ratio = guarded rate / direct rate, target >= 0.97; per round: median [lowest, highest]")
    print(f"{'measure':<24} {'guarded':>10} {'direct':>10} {'ratio':>7}   {'per round':<22}")
    rows = [
        ("sequential write MiB/s", "write", args.size_mb),
        ("sequential read MiB/s", "read", args.size_mb),
        ("create files/s", "create", args.files),
        ("stat files/s", "stat", args.files),
        ("delete files/s", "delete", args.files),
    ]
    for label, key, amount in rows:
        g, d = amount / median(guarded, key), amount / median(direct, key)
        paired = sorted(d_row[key] / g_row[key] for g_row, d_row in zip(guarded, direct, strict=True))
        spread = f"{statistics.median(paired):.3f} [{paired[0]:.3f}, {paired[-1]:.3f}]"
        print(f"{label:<24} {g:10.1f} {d:10.1f} {g / d:7.3f}   {spread:<22}")


if __name__ == "__main__":
    main()
