//! [`Histogram`]: a bounded-memory, mergeable distribution of `u64` values
//! (element counts, sizes, idle times) with exact count, sum, min and max and
//! percentiles within a known relative error.
//!
//! Buckets are log-linear (the HDR-histogram idea): values below 64 have a
//! bucket each (exact), and every power-of-two range above is split into 32
//! equal sub-buckets. A percentile is reported as the middle of its bucket,
//! clamped to the observed min and max, so it is within 1/64 (1.6%) of a value
//! that really is at that rank. At most 1,920 counters exist, allocated only
//! up to the largest bucket used, and two histograms merge exactly (bucket by
//! bucket), which is what lets worker threads build partial statistics.

/// Values below this have their own bucket.
const EXACT: u64 = 64;
/// Sub-buckets per power of two (log2).
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;

/// A distribution of `u64` values. See the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<u64>,
    n: u64,
    sum: u128,
    min: u64,
    max: u64,
}

/// Summary figures of a [`Histogram`].
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Number of values.
    pub count: u64,
    /// Smallest value (0 when empty).
    pub min: u64,
    /// Largest value (0 when empty).
    pub max: u64,
    /// Arithmetic mean (0 when empty).
    pub mean: f64,
    /// Median (nearest rank, within 1.6%).
    pub p50: u64,
    /// 90th percentile (nearest rank, within 1.6%).
    pub p90: u64,
    /// 99th percentile (nearest rank, within 1.6%).
    pub p99: u64,
}

#[inline]
fn bucket(v: u64) -> usize {
    if v < EXACT {
        return v as usize;
    }
    let e = v.ilog2(); // v in [2^e, 2^(e+1)), e >= 6
    let sub = (v >> (e - SUB_BITS)) & (SUB - 1);
    (EXACT + u64::from(e - 6) * SUB + sub) as usize
}

/// The smallest and largest value of bucket `i`.
fn bounds(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < EXACT {
        return (i, i);
    }
    let e = (i - EXACT) / SUB + 6;
    let sub = (i - EXACT) % SUB;
    let width = 1u64 << (e - u64::from(SUB_BITS));
    let lo = (1u64 << e) + sub * width;
    (lo, lo + (width - 1))
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one value.
    #[inline]
    pub fn add(&mut self, v: u64) {
        let b = bucket(v);
        if b >= self.counts.len() {
            self.counts.resize(b + 1, 0);
        }
        self.counts[b] += 1;
        if self.n == 0 || v < self.min {
            self.min = v;
        }
        if v > self.max {
            self.max = v;
        }
        self.n += 1;
        self.sum += u128::from(v);
    }

    /// Adds every value of `other` (exact).
    pub fn merge(&mut self, other: &Histogram) {
        if other.n == 0 {
            return;
        }
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        if self.n == 0 || other.min < self.min {
            self.min = other.min;
        }
        self.max = self.max.max(other.max);
        self.n += other.n;
        self.sum += other.sum;
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Sum of the values.
    pub fn sum(&self) -> u128 {
        self.sum
    }

    /// Largest value (0 when empty).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value at quantile `q` (0..=1) by the nearest-rank method, within
    /// 1.6% (exact below 64). 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.n == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, hi) = bounds(i);
                let mid = lo + (hi - lo) / 2;
                return mid.clamp(self.min, self.max);
            }
        }
        self.max
    }

    /// Count, min, max, mean and the 50th, 90th and 99th percentiles.
    pub fn summary(&self) -> Summary {
        Summary {
            count: self.n,
            min: self.min,
            max: self.max,
            mean: if self.n == 0 {
                0.0
            } else {
                self.sum as f64 / self.n as f64
            },
            p50: self.quantile(0.50),
            p90: self.quantile(0.90),
            p99: self.quantile(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact_quantile(sorted: &[u64], q: f64) -> u64 {
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }

    #[test]
    fn buckets_cover_every_value_once() {
        for v in (0..5000u64).chain([u64::MAX, u64::MAX - 1, 1 << 40, (1 << 40) - 1]) {
            let (lo, hi) = bounds(bucket(v));
            assert!(lo <= v && v <= hi, "{v} not in bucket {lo}..={hi}");
        }
        assert_eq!(bucket(u64::MAX), 64 + 57 * 32 + 31);
        // Consecutive buckets are adjacent.
        for i in 0..1919 {
            assert_eq!(bounds(i).1 + 1, bounds(i + 1).0, "gap after bucket {i}");
        }
    }

    #[test]
    fn quantiles_are_within_the_error_bound() {
        // A skewed deterministic sample.
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut vals = Vec::new();
        let mut h = Histogram::new();
        for _ in 0..20_000 {
            crate::testutil::xorshift(&mut x);
            let v = (x % 1000) * (x % 1000) * (1 + x % 7);
            vals.push(v);
            h.add(v);
        }
        vals.sort_unstable();
        for q in [0.0, 0.01, 0.5, 0.9, 0.99, 1.0] {
            let want = exact_quantile(&vals, q);
            let got = h.quantile(q);
            let err = got.abs_diff(want) as f64;
            assert!(
                err <= want as f64 / 64.0 + 1.0,
                "q={q}: got {got}, exact {want}"
            );
        }
        assert_eq!(h.summary().max, *vals.last().unwrap());
        assert_eq!(h.summary().min, vals[0]);
        assert_eq!(h.count(), 20_000);
        assert_eq!(h.sum(), vals.iter().map(|&v| u128::from(v)).sum::<u128>());
    }

    #[test]
    fn small_values_are_exact_and_merge_is_exact() {
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        let mut all = Histogram::new();
        for v in 0..60u64 {
            a.add(v);
            all.add(v);
        }
        for v in [3u64, 3, 3, 1_000_000, 7] {
            b.add(v);
            all.add(v);
        }
        a.merge(&b);
        assert_eq!(a, all);
        let mut sorted: Vec<u64> = (0..60).chain([3, 3, 3, 1_000_000, 7]).collect();
        sorted.sort_unstable();
        for q in [0.1, 0.5, 0.9] {
            assert_eq!(a.quantile(q), exact_quantile(&sorted, q), "q={q}");
        }
        assert_eq!(Histogram::new().summary(), Summary::default());
        let mut one = Histogram::new();
        one.add(12345);
        assert_eq!(one.quantile(0.5), 12345, "clamped to min/max");
    }
}
