//! [`Prefixes`]: keys, serialized bytes and estimated memory per key prefix,
//! as a tree cut at a separator (`user:` then `user:42:` for `user:42:name`
//! with the default `:` and depth 2), in bounded memory.
//!
//! Every key adds to one prefix per level, up to `depth` levels, each prefix
//! ending with the separator (a key with fewer separators stops earlier; a key
//! without any separator is counted apart). The counts of a prefix are exact
//! while the number of distinct prefixes stays under the cap. Past it, the
//! smallest prefixes (by estimated memory) are folded away: the report says so
//! (`truncated`), parents keep their exact totals (a parent always ranks above
//! its children, so it is folded after them), and the "other" share of a
//! parent is its total minus the listed children. A prefix folded and seen
//! again later restarts from zero, so after truncation the listed figures are
//! lower bounds; prefixes big enough to matter are never folded because only
//! the smallest are.

use std::collections::HashMap;

/// Figures of one prefix.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Keys.
    pub keys: u64,
    /// Serialized bytes of their records.
    pub size: u64,
    /// Estimated memory.
    pub memory: u64,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.keys += o.keys;
        self.size += o.size;
        self.memory += o.memory;
    }
}

/// One prefix of the tree, with its best children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The prefix, separator included.
    pub prefix: Vec<u8>,
    /// Level (1 = first segment).
    pub level: usize,
    /// Its figures.
    pub counts: Counts,
    /// The largest sub-prefixes (by memory), at most the requested number.
    pub children: Vec<Node>,
    /// Figures of the keys under this prefix not in a listed child (keys with
    /// no further separator, and children not listed or folded).
    pub other: Counts,
}

/// Prefix statistics. See the module documentation.
#[derive(Debug, Clone)]
pub struct Prefixes {
    sep: Vec<u8>,
    depth: usize,
    cap: usize,
    map: HashMap<Box<[u8]>, (u8, Counts)>,
    no_separator: Counts,
    truncated: bool,
}

/// Position just after the first occurrence of `sep` in `hay` at or after `from`.
#[inline]
fn find_after(hay: &[u8], sep: &[u8], from: usize) -> Option<usize> {
    let rest = hay.get(from..)?;
    if sep.len() == 1 {
        rest.iter().position(|&b| b == sep[0]).map(|i| from + i + 1)
    } else {
        rest.windows(sep.len())
            .position(|w| w == sep)
            .map(|i| from + i + sep.len())
    }
}

impl Prefixes {
    /// Prefixes cut at `sep` (non-empty), `depth` levels (0 disables), keeping
    /// at most about `cap` distinct prefixes.
    pub fn new(sep: &[u8], depth: usize, cap: usize) -> Self {
        Self {
            sep: if sep.is_empty() {
                b":".to_vec()
            } else {
                sep.to_vec()
            },
            depth: depth.min(255),
            cap: cap.max(16),
            map: HashMap::new(),
            no_separator: Counts::default(),
            truncated: false,
        }
    }

    /// The separator.
    pub fn separator(&self) -> &[u8] {
        &self.sep
    }

    /// The number of levels.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// True when prefixes were folded because there were too many.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Keys that contain no separator.
    pub fn no_separator(&self) -> Counts {
        self.no_separator
    }

    /// Counts one key.
    #[inline]
    pub fn add(&mut self, key: &[u8], size: u64, memory: u64) {
        if self.depth == 0 {
            return;
        }
        let c = Counts {
            keys: 1,
            size,
            memory,
        };
        let mut from = 0;
        let mut level = 0;
        while level < self.depth {
            let Some(end) = find_after(key, &self.sep, from) else {
                break;
            };
            level += 1;
            let p = &key[..end];
            if let Some(e) = self.map.get_mut(p) {
                e.1.add(c);
            } else {
                self.map.insert(p.into(), (level as u8, c));
            }
            from = end;
        }
        if level == 0 {
            self.no_separator.add(c);
        }
        if self.map.len() > self.cap {
            self.prune();
        }
    }

    /// Adds everything counted by `other` (same separator and depth).
    pub fn merge(&mut self, other: Prefixes) {
        self.no_separator.add(other.no_separator);
        self.truncated |= other.truncated;
        for (p, (level, c)) in other.map {
            match self.map.get_mut(&p) {
                Some(e) => e.1.add(c),
                None => {
                    self.map.insert(p, (level, c));
                }
            }
        }
        if self.map.len() > self.cap {
            self.prune();
        }
    }

    /// Folds the smallest prefixes, keeping three quarters of the cap.
    fn prune(&mut self) {
        let keep = self.cap * 3 / 4;
        let mut ranked: Vec<(Counts, u8, Box<[u8]>)> =
            self.map.drain().map(|(p, (l, c))| (c, l, p)).collect();
        // Largest first; parents (lower level) before children on ties, so a
        // parent is never folded while a child stays.
        ranked.sort_unstable_by(|a, b| {
            (b.0.memory, b.0.size, b.0.keys)
                .cmp(&(a.0.memory, a.0.size, a.0.keys))
                .then(a.1.cmp(&b.1))
                .then_with(|| a.2.cmp(&b.2))
        });
        ranked.truncate(keep);
        self.map = ranked.into_iter().map(|(c, l, p)| (p, (l, c))).collect();
        self.truncated = true;
    }

    /// Number of distinct prefixes kept.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no prefix was counted.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The tree of the largest prefixes: at most `top` per level under each
    /// parent, largest estimated memory first (then serialized size, keys,
    /// bytes).
    pub fn tree(&self, top: usize) -> Vec<Node> {
        // Children of each prefix, found by cutting the child at its parent's
        // length: the parent of a level-n prefix is its own prefix ending at
        // the (n-1)-th separator.
        let mut by_parent: HashMap<&[u8], Vec<(&[u8], Counts)>> = HashMap::new();
        let mut roots: Vec<(&[u8], Counts)> = Vec::new();
        for (p, (level, c)) in &self.map {
            if *level <= 1 {
                roots.push((p, *c));
            } else {
                let parent_end = {
                    // End of the (level-1)-th separator.
                    let mut from = 0;
                    for _ in 0..level - 1 {
                        from = find_after(p, &self.sep, from).unwrap_or(p.len());
                    }
                    from
                };
                by_parent.entry(&p[..parent_end]).or_default().push((p, *c));
            }
        }
        let sort = |v: &mut Vec<(&[u8], Counts)>| {
            v.sort_unstable_by(|a, b| {
                (b.1.memory, b.1.size, b.1.keys)
                    .cmp(&(a.1.memory, a.1.size, a.1.keys))
                    .then_with(|| a.0.cmp(b.0))
            });
        };
        type Kids<'k> = Vec<(&'k [u8], Counts)>;
        fn build(
            p: &[u8],
            c: Counts,
            level: usize,
            top: usize,
            by_parent: &HashMap<&[u8], Kids<'_>>,
            sort: &dyn Fn(&mut Kids<'_>),
        ) -> Node {
            let mut kids = by_parent.get(p).cloned().unwrap_or_default();
            sort(&mut kids);
            kids.truncate(top);
            let children: Vec<Node> = kids
                .into_iter()
                .map(|(k, kc)| build(k, kc, level + 1, top, by_parent, sort))
                .collect();
            let mut listed = Counts::default();
            for ch in &children {
                listed.add(ch.counts);
            }
            Node {
                prefix: p.to_vec(),
                level,
                counts: c,
                other: Counts {
                    keys: c.keys.saturating_sub(listed.keys),
                    size: c.size.saturating_sub(listed.size),
                    memory: c.memory.saturating_sub(listed.memory),
                },
                children,
            }
        }
        sort(&mut roots);
        roots.truncate(top);
        roots
            .into_iter()
            .map(|(p, c)| build(p, c, 1, top, &by_parent, &sort))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(keys: u64, size: u64, memory: u64) -> Counts {
        Counts { keys, size, memory }
    }

    #[test]
    fn levels_and_tree() {
        let mut p = Prefixes::new(b":", 2, 1000);
        p.add(b"user:1:name", 10, 100);
        p.add(b"user:1:mail", 10, 100);
        p.add(b"user:2:name", 5, 50);
        p.add(b"user:3", 1, 10);
        p.add(b"plain", 7, 70);
        p.add(b"a::b", 1, 1);
        let t = p.tree(10);
        assert_eq!(p.no_separator(), counts(1, 7, 70));
        assert_eq!(t[0].prefix, b"user:");
        assert_eq!(t[0].counts, counts(4, 26, 260));
        assert_eq!(t[0].children.len(), 2);
        assert_eq!(t[0].children[0].prefix, b"user:1:");
        assert_eq!(t[0].children[0].counts, counts(2, 20, 200));
        assert_eq!(t[0].children[1].prefix, b"user:2:");
        // user:3 has no second separator: it is in user:'s "other" share.
        assert_eq!(t[0].other, counts(1, 1, 10));
        assert_eq!(t[1].prefix, b"a:");
        assert_eq!(t[1].children[0].prefix, b"a::");
        // Top 1 per level.
        let t1 = p.tree(1);
        assert_eq!(t1.len(), 1);
        assert_eq!(t1[0].children.len(), 1);
        assert_eq!(t1[0].other, counts(2, 6, 60));
    }

    #[test]
    fn multi_byte_separator_and_merge() {
        let mut a = Prefixes::new(b"::", 1, 100);
        let mut b = Prefixes::new(b"::", 1, 100);
        a.add(b"x::1", 1, 1);
        b.add(b"x::2", 2, 2);
        b.add(b"x:3", 4, 4);
        a.merge(b);
        let t = a.tree(5);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].counts, counts(2, 3, 3));
        assert_eq!(a.no_separator(), counts(1, 4, 4));
    }

    #[test]
    fn the_cap_folds_small_prefixes_and_keeps_big_ones_exact() {
        let mut p = Prefixes::new(b":", 2, 64);
        for i in 0..10_000u64 {
            // One big family and many one-key families.
            p.add(format!("big:{}:x", i % 3).as_bytes(), 100, 1000);
            p.add(format!("small{i}:x").as_bytes(), 1, 1);
        }
        assert!(p.truncated());
        assert!(p.len() <= 64);
        let t = p.tree(3);
        assert_eq!(t[0].prefix, b"big:");
        assert_eq!(t[0].counts, counts(10_000, 1_000_000, 10_000_000));
        assert_eq!(t[0].children.len(), 3);
        let sum: u64 = t[0].children.iter().map(|c| c.counts.keys).sum();
        assert_eq!(sum, 10_000);
    }
}
