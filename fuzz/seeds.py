#!/usr/bin/env python3
"""Seeds for a fuzz target, from the files under the given roots (the shared
corpus and testdata/).

    python3 seeds.py TARGET OUT_DIR ROOT...

rdb_read, rdb_roundtrip: RDB files (and multi-part BASE files).
aof_read: AOF files in RESP (single files and INCR/BASE parts; hybrid files are
    skipped, the target reads what follows the preamble).
aof_input: a multi-part seed is its manifest, with the files renamed to the
    target's fixed names (BASE .rdb or .aof, then up to two INCR files), and
    their bytes, joined by the target's separator. A single-file seed is an
    empty manifest and the file.
dump_payload: the DUMP payloads of corpus/upstream/restore-payloads.json.
replay: the commands of the RESP AOF files, one per line, arguments joined by
    spaces, in runs of 64 (the target's limit); commands with a space or a
    newline in an argument are left out.

Seeds are named by their MD5, so running this again adds nothing twice. Inputs
larger than 64 KiB are skipped. Prints the number of seeds written.
"""
import hashlib
import json
import os
import re
import sys

SEP = b"\n--8<--\n"
LIMIT = 64 * 1024
COUNT = 0


def seed(out, data):
    global COUNT
    if 0 < len(data) <= LIMIT:
        name = hashlib.md5(data).hexdigest()[:16]
        path = os.path.join(out, name)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
            COUNT += 1


def read(path):
    with open(path, "rb") as f:
        return f.read()


def multipart(out, manifest_path):
    d = os.path.dirname(manifest_path)
    text = read(manifest_path)
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
        files[new] = read(path) if os.path.isfile(path) else b""
    order = [b"appendonly.aof.1.base.rdb", b"appendonly.aof.1.base.aof",
             b"appendonly.aof.1.incr.aof", b"appendonly.aof.2.incr.aof"]
    seed(out, SEP.join([text] + [files.get(n, b"") for n in order]))


def resp_commands(data):
    """The commands of a RESP AOF, as far as they parse."""
    i, cmds = 0, []
    while i < len(data) and data[i:i + 1] == b"*":
        j = data.find(b"\r\n", i)
        try:
            n = int(data[i + 1:j])
        except ValueError:
            break
        i, args = j + 2, []
        for _ in range(n):
            j = data.find(b"\r\n", i)
            if j < 0 or data[i:i + 1] != b"$":
                return cmds
            try:
                ln = int(data[i + 1:j])
            except ValueError:
                return cmds
            args.append(data[j + 2:j + 2 + ln])
            i = j + 2 + ln + 2
        cmds.append(args)
    return cmds


def replay(out, data):
    lines = [b" ".join(a) for a in resp_commands(data)
             if a and not any(b" " in x or b"\n" in x or not x for x in a)]
    for k in range(0, len(lines), 64):
        seed(out, b"\n".join(lines[k:k + 64]))


def payloads(out, doc):
    """Every `payload_hex` in a JSON document, however deep."""
    if isinstance(doc, dict):
        if isinstance(doc.get("payload_hex"), str):
            seed(out, bytes.fromhex(doc["payload_hex"]))
        doc = list(doc.values())
    if isinstance(doc, list):
        for v in doc:
            payloads(out, v)


def walk(roots):
    for root in roots:
        for dirpath, _, names in os.walk(root):
            for n in sorted(names):
                yield n, os.path.join(dirpath, n)


def main():
    target, out, roots = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(out, exist_ok=True)
    for n, p in walk(roots):
        if os.path.getsize(p) > 16 * LIMIT:
            continue
        if target in ("rdb_read", "rdb_roundtrip"):
            if n.endswith(".rdb"):
                seed(out, read(p))
        elif target == "aof_read":
            if n.endswith(".aof") and not read(p).startswith(b"REDIS"):
                seed(out, read(p))
        elif target == "aof_input":
            if n.endswith(".manifest"):
                multipart(out, p)
            elif n.endswith(".aof") and ".incr." not in n and ".base." not in n:
                seed(out, SEP + read(p))
        elif target == "replay":
            if n.endswith(".aof"):
                replay(out, read(p))
        elif target == "dump_payload":
            if n == "restore-payloads.json":
                payloads(out, json.loads(read(p)))
        else:
            sys.exit(f"seeds.py: unknown target {target}")
    print(COUNT)


main()
