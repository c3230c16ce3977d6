#!/usr/bin/env python3
"""CPU spent per answer by each tier while the side-by-side anchors run.

Usage: bench/tier_cpu.py [run_anchors.sh]   (its environment variables pass through:
PG=1, PRODUCT_PG_CMD, TARGETS, CONNS, DUR, ...)

run_anchors.sh drives one target at a time with one wrk process, on one machine where wrk,
nginx, PostgreSQL and the responder share the cores. Requests per second then measure the
whole machine, so a backend that needs less CPU than another gains only the share of the
machine it frees. This script samples /proc every 100 ms during the run and, for each wrk
process (one per target, in the order of the table), adds up the CPU time each group of
processes used while it ran, divided by the answers that target gave:

  backend   the FastCGI responder itself (token-responder, the C anchors, php-fpm children)
  postgres  every PostgreSQL backend (the targets run one after the other, so what the
            cluster does during a target's window is that target's work)
  nginx     nginx's worker
  wrk       the load generator

The backend + postgres figure is the cost of an answer in the tier that scales out with
more nodes and database hosts; it is what the throughput ratio would be if that tier had
cores of its own.

PIN=1 also gives it a core of its own on a two-core machine: every 100 ms each thread of
wrk and nginx is pinned to CPU 0 and each thread of the backends and PostgreSQL to CPU 1
(new processes, such as a PostgreSQL backend for a new connection, within 100 ms).
"""

import os
import re
import subprocess
import sys
import threading
import time

GROUPS = {
    "backend": re.compile(r"^(token-responder|anchor_c_fcgi|anchor_null_fcg|php-fpm)"),
    "postgres": re.compile(r"^postgres$"),
    "nginx": re.compile(r"^nginx$"),
    "wrk": re.compile(r"^wrk$"),
}
TICK = os.sysconf("SC_CLK_TCK")


def processes():
    """(pid, comm, cpu seconds) for every process; threads are counted in their process."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        found.append((int(entry), comm, (int(fields[11]) + int(fields[12])) / TICK))
    return found


LOAD_CPU, TIER_CPU = {0}, {1}


def pin(procs):
    """Pins every thread of the load side to LOAD_CPU and of the backend tier to TIER_CPU."""
    for pid, comm, _ in procs:
        if GROUPS["wrk"].match(comm) or GROUPS["nginx"].match(comm):
            cpus = LOAD_CPU
        elif GROUPS["backend"].match(comm) or GROUPS["postgres"].match(comm):
            cpus = TIER_CPU
        else:
            continue
        try:
            for thread in os.listdir(f"/proc/{pid}/task"):
                if os.sched_getaffinity(int(thread)) != cpus:
                    os.sched_setaffinity(int(thread), cpus)
        except OSError:
            pass


def sample(samples, stop):
    pinning = os.environ.get("PIN") == "1"
    while not stop.is_set():
        procs = processes()
        if pinning:
            pin(procs)
        samples.append((time.monotonic(), procs))
        time.sleep(0.1)


def main():
    script = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/bench/run_anchors.sh"
    samples, stop = [], threading.Event()
    sampler = threading.Thread(target=sample, args=(samples, stop))
    sampler.start()
    try:
        run = subprocess.run([script], capture_output=True, text=True, check=True)
    finally:
        stop.set()
        sampler.join()
    print(run.stdout, end="")
    rows = [line.split() for line in run.stdout.splitlines()[1:] if line.strip()]
    # One window per wrk process, in start order.
    windows = {}
    for index, (_, procs) in enumerate(samples):
        for pid, comm, _ in procs:
            if comm == "wrk":
                windows.setdefault(pid, [index, index])[1] = index
    ordered = sorted(windows.values())
    if len(ordered) != len(rows):
        sys.exit(f"found {len(ordered)} wrk runs for {len(rows)} targets")
    print()
    print(f"{'target':<11} {'req/s':>9}   CPU µs per answer: {'backend':>8} {'postgres':>8} {'b+pg':>7} {'nginx':>7} {'wrk':>7}")
    for (first, last), row in zip(ordered, rows):
        target, rps = row[0], float(row[1])
        seconds = samples[last][0] - samples[first][0]
        answers = rps * seconds
        before = {pid: cpu for pid, _, cpu in samples[first][1]}
        used = dict.fromkeys(GROUPS, 0.0)
        for pid, comm, cpu in samples[last][1]:
            for group, pattern in GROUPS.items():
                if pattern.match(comm):
                    used[group] += cpu - before.get(pid, 0.0)
        per = {group: used[group] / answers * 1e6 for group in GROUPS}
        print(
            f"{target:<11} {rps:>9.0f}   {'':>19}{per['backend']:>8.1f} {per['postgres']:>8.1f}"
            f" {per['backend'] + per['postgres']:>7.1f} {per['nginx']:>7.1f} {per['wrk']:>7.1f}"
        )


if __name__ == "__main__":
    main()
