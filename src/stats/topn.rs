//! [`TopN`]: the N largest items by a `u64` metric, in a bounded heap.
//!
//! Ties are broken by file position (the earlier key ranks higher), so the
//! result is a total order that does not depend on how the file was cut into
//! chunks: merging the top N of every chunk gives exactly the top N of the
//! file, since each key is in exactly one chunk.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// An item of a [`TopN`]: its metric, its position (tie-break) and a payload.
#[derive(Debug, Clone)]
struct Ranked<T> {
    metric: u64,
    pos: u64,
    item: T,
}

impl<T> Ranked<T> {
    /// Larger metric first, then smaller position.
    fn rank(&self) -> (u64, Reverse<u64>) {
        (self.metric, Reverse(self.pos))
    }
}

impl<T> PartialEq for Ranked<T> {
    fn eq(&self, other: &Self) -> bool {
        self.rank() == other.rank()
    }
}
impl<T> Eq for Ranked<T> {}
impl<T> PartialOrd for Ranked<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Ranked<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank().cmp(&other.rank())
    }
}

/// The `n` best items seen so far. See the module documentation.
#[derive(Debug, Clone)]
pub struct TopN<T> {
    n: usize,
    /// Min-heap (by rank) of the kept items.
    heap: BinaryHeap<Reverse<Ranked<T>>>,
}

impl<T> TopN<T> {
    /// Keeps the `n` best items.
    pub fn new(n: usize) -> Self {
        Self {
            n,
            heap: BinaryHeap::with_capacity(n.min(1024) + 1),
        }
    }

    /// True when an item with `metric` at position `pos` would be kept: call it
    /// before building an expensive payload.
    #[inline]
    pub fn qualifies(&self, metric: u64, pos: u64) -> bool {
        if self.n == 0 {
            return false;
        }
        if self.heap.len() < self.n {
            return true;
        }
        self.heap
            .peek()
            .is_some_and(|Reverse(min)| (metric, Reverse(pos)) > min.rank())
    }

    /// Offers an item; it is kept if it ranks among the best `n`.
    pub fn push(&mut self, metric: u64, pos: u64, item: T) {
        if !self.qualifies(metric, pos) {
            return;
        }
        self.heap.push(Reverse(Ranked { metric, pos, item }));
        if self.heap.len() > self.n {
            self.heap.pop();
        }
    }

    /// Offers every item of `other`.
    pub fn merge(&mut self, other: TopN<T>) {
        for Reverse(r) in other.heap {
            self.push(r.metric, r.pos, r.item);
        }
    }

    /// The kept items, best first, with their metric.
    pub fn into_sorted(self) -> Vec<(u64, T)> {
        let mut v: Vec<Ranked<T>> = self.heap.into_iter().map(|Reverse(r)| r).collect();
        v.sort_by(|a, b| b.cmp(a));
        v.into_iter().map(|r| (r.metric, r.item)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_best_with_position_tie_break_and_merges_exactly() {
        let items: Vec<(u64, u64)> = (0..1000u64).map(|i| ((i * 7919) % 97, i)).collect();
        let mut want: Vec<(u64, u64)> = items.clone();
        want.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        want.truncate(10);

        let mut whole = TopN::new(10);
        for &(m, p) in &items {
            whole.push(m, p, p);
        }
        let got: Vec<(u64, u64)> = whole.into_sorted();
        assert_eq!(got, want);

        // Split into uneven chunks and merge.
        let mut merged = TopN::new(10);
        for chunk in items.chunks(37) {
            let mut t = TopN::new(10);
            for &(m, p) in chunk {
                t.push(m, p, p);
            }
            merged.merge(t);
        }
        assert_eq!(merged.into_sorted(), want);
        assert!(TopN::<()>::new(0).into_sorted().is_empty());
    }
}
