#!/usr/bin/env python3
"""Peak RSS of `salvage` on damaged copies of large AOFs (issue 16: AOF ->
AOF salvage in memory bounded by the largest value plus a constant, whatever
the damage), next to the undamaged ones.

usage: salvage_memory_aof.py [BENCH_DIR] [--dir DIR] [--bin BIN] [--only NAME,...]

BENCH_DIR (default /tmp/bench/k300) holds what make-bench-files.py writes:
appendonly.aof (a single file), aof-rewritten/ (a multi-part AOF whose base
is RESP and not the last part) and aof-hybrid/ (an RDB base). The damaged
copies are written to DIR (default /tmp/bench-salvmem-aof) once, kept for
reruns; a part left undamaged is hard-linked. The damage is a run of random
bytes, or of zeros, 10 MiB or 64 MiB long, inserted in the middle of the
single file or of the base (the non-last part). Each line prints a pattern,
its damaged file's size, the peak RSS (/usr/bin/time %M), the wall time and
the exit code (1: damage found), then the load average. Seeded.
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from salvage_memory import bench_args  # noqa: E402

MB = 1 << 20


def run_of(kind, size):
    """`size` random bytes (seeded by the size) or zeros."""
    if kind == "zeros":
        return bytes(size)
    return random.Random(size).randbytes(size)


def write_damaged(src, dst, run):
    """`src` with `run` inserted at its middle, written to `dst` (once)."""
    n = os.path.getsize(src)
    if os.path.exists(dst) and os.path.getsize(dst) == n + len(run):
        return
    with open(src, "rb") as f, open(dst + ".tmp", "wb") as o:
        o.write(f.read(n // 2))
        o.write(run)
        shutil.copyfileobj(f, o, 16 * MB)
    os.rename(dst + ".tmp", dst)


def damaged_dir(src, dst, part, run):
    """A copy of the multi-part AOF `src` whose file `part` has `run` in it."""
    os.makedirs(dst, exist_ok=True)
    for name in os.listdir(src):
        s, d = os.path.join(src, name), os.path.join(dst, name)
        if name == part:
            write_damaged(s, d, run)
        elif not os.path.exists(d):
            os.link(s, d)


def base_of(d):
    """The base file named by the manifest of the directory `d`."""
    with open(os.path.join(d, "appendonly.aof.manifest")) as f:
        for line in f:
            w = line.split()
            if w[-1] == "b":
                return w[1]
    raise SystemExit(f"{d}: no base in the manifest")


def patterns(bench, out):
    """(name, input path, path whose size is shown)."""
    single = os.path.join(bench, "appendonly.aof")
    yield "single-undamaged", single, single
    for d in ("aof-rewritten", "aof-hybrid"):
        src = os.path.join(bench, d)
        yield f"{d}-undamaged", src, os.path.join(src, base_of(src))
    for size in (10, 64):
        for kind in ("random", "zeros"):
            tag = f"{size}MB-{kind}"
            p = os.path.join(out, f"single-{tag}.aof")
            yield f"single-{tag}", (p, single, None, size, kind), p
            for d in ("aof-rewritten", "aof-hybrid"):
                src = os.path.join(bench, d)
                dst = os.path.join(out, f"{d}-{tag}")
                base = base_of(src)
                yield f"{d}-{tag}", (dst, src, base, size, kind), os.path.join(dst, base)


def materialize(spec):
    """Writes a damaged copy described by `spec`; returns its path."""
    if isinstance(spec, str):
        return spec
    dst, src, part, size, kind = spec
    run = run_of(kind, size * MB)
    if part is None:
        write_damaged(src, dst, run)
    else:
        damaged_dir(src, dst, part, run)
    return dst


def main():
    args, only = bench_args("bench", "/tmp/bench/k300", "/tmp/bench-salvmem-aof", False)
    out = tempfile.mkdtemp(dir=args.dir, prefix="out.")
    print(f"{'pattern':<30} {'MB':>6} {'peak MB':>8} {'s':>7} {'exit':>4}")
    for name, spec, shown in patterns(args.bench, args.dir):
        if only and name not in only:
            continue
        path = materialize(spec)
        o = os.path.join(out, "o")
        cmd = f"{args.bin} --no-progress salvage {path} -o {o} --force >/dev/null 2>&1"
        p = subprocess.run(["/usr/bin/time", "-f", "%e %M %x", "bash", "-c", cmd],
                           stderr=subprocess.PIPE, text=True)
        wall, rss, code = p.stderr.strip().splitlines()[-1].split()[-3:]
        size = os.path.getsize(shown) / MB
        print(f"{name:<30} {size:>6.1f} {int(rss) / 1024:>8.1f} {float(wall):>7.2f} {code:>4}",
              flush=True)
        shutil.rmtree(o, ignore_errors=True)
        if os.path.exists(o):
            os.remove(o)
    shutil.rmtree(out, ignore_errors=True)
    with open("/proc/loadavg") as f:
        print("load average:", f.read().split()[0])


if __name__ == "__main__":
    sys.exit(main())
