"""Mount latency: the agent's `./juicefs-scripts/<fs> mount` (shc wrapper -> sudo -> helper -> juicefs) until the
mountpoint is ready, against root starting the foreground `juicefs mount` itself and polling until ready,
alternated in one run. Prints medians, their ratio (target <= 1.15) and what each piece of the guard costs.

    sudo /opt/juicefs-guard-test/bin/python bench/bench_mount.py [--runs 15] [--meta sqlite|redis]

The guarded time includes `setpriv`, which the benchmark needs to act as the agent and a real agent's shell does
not pay; it is printed so that it can be subtracted.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import agent_run, machine, median_ms, mounted, start_direct, stop_direct, volumes  # noqa: E402


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--meta",
        choices=("sqlite", "redis"),
        default="sqlite",
        help="metadata engine: a SQLite file, or redis-server with a password on loopback",
    )
    args = parser.parse_args()
    with volumes(1, meta=args.meta) as (volume,):
        direct_point = f"{volume.workdir}/direct-mnt"
        os.mkdir(direct_point, 0o755)
        guard, direct = [], []
        for _ in range(args.runs):
            guard.append(timed(lambda: agent_run(volume.agent, [volume.wrapper, "mount"])))
            assert mounted(volume.mountpoint)
            agent_run(volume.agent, [volume.wrapper, "umount"])
            direct.append(timed(lambda: start_direct(volume, direct_point)))
            stop_direct(direct_point)
        helper = "/usr/local/lib/juicefs-guard/helper"
        pieces = {
            "setpriv (the benchmark's own privilege drop)": lambda: agent_run(volume.agent, ["true"]),
            "shc wrapper, usage error (shc + sh)": lambda: agent_run(volume.agent, [volume.wrapper, "x"], check=False),
            "python3 -I -S -c pass": lambda: agent_run(volume.agent, ["python3", "-I", "-S", "-c", "pass"]),
            "sudo -n helper FS status (sudo + helper)": lambda: agent_run(
                volume.agent, ["sudo", "-n", helper, volume.name, "status"], check=False
            ),
            "wrapper status (shc + sudo + helper)": lambda: agent_run(
                volume.agent, [volume.wrapper, "status"], check=False
            ),
        }
        costs = {label: median_ms([timed(fn) for _ in range(args.runs)]) for label, fn in pieces.items()}
    g, d = median_ms(guard), median_ms(direct)
    setpriv = costs["setpriv (the benchmark's own privilege drop)"]
    print(
        f"# mount latency, {datetime.date.today()}, {machine()}, {args.meta} metadata, {args.runs} runs each, "
        "alternated"
    )
    print(f"guarded mount (agent wrapper, via setpriv)  median {g:8.1f} ms")
    print(f"direct mount (root, shell & + poll)         median {d:8.1f} ms")
    print(f"ratio guarded/direct                         {g / d:8.3f}   (target <= 1.15)")
    print(f"ratio without the benchmark's setpriv        {(g - setpriv) / d:8.3f}")
    print(f"the guard's cost (guarded - direct)          {g - d:8.1f} ms")
    print("# pieces (medians)")
    for label, value in costs.items():
        print(f"{label:<46} {value:8.1f} ms")


if __name__ == "__main__":
    main()
