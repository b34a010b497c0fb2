#!/usr/bin/env python3
"""Seeds for the aof_input fuzz target, from multi-part AOF directories and
single AOF files (RESP or hybrid) under the given roots.

    python3 aof_input_seeds.py OUT_DIR ROOT...

A multi-part seed is its manifest, with the files renamed to the target's fixed
names (BASE .rdb or .aof, then up to two INCR files), and their bytes, joined by
the target's separator. A single-file seed is an empty manifest and the file.
Inputs larger than 64 KiB are skipped.
"""
import hashlib
import os
import re
import sys

SEP = b"\n--8<--\n"
LIMIT = 64 * 1024


def seed(out, data):
    if len(data) <= LIMIT:
        name = hashlib.md5(data).hexdigest()[:16]
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


def multipart(out, manifest_path):
    d = os.path.dirname(manifest_path)
    text = open(manifest_path, "rb").read()
    slots = {"rdb": b"appendonly.aof.1.base.rdb", "aof": b"appendonly.aof.1.base.aof"}
    incr = [b"appendonly.aof.1.incr.aof", b"appendonly.aof.2.incr.aof"]
    files = {}
    for m in re.finditer(rb"file (\S+) seq \d+ type ([bhi])", text):
        name, kind = m.group(1), m.group(2)
        if kind == b"b":
            new = slots["rdb" if name.endswith(b".rdb") else "aof"]
        elif kind == b"i" and incr:
            new = incr.pop(0)
        else:
            continue
        text = text.replace(name, new)
        path = os.path.join(d, name.decode(errors="replace"))
        files[new] = open(path, "rb").read() if os.path.isfile(path) else b""
    order = [b"appendonly.aof.1.base.rdb", b"appendonly.aof.1.base.aof",
             b"appendonly.aof.1.incr.aof", b"appendonly.aof.2.incr.aof"]
    seed(out, SEP.join([text] + [files.get(n, b"") for n in order]))


def main():
    out, roots = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    for root in roots:
        for dirpath, _, names in os.walk(root):
            for n in names:
                p = os.path.join(dirpath, n)
                if n.endswith(".manifest"):
                    multipart(out, p)
                elif n.endswith(".aof") and ".incr." not in n and ".base." not in n:
                    seed(out, SEP + open(p, "rb").read())


main()
