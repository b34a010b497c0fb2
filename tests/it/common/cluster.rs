//! Real Redis Cluster nodes for tests: `redis-server --cluster-enabled yes`
//! (any binary: Debian's 7.0, `../shared/servers`, the 6.x of
//! [`super::servers_py`]), each loading an RDB from its directory at start,
//! with slots assigned by `CLUSTER ADDSLOTSRANGE` (`CLUSTER ADDSLOTS` on 6.x)
//! and a check that every key a node holds hashes into its slots.
//!
//! The nodes run with `cluster-require-full-coverage no`, so that a node
//! alone serves the keys of its slots once [`ClusterNode::wait_ok`] says its
//! state is `ok`; [`Cluster::join`] makes them one cluster (`CLUSTER MEET`)
//! when a test needs that.
//!
//! What a cluster node does with an RDB at start (checked by
//! `tests/it/cluster_nodes.rs`): keys of slots it does not own are loaded, and
//! it takes every unassigned slot holding a key ("I have keys for unassigned
//! slot N. Taking responsibility for it."), so [`ClusterNode::check`] compares
//! the slots it owns with the expected ones (a slot its `nodes.conf` gives to
//! another node is set importing up to Redis 8.0; Redis 8.6 and Valkey 8.1 /
//! 9.1 delete its keys); keys in a database other than 0 make it refuse to
//! start, or crash (Redis 7.0).
#![allow(dead_code, clippy::print_stderr)]

use std::ops::RangeInclusive;
use std::path::Path;
use std::time::{Duration, Instant};

use redis_persist::cluster::{Layout, Node, RangeList, SLOTS, ranges_of};

use super::{RedisServer, Reply};

/// The arguments that make a server a cluster node (after the ones of
/// [`RedisServer::try_start_bin`]).
pub const CLUSTER_ARGS: [&str; 8] = [
    "--cluster-enabled",
    "yes",
    "--cluster-config-file",
    "nodes.conf",
    "--cluster-require-full-coverage",
    "no",
    "--dbfilename",
    "dump.rdb",
];

/// RESP encoding of one command.
pub fn resp<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// One cluster-enabled server.
pub struct ClusterNode {
    /// The server (its directory holds `nodes.conf` and `dump.rdb`).
    pub server: RedisServer,
    /// Its node id (`CLUSTER MYID`).
    pub id: String,
}

/// What [`ClusterNode::check`] found on a node whose slots were right.
#[derive(Debug)]
pub struct NodeKeys {
    /// Every key of db 0, sorted.
    pub keys: Vec<Vec<u8>>,
    /// The slots that hold at least one key.
    pub slots_with_keys: usize,
}

impl ClusterNode {
    /// Starts `bin` as a cluster node, loading `rdb` (copied to its directory
    /// as `dump.rdb`) when given, with `extra` arguments. Errors: the server
    /// did not start, with the end of its log (e.g. the file has keys in a
    /// database other than 0).
    pub fn try_start(bin: &Path, rdb: Option<&Path>, extra: &[&str]) -> Result<Self, String> {
        let mut args: Vec<&str> = CLUSTER_ARGS.to_vec();
        args.extend_from_slice(extra);
        let files: Vec<(&Path, &str)> = rdb.iter().map(|p| (*p, "dump.rdb")).collect();
        let mut server = RedisServer::try_start_bin(bin, &args, &files)?;
        let id = match server.cmd(&["CLUSTER", "MYID"]) {
            Reply::Bulk(Some(b)) => String::from_utf8(b).map_err(|e| e.to_string())?,
            // 6.0 has no CLUSTER MYID: the `myself` line of CLUSTER NODES.
            _ => myself_line(&mut server)
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_string(),
        };
        Ok(Self { server, id })
    }

    /// [`ClusterNode::try_start`], panicking when the server does not start.
    pub fn start(bin: &Path, rdb: Option<&Path>) -> Self {
        Self::try_start(bin, rdb, &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The slots this node owns (its `myself` line of `CLUSTER NODES`),
    /// sorted and merged.
    pub fn owned(&mut self) -> Vec<RangeInclusive<u16>> {
        let line = myself_line(&mut self.server);
        ranges_of(
            line.split(' ')
                .skip(8)
                .filter(|f| !f.is_empty() && !f.starts_with('['))
                .flat_map(|f| {
                    let (a, b) = f.split_once('-').unwrap_or((f, f));
                    a.parse::<u16>().unwrap()..=b.parse().unwrap()
                }),
        )
    }

    /// Assigns `ranges` to this node, except the slots it already owns (it
    /// takes those holding keys when it loads its RDB): `CLUSTER
    /// ADDSLOTSRANGE`, or `CLUSTER ADDSLOTS` where that is unknown (6.x).
    pub fn assign(&mut self, ranges: &[RangeInclusive<u16>]) -> Result<(), String> {
        let owned = self.owned();
        let runs = ranges_of(
            ranges
                .iter()
                .flat_map(Clone::clone)
                .filter(|s| !owned.iter().any(|r| r.contains(s))),
        );
        for chunk in runs.chunks(1000) {
            let mut args = vec!["CLUSTER".to_string(), "ADDSLOTSRANGE".to_string()];
            for r in chunk {
                args.push(r.start().to_string());
                args.push(r.end().to_string());
            }
            match self.server.cmd(&args) {
                Reply::Status(_) => continue,
                Reply::Error(e) if e.to_ascii_lowercase().contains("unknown subcommand") => {}
                other => return Err(format!("CLUSTER ADDSLOTSRANGE answered {other:?}")),
            }
            let mut args = vec!["CLUSTER".to_string(), "ADDSLOTS".to_string()];
            args.extend(chunk.iter().flat_map(Clone::clone).map(|s| s.to_string()));
            match self.server.cmd(&args) {
                Reply::Status(_) => {}
                other => return Err(format!("CLUSTER ADDSLOTS answered {other:?}")),
            }
        }
        Ok(())
    }

    /// Checks that this node owns exactly `ranges`, that every key of its db
    /// 0 hashes into them (`CLUSTER KEYSLOT` of each key of `KEYS *`), and
    /// that `DBSIZE`, the number of keys listed and the sum of `CLUSTER
    /// COUNTKEYSINSLOT` over its slots agree. Errors name what differs.
    pub fn check(&mut self, ranges: &[RangeInclusive<u16>]) -> Result<NodeKeys, String> {
        let owned = self.owned();
        let want = ranges_of(ranges.iter().flat_map(Clone::clone));
        if owned != want {
            return Err(format!(
                "node {} owns slots {} instead of {}",
                self.id,
                RangeList(&owned),
                RangeList(&want)
            ));
        }
        let mut keys: Vec<Vec<u8>> = self
            .server
            .cmd(&["KEYS", "*"])
            .array()
            .iter()
            .map(Reply::bytes)
            .collect();
        keys.sort();
        let raw: Vec<u8> = keys
            .iter()
            .flat_map(|k| resp(&[&b"CLUSTER"[..], b"KEYSLOT", k]))
            .collect();
        let slots = self.server.pipe_all(&raw);
        let mut misplaced = Vec::new();
        for (k, slot) in keys.iter().zip(&slots) {
            let slot = slot.int() as u16;
            if !want.iter().any(|r| r.contains(&slot)) {
                misplaced.push(format!("{:?} (slot {slot})", String::from_utf8_lossy(k)));
            }
        }
        if !misplaced.is_empty() {
            return Err(format!(
                "node {}: {} key(s) outside its slots: {}",
                self.id,
                misplaced.len(),
                misplaced[..misplaced.len().min(10)].join(", ")
            ));
        }
        let raw: Vec<u8> = want
            .iter()
            .flat_map(Clone::clone)
            .flat_map(|s| resp(&["CLUSTER", "COUNTKEYSINSLOT", &s.to_string()]))
            .collect();
        let counts: Vec<i64> = self.server.pipe_all(&raw).iter().map(Reply::int).collect();
        let in_slots: i64 = counts.iter().sum();
        let dbsize = self.server.cmd(&["DBSIZE"]).int();
        if dbsize != keys.len() as i64 || in_slots != dbsize {
            return Err(format!(
                "node {}: DBSIZE {dbsize}, KEYS * {}, COUNTKEYSINSLOT total {in_slots}",
                self.id,
                keys.len()
            ));
        }
        Ok(NodeKeys {
            keys,
            slots_with_keys: counts.iter().filter(|&&c| c > 0).count(),
        })
    }

    /// Waits (up to 10 s) until `CLUSTER INFO` says `cluster_state:ok` (a
    /// master stays `fail` for its first 2 seconds).
    pub fn wait_ok(&mut self) -> Result<(), String> {
        self.wait_info("cluster_state:ok")
    }

    /// Waits (up to 10 s) until `CLUSTER INFO` holds the line `want`.
    pub fn wait_info(&mut self, want: &str) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let info = String::from_utf8(self.server.cmd(&["CLUSTER", "INFO"]).bytes()).unwrap();
            if info.lines().any(|l| l.trim() == want) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "node {}: no {want:?} in CLUSTER INFO:\n{info}",
                    self.id
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The node's `nodes.conf`, after `CLUSTER SAVECONFIG`.
    pub fn nodes_conf(&mut self) -> String {
        assert_eq!(
            self.server.cmd(&["CLUSTER", "SAVECONFIG"]),
            Reply::Status("OK".into())
        );
        std::fs::read_to_string(self.server.dir.path().join("nodes.conf")).unwrap()
    }
}

/// The `myself` line of `CLUSTER NODES`.
fn myself_line(server: &mut RedisServer) -> String {
    let text = String::from_utf8(server.cmd(&["CLUSTER", "NODES"]).bytes()).unwrap();
    text.lines()
        .find(|l| l.split(' ').nth(2).is_some_and(|f| f.contains("myself")))
        .unwrap_or_else(|| panic!("no myself line in CLUSTER NODES:\n{text}"))
        .to_string()
}

/// One node per master of a [`Layout`], in its order.
pub struct Cluster {
    /// The nodes.
    pub nodes: Vec<ClusterNode>,
}

impl Cluster {
    /// Starts one node of `bin` per master of `layout`, node `i` loading
    /// `rdbs[i]` (when given), assigns each its slots and
    /// [`ClusterNode::check`]s it. Returns the cluster and the keys of each
    /// node. Errors: a node did not start, or holds keys outside its slots
    /// (or took slots it was not given), or its counts disagree.
    pub fn start(
        bin: &Path,
        layout: &Layout,
        rdbs: &[Option<&Path>],
    ) -> Result<(Self, Vec<NodeKeys>), String> {
        let mut nodes = Vec::new();
        let mut keys = Vec::new();
        for (i, n) in layout.nodes().iter().enumerate() {
            let rdb = rdbs.get(i).copied().flatten();
            let mut node = ClusterNode::try_start(bin, rdb, &[])?;
            node.assign(&n.ranges)?;
            keys.push(node.check(&n.ranges)?);
            nodes.push(node);
        }
        let total: usize = layout.nodes().iter().map(Node::slot_count).sum();
        assert_eq!(total, SLOTS);
        Ok((Self { nodes }, keys))
    }

    /// Makes the nodes one cluster: every node meets the first, then waits
    /// until each knows them all, sees all 16384 slots assigned and says
    /// `cluster_state:ok`.
    pub fn join(&mut self) -> Result<(), String> {
        let first = self.nodes[0].server.port.to_string();
        for n in &mut self.nodes[1..] {
            match n.server.cmd(&["CLUSTER", "MEET", "127.0.0.1", &first]) {
                Reply::Status(_) => {}
                other => return Err(format!("CLUSTER MEET answered {other:?}")),
            }
        }
        let known = format!("cluster_known_nodes:{}", self.nodes.len());
        for n in &mut self.nodes {
            n.wait_info(&known)?;
            n.wait_info(&format!("cluster_slots_assigned:{SLOTS}"))?;
            n.wait_ok()?;
        }
        Ok(())
    }
}
