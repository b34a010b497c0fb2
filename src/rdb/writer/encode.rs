//! Byte encoders for the structures embedded in RDB values: listpacks, ziplists
//! and intsets, plus the canonical-integer test Redis applies before storing an
//! element as an integer.

/// The integer a string stands for when it is the canonical decimal form of an
/// `i64` (Redis `string2ll`); one implementation for the reader, writer and replay.
pub use crate::rdb::str::parse_canonical_i64 as canonical_i64;

/// Listpack backlen encoding of an entry of `l` bytes (exact Redis thresholds).
fn backlen(l: usize, out: &mut Vec<u8>) {
    if l <= 127 {
        out.push(l as u8);
    } else if l < 16383 {
        out.extend_from_slice(&[(l >> 7) as u8, ((l & 127) | 128) as u8]);
    } else if l < 2_097_151 {
        out.extend_from_slice(&[
            (l >> 14) as u8,
            (((l >> 7) & 127) | 128) as u8,
            ((l & 127) | 128) as u8,
        ]);
    } else if l < 268_435_455 {
        out.extend_from_slice(&[
            (l >> 21) as u8,
            (((l >> 14) & 127) | 128) as u8,
            (((l >> 7) & 127) | 128) as u8,
            ((l & 127) | 128) as u8,
        ]);
    } else {
        out.extend_from_slice(&[
            (l >> 28) as u8,
            (((l >> 21) & 127) | 128) as u8,
            (((l >> 14) & 127) | 128) as u8,
            (((l >> 7) & 127) | 128) as u8,
            ((l & 127) | 128) as u8,
        ]);
    }
}

/// A listpack under construction.
#[derive(Debug, Clone)]
pub struct Listpack {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Listpack {
    fn default() -> Self {
        Self::new()
    }
}

impl Listpack {
    /// An empty listpack (header space reserved).
    pub fn new() -> Self {
        Self {
            buf: vec![0; 6],
            count: 0,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Size in bytes once finished (header + entries + end marker).
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// Appends an element, as an integer when it is a canonical `i64`.
    pub fn push(&mut self, v: &[u8]) {
        match canonical_i64(v) {
            Some(i) => self.push_int(i),
            None => self.push_str(v),
        }
    }

    /// Appends an integer element in the smallest encoding.
    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u16) & 0x1fff;
            self.buf
                .extend_from_slice(&[0xc0 | (u >> 8) as u8, (u & 0xff) as u8]);
        } else if i16::try_from(v).is_ok() {
            self.buf.push(0xf1);
            self.buf.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-(1 << 23)..(1 << 23)).contains(&v) {
            self.buf.push(0xf2);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if i32::try_from(v).is_ok() {
            self.buf.push(0xf3);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            self.buf.push(0xf4);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        let l = self.buf.len() - start;
        backlen(l, &mut self.buf);
        self.count += 1;
    }

    /// Appends a string element (never converted to an integer).
    pub fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf
                .extend_from_slice(&[0xe0 | (n >> 8) as u8, (n & 0xff) as u8]);
        } else {
            self.buf.push(0xf0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        let l = self.buf.len() - start;
        backlen(l, &mut self.buf);
        self.count += 1;
    }

    /// The finished blob.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xff);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let n = u16::try_from(self.count).unwrap_or(u16::MAX);
        self.buf[4..6].copy_from_slice(&n.to_le_bytes());
        self.buf
    }
}

/// A ziplist under construction (RDB ≤ 9 types 10, 12, 13 and quicklist v1
/// nodes).
#[derive(Debug, Clone)]
pub struct Ziplist {
    buf: Vec<u8>,
    count: usize,
    prev_len: usize,
    tail: usize,
}

impl Default for Ziplist {
    fn default() -> Self {
        Self::new()
    }
}

impl Ziplist {
    /// An empty ziplist.
    pub fn new() -> Self {
        Self {
            buf: vec![0; 10],
            count: 0,
            prev_len: 0,
            tail: 10,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Size once finished.
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    /// Appends an entry; strings of 1–31 bytes that are canonical integers are
    /// stored as integers (Redis `zipTryEncoding`).
    pub fn push(&mut self, v: &[u8]) {
        let start = self.buf.len();
        if self.prev_len < 254 {
            self.buf.push(self.prev_len as u8);
        } else {
            self.buf.push(0xfe);
            self.buf
                .extend_from_slice(&(self.prev_len as u32).to_le_bytes());
        }
        let int = if v.len() < 32 { canonical_i64(v) } else { None };
        match int {
            Some(i) if (0..=12).contains(&i) => self.buf.push(0xf1 + i as u8),
            Some(i) if i8::try_from(i).is_ok() => {
                self.buf.push(0xfe);
                self.buf.push(i as i8 as u8);
            }
            Some(i) if i16::try_from(i).is_ok() => {
                self.buf.push(0xc0);
                self.buf.extend_from_slice(&(i as i16).to_le_bytes());
            }
            Some(i) if (-(1 << 23)..(1 << 23)).contains(&i) => {
                self.buf.push(0xf0);
                self.buf.extend_from_slice(&(i as i32).to_le_bytes()[..3]);
            }
            Some(i) if i32::try_from(i).is_ok() => {
                self.buf.push(0xd0);
                self.buf.extend_from_slice(&(i as i32).to_le_bytes());
            }
            Some(i) => {
                self.buf.push(0xe0);
                self.buf.extend_from_slice(&i.to_le_bytes());
            }
            None => {
                let n = v.len();
                if n <= 63 {
                    self.buf.push(n as u8);
                } else if n <= 16383 {
                    self.buf
                        .extend_from_slice(&[0x40 | (n >> 8) as u8, (n & 0xff) as u8]);
                } else {
                    self.buf.push(0x80);
                    self.buf.extend_from_slice(&(n as u32).to_be_bytes());
                }
                self.buf.extend_from_slice(v);
            }
        }
        self.tail = start;
        self.prev_len = self.buf.len() - start;
        self.count += 1;
    }

    /// The finished blob.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xff);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        self.buf[4..8].copy_from_slice(&(self.tail as u32).to_le_bytes());
        let n = u16::try_from(self.count).unwrap_or(u16::MAX);
        self.buf[8..10].copy_from_slice(&n.to_le_bytes());
        self.buf
    }
}

/// An intset of `values` (sorted, unique) in the smallest width.
pub fn intset(values: &[i64]) -> Vec<u8> {
    let width: usize = if values.iter().all(|v| i16::try_from(*v).is_ok()) {
        2
    } else if values.iter().all(|v| i32::try_from(*v).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * values.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listpack_matches_dump_vector() {
        // FORMATS.md §4: the list `a`,`b` is the 13-byte listpack
        // `0d 00 00 00 02 00 81 61 02 81 62 02 ff`.
        let mut lp = Listpack::new();
        lp.push(b"a");
        lp.push(b"b");
        assert_eq!(
            lp.finish(),
            [0x0d, 0, 0, 0, 2, 0, 0x81, 0x61, 2, 0x81, 0x62, 2, 0xff]
        );
    }

    #[test]
    fn listpack_integer_widths_and_backlen() {
        let mut lp = Listpack::new();
        for v in [
            0i64,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -32768,
            32767,
            8_388_607,
            -8_388_608,
            1 << 31,
            i64::MIN,
        ] {
            lp.push(v.to_string().as_bytes());
        }
        let b = lp.finish();
        assert_eq!(&b[6..8], &[0x00, 0x01]); // 0 then backlen 1
        assert_eq!(&b[8..10], &[0x7f, 0x01]);
        assert_eq!(&b[10..13], &[0xc0, 0x80, 0x02]); // 128 as 13-bit
        let mut big = Listpack::new();
        big.push_str(&vec![b'x'; 16378]);
        let b = big.finish();
        // entry size 16383 (5-byte header + 16378) needs a 3-byte backlen.
        assert_eq!(&b[6 + 16383..6 + 16386], &[0x00, 0xff, 0xff]);
    }

    #[test]
    fn ziplist_layout() {
        let mut z = Ziplist::new();
        z.push(b"a");
        z.push(b"12");
        let b = z.finish();
        // zlbytes 16, tail 13, len 2; entry 'a' = 00 01 61; entry 12 = 03 fd; end ff
        assert_eq!(
            b,
            [16, 0, 0, 0, 13, 0, 0, 0, 2, 0, 0, 1, b'a', 3, 0xfd, 0xff]
        );
    }

    #[test]
    fn intset_widths() {
        assert_eq!(intset(&[1, 2]), [2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 2, 0]);
        assert_eq!(intset(&[70000]).len(), 12);
        assert_eq!(intset(&[1 << 40]).len(), 16);
    }
}
