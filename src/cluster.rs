//! Redis Cluster hash slots: which slot a key belongs to ([`key_slot`]) and
//! which node owns a slot ([`Layout`]), for splitting a snapshot across the
//! masters of a cluster.
//!
//! * [`key_slot`] is the server's `keyHashSlot`: CRC16 (XMODEM) of the key,
//!   or of its hash tag, modulo 16384.
//! * A [`Layout`] is a list of masters, each with its slot ranges, in which
//!   every one of the 16384 slots has exactly one owner. It is built from a
//!   `nodes.conf` (or `CLUSTER NODES` output), from `CLUSTER SHARDS` as JSON
//!   (`redis-cli --json CLUSTER SHARDS`), or as N equal ranges (what
//!   `redis-cli --cluster create` assigns). [`Layout::node_of`] is a table
//!   lookup.
//! * A [`SlotFilter`] is the set of slots one node owns, to keep its keys.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::RangeInclusive;

/// The number of hash slots of a Redis / Valkey cluster.
pub const SLOTS: usize = 16384;

/// CRC16 lookup table (CCITT polynomial 0x1021, no reflection), built at
/// compile time.
const CRC16_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 == 0 {
                crc << 1
            } else {
                (crc << 1) ^ 0x1021
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// CRC16/XMODEM (polynomial 0x1021, initial value 0, no reflection, no final
/// xor): the checksum Redis Cluster hashes keys with. Check value: `"123456789"`
/// gives 0x31c3.
pub fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ CRC16_TABLE[usize::from((crc >> 8) as u8 ^ b)]
    })
}

/// The hash slot (0..16384) of `key`, as the server computes it: when the key
/// holds a `{`, and a `}` follows it with at least one byte between, only the
/// bytes between the first `{` and the first `}` after it are hashed (the hash
/// tag); otherwise the whole key is.
pub fn key_slot(key: &[u8]) -> u16 {
    crc16(hash_tag(key).unwrap_or(key)) & (SLOTS as u16 - 1)
}

/// The hash tag of `key` (see [`key_slot`]), if it has a non-empty one.
pub fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = key.iter().position(|&b| b == b'{')?;
    let rest = &key[open + 1..];
    let close = rest.iter().position(|&b| b == b'}')?;
    (close > 0).then(|| &rest[..close])
}

/// Why a [`Layout`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// A line of a `nodes.conf` / `CLUSTER NODES` text is malformed.
    #[error("nodes.conf line {line}: {reason}")]
    NodesConf {
        /// The line number (1-based).
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The `CLUSTER SHARDS` JSON is not the shape `redis-cli --json` prints.
    #[error("CLUSTER SHARDS JSON: {0}")]
    Shards(String),
    /// A slot number above 16383, or a range whose start is after its end.
    #[error("node {node}: invalid slot range {range}")]
    BadRange {
        /// The node's id.
        node: String,
        /// The range as written.
        range: String,
    },
    /// The number of equal ranges is not between 1 and 16384.
    #[error("cannot split the 16384 slots into {0} ranges (1 to 16384 nodes)")]
    BadCount(usize),
    /// Some slots have no owner, or more than one.
    #[error("{}", coverage_message(gaps, overlaps))]
    Coverage {
        /// The slot ranges that no node owns.
        gaps: Vec<RangeInclusive<u16>>,
        /// The slot ranges that several nodes own, with their ids.
        overlaps: Vec<(RangeInclusive<u16>, Vec<String>)>,
    },
}

fn coverage_message(
    gaps: &[RangeInclusive<u16>],
    overlaps: &[(RangeInclusive<u16>, Vec<String>)],
) -> String {
    let mut parts = Vec::new();
    if !gaps.is_empty() {
        let n: usize = gaps.iter().map(ExactSizeIterator::len).sum();
        parts.push(format!("{n} slot(s) owned by no node: {}", RangeList(gaps)));
    }
    if !overlaps.is_empty() {
        let list: Vec<String> = overlaps
            .iter()
            .map(|(r, ids)| {
                format!(
                    "{} ({})",
                    RangeList(std::slice::from_ref(r)),
                    ids.join(", ")
                )
            })
            .collect();
        parts.push(format!(
            "slot(s) owned by more than one node: {}",
            list.join(", ")
        ));
    }
    parts.join("; ")
}

/// Displays slot ranges as Redis does: `0-5460 5462 ...` joined with commas.
pub struct RangeList<'a>(pub &'a [RangeInclusive<u16>]);

impl fmt::Display for RangeList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if r.start() == r.end() {
                write!(f, "{}", r.start())?;
            } else {
                write!(f, "{}-{}", r.start(), r.end())?;
            }
        }
        Ok(())
    }
}

/// One master of a cluster and the slots it owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The node id (40 hex characters in a real cluster; `node0`, `node1`, ...
    /// for [`Layout::equal`]).
    pub id: String,
    /// `ip:port` (or `endpoint:port`) where known.
    pub addr: Option<String>,
    /// The slot ranges it owns, sorted and merged.
    pub ranges: Vec<RangeInclusive<u16>>,
}

impl Node {
    /// The number of slots it owns.
    pub fn slot_count(&self) -> usize {
        self.ranges.iter().map(ExactSizeIterator::len).sum()
    }
}

/// The masters of a cluster and their slots, every slot owned exactly once.
#[derive(Clone, Debug)]
pub struct Layout {
    nodes: Vec<Node>,
    /// The index in `nodes` of each slot's owner.
    owner: Box<[u16]>,
}

impl Layout {
    /// A layout from `nodes` (in that order), after checking that every slot
    /// is owned by exactly one of them. Each node's ranges are sorted and
    /// merged. Errors: [`LayoutError::BadRange`], [`LayoutError::Coverage`]
    /// (listing every gap and overlap).
    pub fn new(mut nodes: Vec<Node>) -> Result<Self, LayoutError> {
        if nodes.len() > usize::from(u16::MAX) {
            return Err(LayoutError::BadCount(nodes.len()));
        }
        const NONE: u16 = u16::MAX;
        let mut owner = vec![NONE; SLOTS].into_boxed_slice();
        // Slot -> the other owners, only where there is more than one.
        let mut extra: BTreeMap<u16, Vec<u16>> = BTreeMap::new();
        for (i, node) in nodes.iter_mut().enumerate() {
            for r in &node.ranges {
                if r.start() > r.end() || usize::from(*r.end()) >= SLOTS {
                    return Err(LayoutError::BadRange {
                        node: node.id.clone(),
                        range: format!("{}-{}", r.start(), r.end()),
                    });
                }
            }
            node.ranges = merge(std::mem::take(&mut node.ranges));
            for r in &node.ranges {
                for slot in r.clone() {
                    let o = &mut owner[usize::from(slot)];
                    if *o == NONE {
                        *o = i as u16;
                    } else {
                        extra.entry(slot).or_default().push(i as u16);
                    }
                }
            }
        }
        let gaps = ranges_of((0..SLOTS as u16).filter(|&s| owner[usize::from(s)] == NONE));
        let mut overlaps: Vec<(RangeInclusive<u16>, Vec<String>)> = Vec::new();
        for (&slot, others) in &extra {
            let mut ids = vec![owner[usize::from(slot)]];
            ids.extend(others);
            let ids: Vec<String> = ids
                .iter()
                .map(|&i| nodes[usize::from(i)].id.clone())
                .collect();
            match overlaps.last_mut() {
                Some((r, last)) if *r.end() + 1 == slot && *last == ids => {
                    *r = *r.start()..=slot;
                }
                _ => overlaps.push((slot..=slot, ids)),
            }
        }
        if !gaps.is_empty() || !overlaps.is_empty() {
            return Err(LayoutError::Coverage { gaps, overlaps });
        }
        Ok(Self { nodes, owner })
    }

    /// `n` masters `node0`..`node{n-1}` with the slot ranges `redis-cli
    /// --cluster create` gives `n` masters: 16384/n slots each, rounded, the
    /// last one taking what is left (3 nodes: 0-5460, 5461-10922,
    /// 10923-16383).
    pub fn equal(n: usize) -> Result<Self, LayoutError> {
        if n == 0 || n > SLOTS {
            return Err(LayoutError::BadCount(n));
        }
        let per_node = SLOTS as f64 / n as f64;
        let mut cursor = 0.0;
        let mut first = 0usize;
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            let mut last = (cursor + per_node - 1.0).round() as usize;
            if last >= SLOTS || i == n - 1 {
                last = SLOTS - 1;
            }
            last = last.max(first);
            nodes.push(Node {
                id: format!("node{i}"),
                addr: None,
                ranges: vec![first as u16..=last as u16],
            });
            first = last + 1;
            cursor += per_node;
        }
        Self::new(nodes)
    }

    /// The masters of a Redis / Valkey `nodes.conf` (the cluster config file),
    /// or of `CLUSTER NODES` output (the same lines): `id ip:port@cport[,...]
    /// flags master-id ping pong epoch link-state slot...`. Lines whose flags
    /// do not include `master` (replicas) are skipped, and so are the `vars`
    /// line, empty lines, and migrating / importing entries (`[slot->-id]`,
    /// `[slot-<-id]`). A master with no slots is kept (it gets no keys).
    pub fn from_nodes_conf(text: &str) -> Result<Self, LayoutError> {
        let mut nodes = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let bad = |reason: String| LayoutError::NodesConf {
                line: i + 1,
                reason,
            };
            let fields: Vec<&str> = line.split_ascii_whitespace().collect();
            if fields.is_empty() || fields[0] == "vars" {
                continue;
            }
            if fields.len() < 8 {
                return Err(bad(format!(
                    "{} fields, expected at least 8 (id address flags master ping pong epoch link-state)",
                    fields.len()
                )));
            }
            if !fields[2].split(',').any(|f| f == "master") {
                continue;
            }
            // ip:port@cport[,hostname[,aux=value...]] (older: ip:port).
            let addr = fields[1].split([',', '@']).next().unwrap_or_default();
            let mut ranges = Vec::new();
            for slot in &fields[8..] {
                if slot.starts_with('[') {
                    continue;
                }
                let parse = |s: &str| {
                    s.parse::<u16>()
                        .ok()
                        .filter(|&v| usize::from(v) < SLOTS)
                        .ok_or_else(|| bad(format!("invalid slot {slot:?}")))
                };
                let (a, b) = slot.split_once('-').unwrap_or((slot, slot));
                let r = parse(a)?..=parse(b)?;
                if r.start() > r.end() {
                    return Err(bad(format!("invalid slot range {slot:?}")));
                }
                ranges.push(r);
            }
            nodes.push(Node {
                id: fields[0].to_string(),
                addr: (!addr.is_empty() && addr != ":0").then(|| addr.to_string()),
                ranges,
            });
        }
        Self::new(nodes)
    }

    /// The masters of `CLUSTER SHARDS` output as JSON: what `redis-cli --json
    /// CLUSTER SHARDS` prints (RESP3 maps as objects: `[{"slots": [0, 5460],
    /// "nodes": [{"id": ..., "port": ..., "ip": ..., "endpoint": ..., "role":
    /// "master", ...}]}, ...]`), or with `-2` (RESP2: each map a flat array of
    /// names and values). `slots` is a flat list of start/end pairs. Each
    /// shard's node with role `master` owns its slots; its address is
    /// `endpoint` (else `ip`) and `port` (else `tls-port`).
    pub fn from_shards_json(text: &str) -> Result<Self, LayoutError> {
        let bad = |m: String| LayoutError::Shards(m);
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let shards = value
            .as_array()
            .ok_or_else(|| bad("expected an array of shards".into()))?;
        let mut nodes = Vec::new();
        for (i, shard) in shards.iter().enumerate() {
            let shard = as_map(shard).ok_or_else(|| bad(format!("shard {i} is not a map")))?;
            let slots = shard
                .get("slots")
                .and_then(|v| v.as_array())
                .ok_or_else(|| bad(format!("shard {i} has no \"slots\" list")))?;
            if slots.len() % 2 != 0 {
                return Err(bad(format!(
                    "shard {i}: \"slots\" has an odd number of items"
                )));
            }
            let mut ranges = Vec::new();
            for pair in slots.chunks(2) {
                let n = |v: &serde_json::Value| {
                    v.as_u64()
                        .filter(|&s| s < SLOTS as u64)
                        .map(|s| s as u16)
                        .ok_or_else(|| bad(format!("shard {i}: invalid slot {v}")))
                };
                let (a, b) = (n(&pair[0])?, n(&pair[1])?);
                if a > b {
                    return Err(bad(format!("shard {i}: invalid slot range {a}-{b}")));
                }
                ranges.push(a..=b);
            }
            let members = shard
                .get("nodes")
                .and_then(|v| v.as_array())
                .ok_or_else(|| bad(format!("shard {i} has no \"nodes\" list")))?;
            let master = members
                .iter()
                .filter_map(as_map)
                .find(|m| m.get("role").and_then(|r| r.as_str()) == Some("master"))
                .ok_or_else(|| bad(format!("shard {i} has no node with role \"master\"")))?;
            let id = master
                .get("id")
                .and_then(|v| v.as_str())
                .ok_or_else(|| bad(format!("shard {i}: the master has no \"id\"")))?;
            let host = ["endpoint", "ip"]
                .iter()
                .find_map(|k| master.get(*k).and_then(|v| v.as_str()))
                .filter(|h| !h.is_empty() && *h != "?");
            let port = ["port", "tls-port"]
                .iter()
                .find_map(|k| master.get(*k).and_then(|v| v.as_u64()));
            nodes.push(Node {
                id: id.to_string(),
                addr: host.zip(port).map(|(h, p)| format!("{h}:{p}")),
                ranges,
            });
        }
        Self::new(nodes)
    }

    /// A layout from the text of a layout file, whichever of the two forms it
    /// is: `CLUSTER SHARDS` JSON when it starts with `[` (after white space),
    /// otherwise `nodes.conf` / `CLUSTER NODES` lines.
    pub fn parse(text: &str) -> Result<Self, LayoutError> {
        if text.trim_start().starts_with('[') {
            Self::from_shards_json(text)
        } else {
            Self::from_nodes_conf(text)
        }
    }

    /// The masters, in the order given (nodes.conf / shard order).
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The index in [`Layout::nodes`] of the owner of `slot` (0..16384).
    ///
    /// # Panics
    /// When `slot` is 16384 or more.
    pub fn node_of(&self, slot: u16) -> usize {
        usize::from(self.owner[usize::from(slot)])
    }

    /// The index in [`Layout::nodes`] of the node that holds `key`.
    pub fn node_of_key(&self, key: &[u8]) -> usize {
        self.node_of(key_slot(key))
    }

    /// The slots of node `index` as a [`SlotFilter`].
    ///
    /// # Panics
    /// When `index` is not below `nodes().len()`.
    pub fn filter(&self, index: usize) -> SlotFilter {
        SlotFilter::from_ranges(&self.nodes[index].ranges)
    }
}

/// A set of hash slots (one node's), to keep the keys that hash into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotFilter {
    bits: Box<[u64]>,
}

impl SlotFilter {
    /// The slots of `ranges` (ranges beyond slot 16383 are cut there).
    pub fn from_ranges(ranges: &[RangeInclusive<u16>]) -> Self {
        let mut bits = vec![0u64; SLOTS / 64].into_boxed_slice();
        for r in ranges {
            for slot in r.clone().take_while(|&s| usize::from(s) < SLOTS) {
                bits[usize::from(slot / 64)] |= 1 << (slot % 64);
            }
        }
        Self { bits }
    }

    /// Whether `slot` is in the set (false for 16384 and above).
    pub fn contains_slot(&self, slot: u16) -> bool {
        usize::from(slot) < SLOTS && self.bits[usize::from(slot / 64)] & (1 << (slot % 64)) != 0
    }

    /// Whether `key` hashes into the set.
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.contains_slot(key_slot(key))
    }

    /// The number of slots in the set.
    pub fn len(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|&w| w == 0)
    }
}

/// A JSON map: an object, or a RESP2-style flat array of names and values.
fn as_map(v: &serde_json::Value) -> Option<BTreeMap<&str, &serde_json::Value>> {
    match v {
        serde_json::Value::Object(m) => Some(m.iter().map(|(k, v)| (k.as_str(), v)).collect()),
        serde_json::Value::Array(a) if a.len() % 2 == 0 => a
            .chunks(2)
            .map(|kv| Some((kv[0].as_str()?, &kv[1])))
            .collect(),
        _ => None,
    }
}

/// `ranges` sorted, with touching and overlapping ranges merged.
fn merge(mut ranges: Vec<RangeInclusive<u16>>) -> Vec<RangeInclusive<u16>> {
    ranges.sort_by_key(|r| (*r.start(), *r.end()));
    let mut out: Vec<RangeInclusive<u16>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if u32::from(*r.start()) <= u32::from(*last.end()) + 1 => {
                if r.end() > last.end() {
                    *last = *last.start()..=*r.end();
                }
            }
            _ => out.push(r),
        }
    }
    out
}

/// `slots` (in any order, repeats allowed) as ascending ranges of
/// consecutive slots.
pub fn ranges_of(slots: impl IntoIterator<Item = u16>) -> Vec<RangeInclusive<u16>> {
    let mut slots: Vec<u16> = slots.into_iter().collect();
    slots.sort_unstable();
    slots.dedup();
    let mut out: Vec<RangeInclusive<u16>> = Vec::new();
    for s in slots {
        match out.last_mut() {
            Some(r) if *r.end() + 1 == s => *r = *r.start()..=s,
            _ => out.push(s..=s),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_check_value() {
        assert_eq!(crc16(b"123456789"), 0x31c3);
        assert_eq!(crc16(b""), 0);
    }

    #[test]
    fn known_slots() {
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b""), 0);
        assert_eq!(
            key_slot(b"{user1000}.following"),
            key_slot(b"{user1000}.followers")
        );
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        // An empty tag: the whole key is hashed.
        assert_eq!(key_slot(b"{}foo"), crc16(b"{}foo") & 0x3fff);
        assert_ne!(key_slot(b"{}foo"), key_slot(b"foo"));
        // The first '{' and the first '}' after it.
        assert_eq!(key_slot(b"a{b}{c}"), key_slot(b"b"));
        assert_eq!(key_slot(b"a{{b}}"), key_slot(b"{b"));
        assert_eq!(key_slot(b"}{b}"), key_slot(b"b"));
        assert_eq!(key_slot(b"foo{"), crc16(b"foo{") & 0x3fff);
        assert_eq!(key_slot(b"{}{x}"), crc16(b"{}{x}") & 0x3fff);
        assert_eq!(hash_tag(b"x{}{y}"), None);
    }

    #[test]
    fn equal_ranges_as_redis_cli() {
        let l = Layout::equal(3).unwrap();
        let r: Vec<_> = l.nodes().iter().map(|n| n.ranges.clone()).collect();
        assert_eq!(r, [vec![0..=5460], vec![5461..=10922], vec![10923..=16383]]);
        assert_eq!(l.node_of(0), 0);
        assert_eq!(l.node_of(5461), 1);
        assert_eq!(l.node_of(16383), 2);
        for n in [1, 2, 5, 7, 100, 16383, 16384] {
            let l = Layout::equal(n).unwrap();
            assert_eq!(l.nodes().len(), n);
            let counts: Vec<usize> = l.nodes().iter().map(Node::slot_count).collect();
            assert_eq!(counts.iter().sum::<usize>(), SLOTS);
            let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            assert!(hi - lo <= 1, "{n}: {lo}..{hi}");
        }
        assert!(matches!(Layout::equal(0), Err(LayoutError::BadCount(0))));
        assert!(Layout::equal(16385).is_err());
    }

    #[test]
    fn coverage_errors_list_gaps_and_overlaps() {
        let node = |id: &str, ranges: Vec<RangeInclusive<u16>>| Node {
            id: id.into(),
            addr: None,
            ranges,
        };
        let err = Layout::new(vec![
            node("a", vec![0..=100, 300..=16383]),
            node("b", vec![90..=110, 200..=200]),
        ])
        .unwrap_err();
        let LayoutError::Coverage { gaps, overlaps } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(gaps, &[111..=199, 201..=299]);
        assert_eq!(overlaps, &[(90..=100, vec!["a".into(), "b".into()])]);
        assert_eq!(
            err.to_string(),
            "188 slot(s) owned by no node: 111-199, 201-299; slot(s) owned by more than one node: 90-100 (a, b)"
        );
        assert!(matches!(
            Layout::new(vec![node("a", vec![RangeInclusive::new(5, 4)])]),
            Err(LayoutError::BadRange { .. })
        ));
        assert!(matches!(
            Layout::new(vec![node("a", vec![0..=16384])]),
            Err(LayoutError::BadRange { .. })
        ));
        // Touching ranges of one node merge.
        let l = Layout::new(vec![node("a", vec![100..=16383, 0..=99, 50..=60])]).unwrap();
        assert_eq!(l.nodes()[0].ranges, [0..=16383]);
    }

    #[test]
    fn nodes_conf_lines() {
        let text = "\
e1 127.0.0.1:7001@17001,host-a,shard-id=x myself,master - 0 0 1 connected 0-5000 5001 [5002->-e2] 5002-9999
r1 127.0.0.1:7004@17004 slave e1 0 0 1 connected
e2 127.0.0.1:7002@17002 master,fail - 0 0 2 disconnected 10000-16383 [10->-e1] [11-<-e1]
e3 :0@0 master,noaddr - 0 0 3 disconnected
vars currentEpoch 3 lastVoteEpoch 0
";
        let l = Layout::from_nodes_conf(text).unwrap();
        let ids: Vec<&str> = l.nodes().iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["e1", "e2", "e3"]);
        assert_eq!(l.nodes()[0].ranges, [0..=9999]);
        assert_eq!(l.nodes()[0].addr.as_deref(), Some("127.0.0.1:7001"));
        assert_eq!(l.nodes()[2].addr, None);
        assert!(l.nodes()[2].ranges.is_empty());
        assert_eq!(l.node_of(10000), 1);
        for (bad, line) in [
            ("a b c", 1),
            ("\na 1:1@1 master - 0 0 1 connected 16384", 2),
            ("a 1:1@1 master - 0 0 1 connected 9-x", 1),
            ("a 1:1@1 master - 0 0 1 connected 9-3", 1),
        ] {
            match Layout::from_nodes_conf(bad) {
                Err(LayoutError::NodesConf { line: l, .. }) => assert_eq!(l, line, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(matches!(
            Layout::from_nodes_conf("a 1:1@1 master - 0 0 1 connected 0-100"),
            Err(LayoutError::Coverage { .. })
        ));
    }

    #[test]
    fn shards_json_both_forms() {
        let resp3 = r#"[{"slots":[0,99,200,16383],"nodes":[
            {"id":"r","port":7004,"ip":"127.0.0.1","endpoint":"127.0.0.1","role":"replica"},
            {"id":"m1","port":7001,"ip":"10.0.0.1","endpoint":"h1","role":"master"}]},
            {"slots":[100,199],"nodes":[{"id":"m2","tls-port":7002,"ip":"10.0.0.2","role":"master"}]}]"#;
        let resp2 = r#"[["slots",[0,99,200,16383],"nodes",[["id","m1","port",7001,"endpoint","h1","role","master"]]],
            ["slots",[100,199],"nodes",[["id","m2","tls-port",7002,"ip","10.0.0.2","role","master"]]]]"#;
        for text in [resp3, resp2] {
            let l = Layout::from_shards_json(text).unwrap();
            assert_eq!(l.nodes()[0].id, "m1");
            assert_eq!(l.nodes()[0].addr.as_deref(), Some("h1:7001"));
            assert_eq!(l.nodes()[0].ranges, [0..=99, 200..=16383]);
            assert_eq!(l.nodes()[1].addr.as_deref(), Some("10.0.0.2:7002"));
            assert_eq!(l.node_of(150), 1);
        }
        assert_eq!(Layout::parse(resp3).unwrap().nodes()[1].id, "m2");
        let conf = "a 1.2.3.4:1@2 myself,master - 0 0 1 connected 0-16383\n";
        assert_eq!(Layout::parse(conf).unwrap().nodes()[0].id, "a");
        for bad in [
            "{}",
            "[1]",
            r#"[{"slots":[0],"nodes":[]}]"#,
            r#"[{"slots":[0,16383],"nodes":[{"id":"a","role":"replica"}]}]"#,
            r#"[{"slots":[0,16384],"nodes":[{"id":"a","role":"master"}]}]"#,
            r#"[{"slots":[5,1],"nodes":[{"id":"a","role":"master"}]}]"#,
            "not json",
        ] {
            assert!(
                matches!(Layout::from_shards_json(bad), Err(LayoutError::Shards(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn slot_filter() {
        let l = Layout::equal(3).unwrap();
        let f = l.filter(2);
        assert_eq!(f.len(), 5461);
        assert!(f.contains_key(b"foo")); // 12182
        assert!(!f.contains_key(b"bar")); // 5061
        assert!(!f.contains_slot(16384));
        assert!(SlotFilter::from_ranges(&[]).is_empty());
        assert_eq!(ranges_of([7, 3, 4, 5, 4, 9]), [3..=5, 7..=7, 9..=9]);
        let filters: Vec<SlotFilter> = (0..3).map(|i| l.filter(i)).collect();
        for slot in 0..SLOTS as u16 {
            for (i, f) in filters.iter().enumerate() {
                assert_eq!(f.contains_slot(slot), i == l.node_of(slot));
            }
        }
    }
}
