#!/usr/bin/env python3
"""Times two commands side by side, alternating runs, and prints medians, the
ratio and the peak RSS of each (from /usr/bin/time -v). Used by the benches/*.sh
scripts; machines are noisy, so compare ratios measured in one run.

usage: compare.py RUNS NAME_A 'COMMAND A' NAME_B 'COMMAND B'
"""
import statistics
import subprocess
import sys


def run(cmd):
    p = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "bash", "-c", cmd + " > /dev/null"],
                       stderr=subprocess.PIPE, text=True)
    last = p.stderr.strip().splitlines()[-1].split()
    wall, user, sys_, rss = float(last[0]), float(last[1]), float(last[2]), int(last[3])
    return wall, user + sys_, rss, p.returncode


def main():
    runs = int(sys.argv[1])
    (na, a), (nb, b) = (sys.argv[2], sys.argv[3]), (sys.argv[4], sys.argv[5])
    res = {na: [], nb: []}
    for _ in range(runs):
        for name, cmd in ((na, a), (nb, b)):
            res[name].append(run(cmd))
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print(f"load average at the end: {load}")
    for name in (na, nb):
        r = res[name]
        walls = [x[0] for x in r]
        cpus = [x[1] for x in r]
        rss = max(x[2] for x in r)
        codes = sorted({x[3] for x in r})
        print(f"{name:>24}: median wall {statistics.median(walls):.3f} s (min {min(walls):.3f}), "
              f"median cpu {statistics.median(cpus):.3f} s, peak RSS {rss / 1024:.1f} MB, exit {codes}")
    wa = statistics.median(x[0] for x in res[na])
    wb = statistics.median(x[0] for x in res[nb])
    ca = statistics.median(x[1] for x in res[na])
    cb = statistics.median(x[1] for x in res[nb])
    print(f"ratio {na}/{nb}: wall {wa / wb:.2f}x, cpu {ca / cb:.2f}x")


if __name__ == "__main__":
    main()
