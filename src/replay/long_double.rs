//! The x87 80-bit `long double` that `INCRBYFLOAT` and `HINCRBYFLOAT` compute
//! in on the server (x86-64 Linux): a 64-bit significand, exponents down to
//! 2^-16445 (subnormals) and up to 2^16383. Emulated exactly with a small
//! big integer: parsing as `strtold` does (correctly rounded, `ERANGE`
//! refused as Redis' `string2ld` refuses it), addition rounded to nearest even,
//! and output as Redis' `ld2string(.., LD_STR_HUMAN)`: `%.17Lf` with the
//! trailing zeros and point removed. Every size is bounded by the input's
//! length (Redis refuses a float of 5120 bytes or more, and so does this).

/// The longest float text Redis parses (`MAX_LONG_DOUBLE_CHARS`).
const MAX_CHARS: usize = 5 * 1024;
/// The smallest exponent of the significand's last bit (subnormals).
const MIN_E: i64 = -16445;
/// The largest exponent of a finite value's top bit.
const MAX_TOP: i64 = 16383;

/// A finite `long double`: (-1)^neg × m × 2^e, `m` normalized (top bit set)
/// unless it is subnormal or zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongDouble {
    neg: bool,
    m: u64,
    e: i64,
}

/// A value or an infinity (the result of an overflow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ld {
    /// A finite value.
    Finite(LongDouble),
    /// Plus (false) or minus (true) infinity.
    Inf(bool),
}

/// Little-endian base-2^32 magnitude.
#[derive(Clone, Debug, Default)]
struct Big(Vec<u32>);

impl Big {
    fn from_u128(mut v: u128) -> Self {
        let mut d = Vec::new();
        while v != 0 {
            d.push(v as u32);
            v >>= 32;
        }
        Big(d)
    }
    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }
    fn is_zero(&self) -> bool {
        self.0.iter().all(|&x| x == 0)
    }
    fn bits(&self) -> u64 {
        let mut s = self.clone();
        s.trim();
        s.0.last().map_or(0, |&t| {
            (s.0.len() as u64 - 1) * 32 + u64::from(32 - t.leading_zeros())
        })
    }
    fn mul_add_small(&mut self, mul: u32, add: u32) {
        let mut carry = u64::from(add);
        for d in &mut self.0 {
            let v = u64::from(*d) * u64::from(mul) + carry;
            *d = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }
    fn shl(&self, n: u64) -> Self {
        let (w, b) = ((n / 32) as usize, (n % 32) as u32);
        let mut d = vec![0u32; w];
        let mut carry = 0u32;
        for &x in &self.0 {
            d.push((x << b) | carry);
            carry = if b == 0 { 0 } else { x >> (32 - b) };
        }
        d.push(carry);
        let mut r = Big(d);
        r.trim();
        r
    }
    /// Bit `i`.
    fn bit(&self, i: u64) -> bool {
        self.0
            .get((i / 32) as usize)
            .is_some_and(|w| w >> (i % 32) & 1 == 1)
    }
    /// Whether any bit below `i` is set.
    fn any_below(&self, i: u64) -> bool {
        let w = (i / 32) as usize;
        self.0.iter().take(w.min(self.0.len())).any(|&x| x != 0)
            || self
                .0
                .get(w)
                .is_some_and(|&x| !i.is_multiple_of(32) && x & ((1u32 << (i % 32)) - 1) != 0)
    }
    /// Bits `lo..lo+n` (n <= 128) as a number.
    fn bits_at(&self, lo: u64, n: u64) -> u128 {
        (0..n).fold(0u128, |acc, i| acc | (u128::from(self.bit(lo + i)) << i))
    }
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        let (mut a, mut b) = (self.clone(), o.clone());
        a.trim();
        b.trim();
        a.0.len()
            .cmp(&b.0.len())
            .then_with(|| a.0.iter().rev().cmp(b.0.iter().rev()))
    }
    /// `self - o`, `self >= o`.
    fn sub(&self, o: &Self) -> Self {
        let mut d = self.0.clone();
        let mut borrow = 0i64;
        for (i, x) in d.iter_mut().enumerate() {
            let v = i64::from(*x) - i64::from(o.0.get(i).copied().unwrap_or(0)) - borrow;
            borrow = i64::from(v < 0);
            *x = v.rem_euclid(1 << 32) as u32;
        }
        let mut r = Big(d);
        r.trim();
        r
    }
    fn add(&self, o: &Self) -> Self {
        let n = self.0.len().max(o.0.len());
        let mut d = Vec::with_capacity(n + 1);
        let mut carry = 0u64;
        for i in 0..n {
            let v = u64::from(self.0.get(i).copied().unwrap_or(0))
                + u64::from(o.0.get(i).copied().unwrap_or(0))
                + carry;
            d.push(v as u32);
            carry = v >> 32;
        }
        d.push(carry as u32);
        let mut r = Big(d);
        r.trim();
        r
    }
    fn pow10(k: u64) -> Self {
        let mut b = Big(vec![1]);
        for _ in 0..k {
            b.mul_add_small(10, 0);
        }
        b
    }
    /// Decimal digits.
    fn to_decimal(&self) -> String {
        let mut d = self.0.clone();
        let mut chunks = Vec::new();
        while d.iter().any(|&x| x != 0) {
            let mut rem = 0u64;
            for x in d.iter_mut().rev() {
                let v = (rem << 32) | u64::from(*x);
                *x = (v / 1_000_000_000) as u32;
                rem = v % 1_000_000_000;
            }
            chunks.push(rem as u32);
            while d.last() == Some(&0) {
                d.pop();
            }
        }
        let mut s = chunks
            .pop()
            .map_or_else(|| "0".to_string(), |c| c.to_string());
        for c in chunks.iter().rev() {
            use std::fmt::Write as _;
            let _ = write!(s, "{c:09}");
        }
        s
    }
}

/// Rounds `q` × 2^e (plus a sticky fraction below `q`'s last bit) to a
/// `long double`, to nearest even.
fn round(neg: bool, q: u128, e: i64, sticky: bool) -> Ld {
    if q == 0 {
        return Ld::Finite(LongDouble { neg, m: 0, e: 0 });
    }
    let len = 128 - i64::from(q.leading_zeros());
    let shift = (len - 64).max(MIN_E - e);
    let (mut m, mut e) = if shift > 0 {
        if shift >= 128 {
            // Far below the smallest subnormal: rounds to zero.
            return Ld::Finite(LongDouble { neg, m: 0, e: 0 });
        }
        let s = shift as u32;
        let rest = q & ((1u128 << s) - 1);
        let half = 1u128 << (s - 1);
        let mut m = q >> s;
        if rest > half || (rest == half && (sticky || m & 1 == 1)) {
            m += 1;
        }
        (m, e + shift)
    } else {
        (q << (-shift) as u32, e + shift)
    };
    if m >> 64 != 0 {
        m >>= 1;
        e += 1;
    }
    if m != 0 && e + 63 - i64::from((m as u64).leading_zeros()) > MAX_TOP {
        return Ld::Inf(neg);
    }
    Ld::Finite(LongDouble {
        neg,
        m: m as u64,
        e,
    })
}

/// Rounds the big integer `n` × 2^e.
fn round_big(neg: bool, n: &Big, e: i64) -> Ld {
    let len = n.bits() as i64;
    if len <= 128 {
        return round(neg, n.bits_at(0, 128), e, false);
    }
    let lo = (len - 66) as u64;
    round(neg, n.bits_at(lo, 66), e + lo as i64, n.any_below(lo))
}

/// Rounds `n` / `d` × 2^e.
fn round_ratio(neg: bool, n: &Big, d: &Big, e: i64) -> Ld {
    // Scale so that the quotient has 66 or 67 bits.
    let s = 66 - (n.bits() as i64 - d.bits() as i64);
    let (mut n, d) = if s >= 0 {
        (n.shl(s as u64), d.clone())
    } else {
        (n.clone(), d.shl((-s) as u64))
    };
    let mut q = 0u128;
    for i in (0..=68u64).rev() {
        let t = d.shl(i);
        if n.cmp(&t) != std::cmp::Ordering::Less {
            n = n.sub(&t);
            q |= 1 << i;
        }
    }
    round(neg, q, e - s, !n.is_zero())
}

impl Ld {
    /// Zero (a missing key or field counts as 0).
    pub fn zero() -> Self {
        Ld::Finite(LongDouble {
            neg: false,
            m: 0,
            e: 0,
        })
    }

    /// Parses as Redis' `string2ld` (`strtold` on the whole text; no leading
    /// space; NaN, an overflow and an underflow to zero refused).
    pub fn parse(b: &[u8]) -> Option<Self> {
        if b.is_empty() || b.len() >= MAX_CHARS || b[0].is_ascii_whitespace() {
            return None;
        }
        let s = std::str::from_utf8(b).ok()?.to_ascii_lowercase();
        let (neg, t) = match s.as_bytes()[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, &s[..]),
        };
        if t == "inf" || t == "infinity" {
            return Some(Ld::Inf(neg));
        }
        let (hex, t) = match t.strip_prefix("0x") {
            Some(h) => (true, h),
            None => (false, t),
        };
        let (radix, exp_char) = if hex { (16u32, 'p') } else { (10u32, 'e') };
        let (mant, exp) = match t.find(exp_char) {
            Some(i) => (&t[..i], Some(&t[i + 1..])),
            None => (t, None),
        };
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let mut n = Big::default();
        for c in int.chars().chain(frac.chars()) {
            n.mul_add_small(radix, c.to_digit(radix)?);
        }
        let exp: i64 = match exp {
            None => 0,
            Some(x) => {
                let digits = x.trim_start_matches(['+', '-']);
                if digits.is_empty()
                    || !digits.bytes().all(|c| c.is_ascii_digit())
                    || x.len() - digits.len() > 1
                {
                    return None;
                }
                // Bounded: beyond this the value is 0 or infinite whatever
                // the digits (at most 5119 of them).
                let v: i64 = digits.parse().unwrap_or(i64::MAX).min(1_000_000);
                if x.starts_with('-') { -v } else { v }
            }
        };
        if n.is_zero() {
            return Some(Ld::Finite(LongDouble { neg, m: 0, e: 0 }));
        }
        let v = if hex {
            round_big(neg, &n, exp - 4 * frac.len() as i64)
        } else {
            let k = exp - frac.len() as i64;
            // Magnitude of the value in decimal digits, to stop far-out
            // exponents before building 10^k.
            let mag = n.to_decimal_len() as i64 + k;
            if mag > 4940 {
                return None; // ERANGE, HUGE_VAL
            }
            if mag < -4960 {
                return None; // ERANGE, rounds to zero
            }
            if k >= 0 {
                round_big(neg, &n.mul_pow10(k as u64), 0)
            } else {
                round_ratio(neg, &n, &Big::pow10((-k) as u64), 0)
            }
        };
        match v {
            Ld::Inf(_) => None,
            Ld::Finite(f) if f.m == 0 => None,
            f @ Ld::Finite(_) => Some(f),
        }
    }

    /// `self + o`, rounded to nearest even (NaN, from inf - inf, as `None`).
    pub fn checked_add(self, o: Self) -> Option<Self> {
        let (a, b) = match (self, o) {
            (Ld::Inf(x), Ld::Inf(y)) if x != y => return None,
            (Ld::Inf(x), _) | (_, Ld::Inf(x)) => return Some(Ld::Inf(x)),
            (Ld::Finite(a), Ld::Finite(b)) => (a, b),
        };
        if a.m == 0 {
            return Some(Ld::Finite(if b.m == 0 {
                LongDouble {
                    neg: a.neg && b.neg,
                    m: 0,
                    e: 0,
                }
            } else {
                b
            }));
        }
        if b.m == 0 {
            return Some(Ld::Finite(a));
        }
        let e = a.e.min(b.e);
        let x = Big::from_u128(u128::from(a.m)).shl((a.e - e) as u64);
        let y = Big::from_u128(u128::from(b.m)).shl((b.e - e) as u64);
        Some(if a.neg == b.neg {
            round_big(a.neg, &x.add(&y), e)
        } else {
            match x.cmp(&y) {
                std::cmp::Ordering::Equal => Ld::Finite(LongDouble {
                    neg: false,
                    m: 0,
                    e: 0,
                }),
                std::cmp::Ordering::Greater => round_big(a.neg, &x.sub(&y), e),
                std::cmp::Ordering::Less => round_big(b.neg, &y.sub(&x), e),
            }
        })
    }

    /// Whether the value is finite.
    pub fn is_finite(self) -> bool {
        matches!(self, Ld::Finite(_))
    }

    /// Redis' `ld2string(.., LD_STR_HUMAN)` of a finite value: `%.17Lf`
    /// (rounded to nearest even), trailing zeros and point removed, `-0` as
    /// `0`.
    pub fn human(self) -> Option<Vec<u8>> {
        let Ld::Finite(v) = self else {
            return None;
        };
        let m = Big::from_u128(u128::from(v.m));
        let scaled = if v.e >= 0 {
            m.shl(v.e as u64).mul_pow10(17)
        } else {
            let n = m.mul_pow10(17);
            let s = (-v.e) as u64;
            let bits = n.bits();
            let mut q = if s >= bits {
                Big::default()
            } else {
                shr(&n, s)
            };
            let half = s >= 1 && n.bit(s - 1);
            let sticky = s >= 1 && n.any_below(s - 1);
            if half && (sticky || q.bit(0)) {
                q = q.add(&Big(vec![1]));
            }
            q
        };
        let digits = scaled.to_decimal();
        let digits = format!("{digits:0>18}");
        let (int, frac) = digits.split_at(digits.len() - 17);
        let frac = frac.trim_end_matches('0');
        let mut out = String::new();
        if v.neg {
            out.push('-');
        }
        out.push_str(int);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        if out == "-0" {
            out = "0".into();
        }
        Some(out.into_bytes())
    }
}

fn shr(n: &Big, s: u64) -> Big {
    let bits = n.bits();
    let mut d = Big::default();
    let mut i = bits;
    while i > s {
        i -= 1;
        d = d.shl(1);
        if n.bit(i) {
            d = d.add(&Big(vec![1]));
        }
    }
    d
}

impl Big {
    fn mul_pow10(&self, k: u64) -> Self {
        let mut b = self.clone();
        for _ in 0..k {
            b.mul_add_small(10, 0);
        }
        b
    }
    fn to_decimal_len(&self) -> usize {
        self.to_decimal().len()
    }
}

#[cfg(test)]
mod tests {
    use super::Ld;

    fn h(s: &str) -> String {
        String::from_utf8(Ld::parse(s.as_bytes()).unwrap().human().unwrap()).unwrap()
    }

    #[test]
    fn formats_as_redis() {
        // Values read from redis-server 7.0 (`SET k X` then `INCRBYFLOAT k 0`).
        assert_eq!(h("1e30"), "1000000000000000000024696061952");
        assert_eq!(h("0.1"), "0.1");
        assert_eq!(h("10.5"), "10.5");
        assert_eq!(h("-0"), "0");
        assert_eq!(h("3.0e3"), "3000");
        assert_eq!(h("1e-18"), "0");
        let sum = |a: &str, b: &str| {
            let r = Ld::parse(a.as_bytes())
                .unwrap()
                .checked_add(Ld::parse(b.as_bytes()).unwrap())
                .unwrap();
            String::from_utf8(r.human().unwrap()).unwrap()
        };
        assert_eq!(sum("10.50", "0.1"), "10.6");
        assert_eq!(sum("5.0e3", "2.0e2"), "5200");
        assert!(Ld::parse(b"1e5000").is_none());
        assert!(Ld::parse(b"1e-5000").is_none());
        assert!(Ld::parse(b"nan").is_none());
        assert!(Ld::parse(b" 1").is_none());
        assert!(Ld::parse(b"1 ").is_none());
        assert!(!Ld::parse(b"inf").unwrap().is_finite());
        assert!(
            Ld::parse(b"inf")
                .unwrap()
                .checked_add(Ld::parse(b"-inf").unwrap())
                .is_none()
        );
    }

    /// The extremes stay exact and quick: the largest finite value (4933
    /// digits), the longest text Redis parses, far-out exponents.
    #[test]
    fn extremes_are_bounded() {
        let max = Ld::parse(b"1.18973149535723176502e4932").unwrap();
        let t = max.human().unwrap();
        assert_eq!(t.len(), 4933);
        assert!(t.starts_with(b"1189731495357231765"));
        // Doubling it overflows: an error, as on the server.
        assert!(!max.checked_add(max).unwrap().is_finite());
        let long = format!("0.{}1", "0".repeat(5100));
        assert!(Ld::parse(long.as_bytes()).is_none(), "underflow to zero");
        let long = format!("{}e-4000", "9".repeat(5000));
        assert_eq!(
            Ld::parse(long.as_bytes()).unwrap().human().unwrap().len(),
            1000
        );
        assert!(Ld::parse(format!("1{}", "0".repeat(5119)).as_bytes()).is_none());
        assert!(Ld::parse(b"1e99999999999999999999999").is_none());
        assert!(Ld::parse(b"1e-99999999999999999999999").is_none());
        assert_eq!(h("0e99999999999999999999999"), "0");
        // The smallest subnormal is kept (ERANGE, but not zero) and prints as 0.
        assert_eq!(h("3.6451995318824746025e-4951"), "0");
    }
}
