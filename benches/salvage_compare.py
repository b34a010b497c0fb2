#!/usr/bin/env python3
"""Recovery against the alternatives (issue 16): the same seeded corruptions of
RDB and AOF files, and the keys a real redis-server holds after

  (a) loading the damaged file as it is (default config: aof-load-truncated yes;
      0 when it refuses to start),
  (b) `redis-check-aof --fix` then loading (AOF only; RDB has no fixer:
      redis-check-rdb only reports),
  (c) `redis-persist salvage` then loading,

next to the keys of the undamaged file.

usage: salvage_compare.py [CASES_PER_KIND] [SEED]
Needs redis-server and redis-check-aof 7.0 on PATH, the release binary
(target/release/redis-persist) and the corpus (../shared/corpus or
$REDIS_PERSIST_CORPUS). Inputs are the files redis-server 7.0 reads (Redis 6.0,
6.2, 7.0 folders).
"""
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target/release/redis-persist")
CORPUS = os.environ.get("REDIS_PERSIST_CORPUS", os.path.join(ROOT, "../shared/corpus"))
KINDS = ["bit-flip", "overwrite-run", "insert", "delete", "truncate", "zero-page", "zero-tail"]


def mutate(kind, rnd, b):
    n = len(b)
    at = rnd.randrange(n)
    if kind == "bit-flip":
        b[at] ^= 1 << rnd.randrange(8)
    elif kind == "overwrite-run":
        k = min(1 + rnd.randrange(64), n - at)
        b[at:at + k] = bytes(rnd.randrange(256) for _ in range(k))
    elif kind == "insert":
        b[at:at] = bytes(rnd.randrange(256) for _ in range(1 + rnd.randrange(32)))
    elif kind == "delete":
        del b[at:at + 1 + rnd.randrange(32)]
    elif kind == "truncate":
        del b[at:]
    elif kind == "zero-page":
        s = at // 4096 * 4096
        b[s:s + 4096] = bytes(len(b[s:s + 4096]))
    else:
        del b[at:]
        b.extend(bytes(1 + rnd.randrange(16384)))


def keys_loaded(files, extra):
    """Starts redis-server on a copy of `files` (name -> path) with `extra`
    arguments; the keys it holds once loaded, or 0 when it does not start."""
    d = tempfile.mkdtemp()
    try:
        for name, src in files.items():
            dst = os.path.join(d, name)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy(src, dst)
        sock = os.path.join(d, "s.sock")
        p = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock, "--dir", d,
                              "--save", "", "--daemonize", "no",
                              "--logfile", os.path.join(d, "log")] + extra,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        try:
            while time.time() < deadline:
                if p.poll() is not None:
                    return 0
                # Queried once the log says it is ready (INFO is served
                # while loading, and before it starts).
                try:
                    with open(os.path.join(d, "log"), errors="replace") as f:
                        ready = "eady to accept connections" in f.read()
                except OSError:
                    ready = False
                if not ready:
                    time.sleep(0.02)
                    continue
                try:
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(sock)
                    s.sendall(b"INFO\r\n")
                    data = b""
                    while True:
                        head, sep, body = data.partition(b"\r\n")
                        if sep and not head.startswith(b"$"):
                            break
                        if sep and len(body) >= int(head[1:]) + 2:
                            break
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    s.close()
                    text = data.decode(errors="replace")
                    # INFO is served while loading: wait for loading:0.
                    if data.startswith(b"-LOADING") or "loading:0" not in text:
                        time.sleep(0.02)
                        continue
                    total = 0
                    for line in text.splitlines():
                        if ":keys=" in line:
                            total += int(line.split(":keys=")[1].split(",")[0])
                    return total
                except OSError:
                    time.sleep(0.02)
            return 0
        finally:
            p.kill()
            p.wait()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def load_rdb(path):
    return keys_loaded({"dump.rdb": path}, ["--dbfilename", "dump.rdb", "--appendonly", "no"])


def load_aof(path):
    """A directory (multi-part) or a single file."""
    if os.path.isdir(path):
        files, prefix = {}, "appendonly.aof"
        for n in os.listdir(path):
            files["appendonlydir/" + n] = os.path.join(path, n)
            if n.endswith(".manifest"):
                prefix = n[: -len(".manifest")]
    else:
        files, prefix = {"appendonly.aof": path}, "appendonly.aof"
    return keys_loaded(files, ["--appendonly", "yes", "--appenddirname", "appendonlydir",
                               "--appendfilename", prefix])


def copy(path, d):
    to = os.path.join(d, os.path.basename(path))
    (shutil.copytree if os.path.isdir(path) else shutil.copy)(path, to)
    return to


def aof_files(path):
    if not os.path.isdir(path):
        return [path]
    man = [n for n in os.listdir(path) if n.endswith(".manifest")][0]
    out = []
    for line in open(os.path.join(path, man)):
        w = line.split()
        if len(w) >= 6 and w[5] in ("b", "i"):
            out.append(os.path.join(path, w[1]))
    return out


def main():
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    inputs = []
    for v in ("redis-6.0.9", "redis-6.2.14", "redis-7.0.15"):
        d = os.path.join(CORPUS, v)
        inputs.append(("rdb", v + "/types.rdb", os.path.join(d, "types.rdb")))
        for sub in ("appendonly-preamble.aof", "appendonly-nopreamble.aof", "aof-preamble",
                    "aof-nopreamble"):
            p = os.path.join(d, sub)
            if os.path.exists(p):
                kind = "aof-multi" if os.path.isdir(p) else "aof-single"
                inputs.append((kind, v + "/" + sub, p))
    rows = {}
    for fmt, label, path in inputs:
        base = load_rdb(path) if fmt == "rdb" else load_aof(path)
        rnd = random.Random(f"{seed}:{label}")
        for kind in KINDS:
            for _ in range(cases):
                d = tempfile.mkdtemp()
                try:
                    work = copy(path, d)
                    files = [work] if fmt == "rdb" else aof_files(work)
                    target = rnd.choice(files)
                    b = bytearray(open(target, "rb").read())
                    if not b:
                        continue
                    mutate(kind, rnd, b)
                    open(target, "wb").write(b)
                    load = load_rdb if fmt == "rdb" else load_aof
                    a = load(work)
                    fixed = None
                    if fmt != "rdb":
                        fd = os.path.join(d, "fix")
                        os.mkdir(fd)
                        fx = copy(work, fd)
                        arg = fx
                        if os.path.isdir(fx):
                            arg = os.path.join(fx, [n for n in os.listdir(fx) if n.endswith(".manifest")][0])
                        subprocess.run(["redis-check-aof", "--fix", arg], input=b"y\n",
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        fixed = load(fx)
                    out = os.path.join(d, "out")
                    r = subprocess.run([BIN, "salvage", work, "-o", out, "--no-progress"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    ours = load(out) if r.returncode in (0, 1) else 0
                    row = rows.setdefault((fmt, kind), [0, 0, 0, 0, 0, 0])
                    row[0] += 1
                    row[1] += base
                    row[2] += a
                    row[3] += fixed or 0
                    row[4] += ours
                    row[5] += int(r.returncode not in (0, 1))
                finally:
                    shutil.rmtree(d, ignore_errors=True)
    print(f"cases per input and kind: {cases}, seed {seed}; keys held by redis-server 7.0 after each way")
    print("| input | corruption | cases | keys in the undamaged files | (a) loaded as is | "
          "(b) redis-check-aof --fix | (c) redis-persist salvage |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (fmt, kind), r in sorted(rows.items()):
        b = "n/a (no fixer)" if fmt == "rdb" else f"{r[3]} ({100 * r[3] / max(r[1], 1):.1f}%)"
        print(f"| {fmt} | {kind} | {r[0]} | {r[1]} | {r[2]} ({100 * r[2] / max(r[1], 1):.1f}%) | "
              f"{b} | {r[4]} ({100 * r[4] / max(r[1], 1):.1f}%)"
              + (f", {r[5]} failed to run" if r[5] else "") + " |")


if __name__ == "__main__":
    main()
