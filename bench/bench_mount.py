"""Mount latency: the agent's `./juicefs-scripts/<fs> mount` (shc wrapper -> sudo -> helper -> juicefs) until the
mountpoint is ready, against root starting the foreground `juicefs mount` itself and polling until ready,
alternated in one run. Prints medians, their ratio (target <= 1.15) and what each piece of the guard costs.

    sudo /opt/juicefs-guard-test/bin/python bench/bench_mount.py [--runs 30] [--meta sqlite|redis]

The agent's commands are timed from inside a process of the agent's (one privilege drop for the whole run), as
the agent's shell would run them: a fork and an exec of the wrapper, nothing else.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    AgentShell,
    guarded_pids,
    machine,
    median_ms,
    mounted,
    start_direct,
    stop_direct,
    volumes,
    wait_for_exit,
)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--meta",
        choices=("sqlite", "redis"),
        default="sqlite",
        help="metadata engine: a SQLite file, or redis-server with a password on loopback",
    )
    args = parser.parse_args()
    with volumes(1, meta=args.meta) as (volume,), AgentShell(volume.agent) as agent:
        direct_point = f"{volume.workdir}/direct-mnt"
        os.mkdir(direct_point, 0o755)
        guard, direct = [], []
        for _ in range(args.runs):
            guard.append(agent.timed([volume.wrapper, "mount"]))
            assert mounted(volume.mountpoint)
            agent.timed([volume.wrapper, "umount"])
            if wait_for_exit(lambda: guarded_pids(volume)):
                raise RuntimeError("the guarded client did not exit after its unmount")
            direct.append(timed(lambda: start_direct(volume, direct_point)))
            stop_direct(volume, direct_point)
        helper = "/usr/local/lib/juicefs-guard/helper"
        pieces = {
            "fork + exec of /bin/true (the floor)": ["/bin/true"],
            "shc wrapper, usage error (shc + sh)": [volume.wrapper, "x"],
            "python3 -I -S -c pass": ["/usr/bin/python3", "-I", "-S", "-c", "pass"],
            "sudo -n helper FS status (sudo + helper)": ["sudo", "-n", helper, volume.name, "status"],
            "wrapper status (shc + sudo + helper)": [volume.wrapper, "status"],
        }
        costs = {
            label: median_ms([agent.timed(argv, check=False) for _ in range(args.runs)])
            for label, argv in pieces.items()
        }
    g, d = median_ms(guard), median_ms(direct)
    print(
        f"# mount latency, {datetime.date.today()}, {machine()}, {args.meta} metadata, {args.runs} runs each, "
        "alternated"
    )
    print(f"guarded mount (the agent's wrapper)         median {g:8.1f} ms")
    print(f"direct mount (root, shell & + poll)         median {d:8.1f} ms")
    print(f"ratio guarded/direct                         {g / d:8.3f}   (target <= 1.15)")
    print(f"the guard's cost (guarded - direct)          {g - d:8.1f} ms")
    print("# pieces (medians)")
    for label, value in costs.items():
        print(f"{label:<46} {value:8.1f} ms")


if __name__ == "__main__":
    main()
