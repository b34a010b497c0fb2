#!/usr/bin/env python3
"""Make the `stats` fixture: a small RDB covering every Redis 7.0 encoding, and
what a real redis-server said about each key after loading it.

Usage: make-fixture.py [--server redis-server] [OUT_DIR]   (default: this folder)

Writes redis-7.0-mixed.rdb (SAVE of a deterministic dataset) and
redis-7.0-mixed.expected.json: for every key, read back from a *fresh* server
that loaded the file: db, key (hex), TYPE, OBJECT ENCODING, element count
(LLEN/SCARD/ZCARD/HLEN/XLEN, 1 for strings), PEXPIRETIME, and
MEMORY USAGE key SAMPLES 0; plus INFO keyspace and the server version.
Needs only Python 3 and a redis-server 7.0 binary. Starts servers on free
ports in private temporary directories and stops only those.
"""
import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.f = self.sock.makefile("rb")

    def call(self, *args):
        self.sock.sendall(enc(*args))
        return self.read()

    def read(self):
        line = self.f.readline()[:-2]
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)


class Server:
    def __init__(self, binary, extra=(), files=()):
        self.dir = tempfile.mkdtemp(prefix="stats-fixture-")
        for src, name in files:
            shutil.copy(src, os.path.join(self.dir, name))
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--save", "", "--logfile", os.path.join(self.dir, "log")] + list(extra),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                self.c = Conn(self.port)
                if self.c.call("PING") == "PONG":
                    return
            except (OSError, RuntimeError):
                time.sleep(0.05)
        sys.exit("redis-server did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def populate(c, rng):
    w = lambda n: "".join(rng.choice("abcdefghij") for _ in range(n))
    now = int(time.time() * 1000)
    c.call("SELECT", 0)
    for i, v in enumerate([7, 12345, -99999999999, "007", "", w(10), w(44), w(45), w(300),
                           "x" * 5000, os.urandom(0) + bytes(rng.randrange(256) for _ in range(700))]):
        c.call("SET", "str:%d" % i, v)
    c.call("RPUSH", "list:small", *[w(5) for _ in range(10)], 1, 2, 300000)
    c.call("RPUSH", "list:large", *[w(rng.randrange(1, 30)) for _ in range(3000)])
    c.call("RPUSH", "list:bigelem", w(9000), "a", w(10000))
    c.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", 1000)
    c.call("RPUSH", "list:plain", w(3000), "b", w(2000))
    c.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", 1 << 30)
    c.call("SADD", "set:int16", *range(-5, 5))
    c.call("SADD", "set:int32", 1, 100000, -70000)
    c.call("SADD", "set:int64", 1, 1 << 40)
    c.call("SADD", "set:int512", *range(0, 512 * 3, 3))
    c.call("SADD", "set:int600", *range(600))
    c.call("SADD", "set:strings", *[w(8) for _ in range(20)])
    c.call("SADD", "set:mixed", *[str(i) if i % 3 else w(4) for i in range(50)])
    c.call("ZADD", "zset:small", *sum([[rng.uniform(-100, 100), w(6)] for _ in range(20)], []))
    c.call("ZADD", "zset:ints", *sum([[i, "m%d" % i] for i in range(30)], []))
    c.call("ZADD", "zset:large", *sum([[rng.random(), "m%d" % i] for i in range(700)], []))
    c.call("ZADD", "zset:long", 1, w(100), 2, "b")
    c.call("HSET", "hash:small", *sum([["f%d" % i, w(6) if i % 2 else i] for i in range(20)], []))
    c.call("HSET", "hash:large", *sum([["f%d" % i, w(10)] for i in range(800)], []))
    c.call("HSET", "hash:longvalue", "a", "1", "b", w(200), "c", "3", "d", w(5), "e", "x", "f", "y")
    for i in range(150):
        c.call("XADD", "stream:groups", "*", "f", w(5), "n", i)
    c.call("XGROUP", "CREATE", "stream:groups", "g1", "0")
    c.call("XREADGROUP", "GROUP", "g1", "alice", "COUNT", 10, "STREAMS", "stream:groups", ">")
    c.call("XREADGROUP", "GROUP", "g1", "bob", "COUNT", 3, "STREAMS", "stream:groups", ">")
    c.call("XGROUP", "CREATECONSUMER", "stream:groups", "g1", "carol")
    c.call("XGROUP", "CREATE", "stream:groups", "g2", "$")
    c.call("XADD", "stream:small", "1-1", "a", "b")
    c.call("XADD", "stream:empty", "MAXLEN", 0, "*", "a", "b")
    for k, t in (("str:1", 30 * 60000), ("list:small", 5 * 3600000), ("set:int16", 3 * 86400000),
                 ("zset:small", 10 * 86400000), ("hash:small", 60 * 86400000)):
        c.call("PEXPIREAT", k, now + t)
    c.call("SELECT", 2)
    for i in range(20):
        c.call("SET", "user:%d:name" % (i % 7), w(8))
        c.call("HSET", "user:%d:prof" % i, "a", 1, "b", w(12))
    c.call("SELECT", 0)


def read_back(c):
    out = []
    info = c.call("INFO", "keyspace").decode()
    keyspace = {}
    for line in info.splitlines():
        if line.startswith("db"):
            db, rest = line[2:].split(":", 1)
            keyspace[db] = dict((kv.split("=")[0], int(kv.split("=")[1])) for kv in rest.split(","))
    for db in sorted(keyspace, key=int):
        c.call("SELECT", db)
        keys, cur = [], b"0"
        while True:
            cur, batch = c.call("SCAN", cur, "COUNT", 1000)
            keys += batch
            if cur == b"0":
                break
        for k in sorted(keys):
            t = c.call("TYPE", k)
            n = 1 if t == "string" else c.call(
                {"list": "LLEN", "set": "SCARD", "zset": "ZCARD", "hash": "HLEN", "stream": "XLEN"}[t], k)
            out.append({"db": int(db), "key_hex": k.hex(), "type": t,
                        "encoding": c.call("OBJECT", "ENCODING", k).decode(),
                        "elements": n, "expire_ms": c.call("PEXPIRETIME", k),
                        "memory_usage": c.call("MEMORY", "USAGE", k, "SAMPLES", 0)})
    return keyspace, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--server", default=shutil.which("redis-server") or "redis-server")
    a = ap.parse_args()
    rdb = os.path.join(a.out, "redis-7.0-mixed.rdb")
    s = Server(a.server, ["--enable-debug-command", "yes"])
    try:
        version = s.c.call("INFO", "server").decode().split("redis_version:")[1].split()[0]
        if not version.startswith("7.0."):
            sys.exit("needs redis-server 7.0, found " + version)
        populate(s.c, random.Random(2024))
        s.c.call("SAVE")
        shutil.copy(os.path.join(s.dir, "dump.rdb"), rdb)
    finally:
        s.stop()
    fresh = Server(a.server, ["--dbfilename", "dump.rdb"], [(rdb, "dump.rdb")])
    try:
        keyspace, keys = read_back(fresh.c)
    finally:
        fresh.stop()
    doc = {"server": version, "file": os.path.basename(rdb), "keyspace": keyspace, "keys": keys}
    with open(os.path.join(a.out, "redis-7.0-mixed.expected.json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    print("%s: %d keys, %d bytes" % (rdb, len(keys), os.path.getsize(rdb)))


if __name__ == "__main__":
    main()
