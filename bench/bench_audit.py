"""Audit cost: wall time and peak memory of `juicefs-guard audit` with 1 and 20 installed filesystems (100 with
--with-100). Targets: one filesystem in under 2 s; 20 in under 3x the time of one.

    sudo /opt/juicefs-guard-test/bin/python bench/bench_audit.py [--runs 3] [--with-100] [--mounted]

Peak memory is the largest resident set of any process the audit ran (the audit itself, in practice), read from
getrusage(RUSAGE_CHILDREN) in a fresh interpreter per run so that runs do not mask each other.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import CLI, agent_run, machine, volumes  # noqa: E402

MEASURE = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
result = subprocess.run(sys.argv[1:], capture_output=True)
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "rc": result.returncode,
                  "peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def measure(runs: int) -> tuple[float, float, int]:
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", MEASURE, CLI, "audit", "--quiet"],
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
        )
        samples.append(json.loads(out.stdout))
    rcs = {sample["rc"] for sample in samples}
    return (statistics.median(s["seconds"] for s in samples), max(s["peak_kib"] for s in samples) / 1024, max(rcs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--with-100", action="store_true", help="also 100 filesystems (installs take minutes)")
    parser.add_argument(
        "--mounted", action="store_true", help="mount every volume first, so that the attacks on the daemons run too"
    )
    args = parser.parse_args()
    counts = [1, 20] + ([100] if args.with_100 else [])
    rows = []
    with volumes(0) as made:
        try:
            for count in counts:
                before = len(made)
                made.add(count - before)
                if args.mounted:
                    for volume in made[before:]:
                        agent_run(volume.agent, [volume.wrapper, "mount"])
                seconds, peak, rc = measure(args.runs)
                rows.append((len(made), seconds, peak, rc))
        finally:
            if args.mounted:
                for volume in made:
                    agent_run(volume.agent, [volume.wrapper, "umount"], check=False)
    state = "mounted" if args.mounted else "not mounted (attacks on daemons skip)"
    print(f"# audit, {datetime.date.today()}, {machine()}, median of {args.runs} runs, volumes {state}")
    print(f"{'filesystems':>11} {'wall s':>8} {'peak MiB':>9} {'exit':>5} {'x one':>6}")
    base = rows[0][1]
    for count, seconds, peak, rc in rows:
        print(f"{count:>11} {seconds:8.2f} {peak:9.1f} {rc:>5} {seconds / base:6.2f}")
    print("targets: one filesystem < 2 s; 20 filesystems < 3x one")


if __name__ == "__main__":
    main()
