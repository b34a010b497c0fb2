#!/usr/bin/env python3
"""Peak RSS of salvage (and check-rdb, dump, rewrite, which share the reader)
on damaged copies of a large RDB (issue 16: memory bounded by the largest
value plus a constant, whatever the damage).

usage: salvage_memory.py [RDB] [--dir DIR] [--bin BIN] [--only NAME,...]
                         [--commands salvage,check-rdb,dump,rewrite]

RDB defaults to /tmp/bench/k300/dump.rdb. The damaged copies are written to
DIR (default /tmp/bench-salvmem), once (kept for reruns). Each line prints a
pattern, its file size, and per command the peak RSS (/usr/bin/time %M), wall
time and exit code, then the load average. Every pattern is seeded.
"""
import argparse
import os
import random
import struct
import subprocess
import sys
import tempfile

MB = 1 << 20


def patterns(data):
    """(name, bytes) of every damaged copy of `data`."""
    n = len(data)
    out = [("undamaged", data)]

    def insert(name, size, offsets, seed):
        rng = random.Random(seed)
        b = bytearray()
        last = 0
        for frac in offsets:
            at = int(n * frac)
            b += data[last:at]
            b += rng.randbytes(size)
            last = at
        b += data[last:]
        out.append((name, bytes(b)))

    insert("insert-10MB-middle", 10 * MB, [0.5], 1)
    insert("insert-1MB-x3", MB, [0.25, 0.5, 0.75], 2)
    insert("insert-10MB-x3", 10 * MB, [0.2, 0.5, 0.8], 3)

    # A long run of damage in the middle: what the salvage keeps in memory
    # must not grow with it (16 vs 64 MiB, random bytes and zeros).
    for size in (16, 64):
        insert(f"insert-{size}MB-random-middle", size * MB, [0.5], 10 + size)
        b = bytearray(data[:n // 2])
        b += bytes(size * MB)
        b += data[n // 2:]
        out.append((f"insert-{size}MB-zeros-middle", bytes(b)))

    for flips, seed in ((50, 4), (2000, 5)):
        rng = random.Random(seed)
        b = bytearray(data)
        for _ in range(flips):
            i = rng.randrange(9, n - 9)
            b[i] ^= 1 << rng.randrange(8)
        out.append((f"bitflips-{flips}", bytes(b)))

    for fill, seed in ((b"\xff", 6), (None, 7)):
        rng = random.Random(seed)
        b = bytearray(data)
        for frac in (0.3, 0.6):
            at = int(n * frac)
            run = MB
            b[at:at + run] = fill * run if fill else rng.randbytes(run)
        out.append((f"overwrite-1MB-{'ff' if fill else 'random'}-x2", bytes(b)))

    # Zeroed 4 KiB pages, many.
    rng = random.Random(8)
    b = bytearray(data)
    for _ in range(200):
        at = rng.randrange(16, n - 4096) // 4096 * 4096
        b[at:at + 4096] = bytes(4096)
    out.append(("zero-pages-200", bytes(b)))

    # Huge claimed counts: right after the header and aux fields (before the
    # first key), a set/list/hash/zset claiming 2^32-1 (then 2^40) elements
    # whose bytes are the rest of the file; and the same in the middle.
    for typ, tname in ((2, "set"), (4, "hash"), (18, "list"), (5, "zset2")):
        head = first_key_offset(data)
        rec = bytes([typ]) + b"\x03key" + b"\x80" + struct.pack(">I", 0xFFFFFFFF)
        out.append((f"huge-count-{tname}-head", data[:head] + rec + data[head:]))
    mid = int(n * 0.5)
    rec = b"\x02\x03key\x81" + struct.pack(">Q", 1 << 40)
    out.append(("huge-count-set-middle", data[:mid] + rec + data[mid:]))
    return out


def first_key_offset(data):
    """Offset of the first SELECTDB (0xFE) opcode after the aux fields, a safe
    place to insert a record (a guess good enough for a bench file)."""
    i = data.find(b"\xfe\x00", 9)
    return i if i > 0 else 9


def bench_args(input_name, input_default, dir_default, commands=True):
    """The options of this bench and of its siblings: (args, the --only set);
    DIR is created."""
    ap = argparse.ArgumentParser()
    ap.add_argument(input_name, nargs="?", default=input_default)
    ap.add_argument("--dir", default=dir_default)
    ap.add_argument("--bin", default="target/release/redis-persist")
    ap.add_argument("--only", default="")
    if commands:
        ap.add_argument("--commands", default="salvage,check-rdb,dump,rewrite")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    return args, set(filter(None, args.only.split(",")))


def main():
    args, only = bench_args("rdb", "/tmp/bench/k300/dump.rdb", "/tmp/bench-salvmem")
    with open(args.rdb, "rb") as f:
        data = f.read()
    names = []
    for name, b in patterns(data):
        if only and name not in only:
            continue
        path = os.path.join(args.dir, name + ".rdb")
        if not os.path.exists(path) or os.path.getsize(path) != len(b):
            with open(path + ".tmp", "wb") as f:
                f.write(b)
            os.rename(path + ".tmp", path)
        names.append((name, path))
    del data
    out = tempfile.mkdtemp(dir=args.dir, prefix="out.")
    cmds = {
        "salvage": "{bin} --no-progress salvage {p} -o {o}/s.rdb --force",
        "check-rdb": "{bin} --no-progress check-rdb {p}",
        "dump": "{bin} --no-progress dump {p}",
        "rewrite": "{bin} --no-progress rewrite {p} -o {o}/r.rdb --force --target redis-7.0",
    }
    wanted = args.commands.split(",")
    print(f"{'pattern':<30} {'MB':>6}  " + "  ".join(f"{c + ' MB/s/exit':>24}" for c in wanted))
    for name, path in names:
        cells = []
        for c in wanted:
            cmd = cmds[c].format(bin=args.bin, p=path, o=out)
            p = subprocess.run(["/usr/bin/time", "-f", "%e %M %x", "bash", "-c",
                                cmd + " >/dev/null 2>&1"], stderr=subprocess.PIPE, text=True)
            wall, rss, code = p.stderr.strip().splitlines()[-1].split()[-3:]
            cells.append(f"{int(rss) / 1024:>10.1f} {float(wall):>7.2f} {code:>4}")
        size = os.path.getsize(path) / MB
        print(f"{name:<30} {size:>6.1f}  " + "  ".join(f"{x:>24}" for x in cells), flush=True)
    for f in os.listdir(out):
        os.remove(os.path.join(out, f))
    os.rmdir(out)
    with open("/proc/loadavg") as f:
        print("load average:", f.read().split()[0])


if __name__ == "__main__":
    sys.exit(main())
