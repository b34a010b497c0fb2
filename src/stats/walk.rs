//! Measuring a value from its serialized bytes: element count, field TTLs and
//! the memory estimate ([`super::memory`]), without materializing elements.
//!
//! The reader has already framed the record (its extent is known and its
//! structure followed), so this walk only reads what it needs: length
//! prefixes, the headers of listpacks, ziplists and intsets (decompressing
//! just their first bytes when LZF-compressed), and element contents only
//! where the loader's decisions depend on them (short strings that may be
//! integers, small collections that may become listpacks or intsets, and the
//! ziplists of Redis ≤ 6.2 files, which the loader rewrites as listpacks).
//! Every read is bounds-checked: corrupt bytes give an error, never a panic.

use super::memory::{
    self, Config, Elem, Estimate, HashMem, ListPushMem, QuicklistMem, SetMem, StreamMem, ZsetMem,
};
use crate::rdb::compact::{self, Val};
use crate::rdb::types::{self as t, Format};

/// What a value measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measure {
    /// Elements (members, fields, entries; 1 for a string or module value).
    pub elements: u64,
    /// Hash fields with a TTL.
    pub field_ttls: u64,
    /// The memory estimate of the value (without the key).
    pub mem: Estimate,
    /// Serialized bytes of the value (where it ends).
    pub bytes: u64,
}

/// A walk failure: position inside the value and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkError {
    /// Byte position inside the value.
    pub pos: usize,
    /// Message.
    pub msg: String,
}

// Boxed so that results stay two words wide on the hot paths.
type Res<T> = Result<T, Box<WalkError>>;

#[cold]
fn err<T>(pos: usize, msg: impl Into<String>) -> Res<T> {
    Err(Box::new(WalkError {
        pos,
        msg: msg.into(),
    }))
}

/// A string as stored.
#[derive(Debug, Clone, Copy)]
enum RStr<'a> {
    Bytes(&'a [u8]),
    Int(i64),
    Lzf { ulen: u64, data: &'a [u8] },
}

/// A cursor over the bytes of one value.
struct Cur<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    #[inline]
    fn take(&mut self, n: u64) -> Res<&'a [u8]> {
        let end = (self.pos as u64).saturating_add(n);
        if end > self.b.len() as u64 {
            return err(self.pos, format!("{n} bytes run past the end of the value"));
        }
        let s = &self.b[self.pos..end as usize];
        self.pos = end as usize;
        Ok(s)
    }

    #[inline]
    fn u8(&mut self) -> Res<u8> {
        Ok(self.take(1)?[0])
    }

    /// A length or a special-encoding marker (`Err(marker)` for `11xxxxxx`).
    #[inline]
    fn len_or_special(&mut self) -> Res<Result<u64, u8>> {
        let at = self.pos;
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => Ok(u64::from(b & 0x3f)),
            1 => Ok((u64::from(b & 0x3f) << 8) | u64::from(self.u8()?)),
            2 => match b {
                0x80 => Ok(u64::from(u32::from_be_bytes(
                    self.take(4)?.try_into().unwrap_or_default(),
                ))),
                0x81 => Ok(u64::from_be_bytes(
                    self.take(8)?.try_into().unwrap_or_default(),
                )),
                _ => return err(at, format!("invalid length encoding 0x{b:02x}")),
            },
            _ => Err(b & 0x3f),
        })
    }

    /// True when the length at the cursor is above `limit` (the cursor does
    /// not move).
    fn peek_len_over(&mut self, limit: u64) -> bool {
        let at = self.pos;
        let r = matches!(self.len_or_special(), Ok(Ok(n)) if n > limit);
        self.pos = at;
        r
    }

    /// A plain length; a special-encoding byte is the length of its low six
    /// bits, as Redis (and the reader) read it.
    #[inline]
    fn len(&mut self) -> Res<u64> {
        Ok(match self.len_or_special()? {
            Ok(n) => n,
            Err(x) => u64::from(x),
        })
    }

    #[inline]
    fn string(&mut self) -> Res<RStr<'a>> {
        let at = self.pos;
        match self.len_or_special()? {
            Ok(n) => Ok(RStr::Bytes(self.take(n)?)),
            Err(0) => Ok(RStr::Int(i64::from(self.take(1)?[0] as i8))),
            Err(1) => Ok(RStr::Int(i64::from(i16::from_le_bytes(
                self.take(2)?.try_into().unwrap_or_default(),
            )))),
            Err(2) => Ok(RStr::Int(i64::from(i32::from_le_bytes(
                self.take(4)?.try_into().unwrap_or_default(),
            )))),
            Err(3) => {
                let clen = self.len()?;
                let ulen = self.len()?;
                Ok(RStr::Lzf {
                    ulen,
                    data: self.take(clen)?,
                })
            }
            Err(x) => err(at, format!("invalid string encoding 0x{:02x}", 0xc0 | x)),
        }
    }

    /// A string element as the model sees it.
    #[inline]
    fn elem(&mut self) -> Res<Elem<'a>> {
        let at = self.pos;
        let b = *self.b.get(at).ok_or_else(|| Box::new(Self::eof(at)))?;
        if b < 0x40 {
            self.pos += 1;
            return Ok(Elem::Bytes(self.take(u64::from(b))?));
        }
        let s = self.string()?;
        elem(s, at)
    }

    /// The length of a string element, without looking at its bytes. The
    /// hot loop of hashtable-encoded values: plain lengths of one or two
    /// bytes and the integer encodings are decoded inline.
    #[inline]
    fn str_len(&mut self) -> Res<u64> {
        let at = self.pos;
        let b = *self.b.get(at).ok_or_else(|| Box::new(Self::eof(at)))?;
        let (n, hdr): (u64, usize) = match b >> 6 {
            0 => (u64::from(b), 1),
            1 => match self.b.get(at + 1) {
                Some(&b2) => ((u64::from(b & 0x3f) << 8) | u64::from(b2), 2),
                None => return Err(Box::new(Self::eof(at))),
            },
            3 if b & 0x3f <= 2 => {
                let w = 1usize << (b & 0x3f);
                let Some(x) = self.b.get(at + 1..at + 1 + w) else {
                    return Err(Box::new(Self::eof(at)));
                };
                let v = match w {
                    1 => i64::from(x[0] as i8),
                    2 => i64::from(i16::from_le_bytes([x[0], x[1]])),
                    _ => i64::from(i32::from_le_bytes([x[0], x[1], x[2], x[3]])),
                };
                self.pos = at + 1 + w;
                return Ok(memory::int_len(v));
            }
            _ => {
                return Ok(match self.string()? {
                    RStr::Bytes(x) => x.len() as u64,
                    RStr::Int(i) => memory::int_len(i),
                    RStr::Lzf { ulen, .. } => ulen,
                });
            }
        };
        let end = at + hdr + n as usize;
        if end > self.b.len() {
            return err(at, format!("{n} bytes run past the end of the value"));
        }
        self.pos = end;
        Ok(n)
    }

    #[cold]
    fn eof(at: usize) -> WalkError {
        WalkError {
            pos: at,
            msg: "the value ends early".into(),
        }
    }
}

/// Decodes the first `out.len()` bytes of an LZF stream (the start of an LZF
/// stream is always literal or refers only to what precedes, so a header can
/// be read without decompressing the rest). `None` if the stream is shorter or
/// invalid.
fn lzf_head(input: &[u8], out: &mut [u8]) -> Option<()> {
    let want = out.len();
    let (mut ip, mut op) = (0usize, 0usize);
    while op < want {
        let ctrl = *input.get(ip)? as usize;
        ip += 1;
        if ctrl < 32 {
            let len = ctrl + 1;
            let lit = input.get(ip..ip + len)?;
            let n = len.min(want - op);
            out[op..op + n].copy_from_slice(&lit[..n]);
            op += n;
            ip += len;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(ip)? as usize;
                ip += 1;
            }
            let dist = ((ctrl & 0x1f) << 8) + *input.get(ip)? as usize + 1;
            ip += 1;
            len += 2;
            if dist > op {
                return None;
            }
            for _ in 0..len {
                if op >= want {
                    break;
                }
                out[op] = out[op - dist];
                op += 1;
            }
        }
    }
    Some(())
}

/// Turns a stored string into an [`Elem`]. Strings longer than 20 bytes are
/// never integers, so their length is enough; a short LZF string (Redis never
/// writes one) is decompressed to find out.
fn elem(s: RStr<'_>, at: usize) -> Res<Elem<'_>> {
    Ok(match s {
        RStr::Bytes(b) => Elem::Bytes(b),
        RStr::Int(i) => Elem::Int(i),
        RStr::Lzf { ulen, .. } if ulen > 20 => Elem::Long(ulen),
        RStr::Lzf { ulen, data } => {
            let mut out = Vec::new();
            crate::rdb::lzf::decompress_into(data, ulen as usize, &mut out).map_err(|e| {
                Box::new(WalkError {
                    pos: at,
                    msg: format!("LZF string: {e}"),
                })
            })?;
            out.truncate(ulen as usize);
            match Elem::Bytes(&out).as_int() {
                Some(i) => Elem::Int(i),
                None => Elem::Long(ulen),
            }
        }
    })
}

/// What the walker needs the caller to finish from the reader's events.
#[derive(Debug)]
pub enum Partial {
    /// The value is fully measured.
    Done(Measure),
    /// A stream: its nodes are measured; the caller adds its groups from the
    /// reader's events and sets the element count from its metadata.
    Stream(Box<StreamMem>),
    /// A module value: the memory is its serialized size.
    Module(Measure),
}

/// Measures values. Keeps scratch buffers between calls.
#[derive(Debug, Default)]
pub struct Walker {
    cfg: Config,
    format: Option<Format>,
    blob: Vec<u8>,
    vals: Vec<Val>,
}

/// A blob's bytes: borrowed from the value, or decompressed into the walker.
enum Blob<'a> {
    Plain(&'a [u8]),
    Lzf { ulen: u64, data: &'a [u8] },
}

impl Walker {
    /// A walker with the loader's thresholds `cfg`, for files of `format`.
    pub fn new(cfg: Config, format: Format) -> Self {
        Self {
            cfg,
            format: Some(format),
            blob: Vec::new(),
            vals: Vec::new(),
        }
    }

    /// The thresholds in use.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    fn blob(s: RStr<'_>, at: usize) -> Res<Blob<'_>> {
        match s {
            RStr::Bytes(b) => Ok(Blob::Plain(b)),
            RStr::Lzf { ulen, data } => Ok(Blob::Lzf { ulen, data }),
            RStr::Int(_) => err(at, "an encoded value stored as an integer"),
        }
    }

    fn blob_len(b: &Blob<'_>) -> u64 {
        match b {
            Blob::Plain(p) => p.len() as u64,
            Blob::Lzf { ulen, .. } => *ulen,
        }
    }

    /// The first `N` bytes of a blob.
    fn head<const N: usize>(b: &Blob<'_>, at: usize) -> Res<[u8; N]> {
        let mut h = [0u8; N];
        match b {
            Blob::Plain(p) => {
                if p.len() < N {
                    return err(
                        at,
                        format!("encoded value of {} bytes is too short", p.len()),
                    );
                }
                h.copy_from_slice(&p[..N]);
            }
            Blob::Lzf { data, .. } => {
                if lzf_head(data, &mut h).is_none() {
                    return err(at, "invalid LZF data in an encoded value");
                }
            }
        }
        Ok(h)
    }

    /// Decodes a blob in full into `self.blob` and parses it with `parse`
    /// into `self.vals`.
    fn parse_blob(
        &mut self,
        b: &Blob<'_>,
        at: usize,
        parse: fn(&[u8], &mut Vec<Val>) -> Result<(), compact::CompactError>,
    ) -> Res<()> {
        match b {
            Blob::Plain(p) => {
                self.blob.clear();
                self.blob.extend_from_slice(p);
            }
            Blob::Lzf { ulen, data } => {
                crate::rdb::lzf::decompress_into(data, *ulen as usize, &mut self.blob).map_err(
                    |e| {
                        Box::new(WalkError {
                            pos: at,
                            msg: format!("LZF blob: {e}"),
                        })
                    },
                )?;
                self.blob.truncate(*ulen as usize);
            }
        }
        parse(&self.blob, &mut self.vals).map_err(|e| {
            Box::new(WalkError {
                pos: at,
                msg: format!("encoded value at byte {} of the blob: {}", e.pos, e.msg),
            })
        })
    }

    fn val(&self, i: usize) -> Elem<'_> {
        match self.vals[i] {
            Val::Int(v) => Elem::Int(v),
            Val::Str { start, len } => {
                let s = start as usize;
                Elem::Bytes(self.blob.get(s..s + len as usize).unwrap_or_default())
            }
        }
    }

    /// Listpack bytes of the parsed entries `vals` (what a conversion from a
    /// ziplist or zipmap builds).
    fn lp_bytes_of_vals(&self) -> u64 {
        (0..self.vals.len())
            .map(|i| memory::lp_entry(self.val(i)))
            .sum::<u64>()
            + memory::LP_OVERHEAD
    }

    /// Element count of a listpack blob (header, or a full walk when the
    /// header says 65535).
    fn lp_count(&mut self, b: &Blob<'_>, at: usize) -> Res<u64> {
        let h = Self::head::<6>(b, at)?;
        let n = u64::from(u16::from_le_bytes([h[4], h[5]]));
        if n != 65535 {
            return Ok(n);
        }
        self.parse_blob(b, at, compact::listpack::parse)?;
        Ok(self.vals.len() as u64)
    }

    /// Measures the value of RDB type `ty` serialized in `v` (the bytes right
    /// after the key name, to the end of the record).
    pub fn measure(&mut self, ty: u8, v: &[u8]) -> Res<Partial> {
        let mut c = Cur { b: v, pos: 0 };
        let mut p = self.measure_at(ty, &mut c)?;
        if let Partial::Done(m) = &mut p {
            m.bytes = c.pos as u64;
        }
        Ok(p)
    }

    fn measure_at(&mut self, ty: u8, c: &mut Cur<'_>) -> Res<Partial> {
        let v = c.b;
        let cfg = self.cfg;
        let valkey = self.format == Some(Format::Valkey);
        let done = |elements: u64, mem: Estimate| {
            Ok(Partial::Done(Measure {
                elements,
                field_ttls: 0,
                mem,
                bytes: 0,
            }))
        };
        match ty {
            t::STRING => done(1, memory::string(c.elem()?)),
            t::LIST => {
                let n = c.len()?;
                let mut l = ListPushMem::new(&cfg);
                for _ in 0..n {
                    l.push(c.elem()?);
                }
                done(n, l.finish())
            }
            t::SET => {
                let n = c.len()?;
                if n > cfg.set_max_intset_entries {
                    // Too many for an intset: a hashtable whatever the members.
                    let mut sds = 0;
                    for _ in 0..n {
                        sds += memory::sds(c.str_len()?);
                    }
                    return done(n, memory::set_hashtable(n, sds, memory::dict_slots(n)));
                }
                let mut s = SetMem::default();
                for _ in 0..n {
                    s.add(c.elem()?);
                }
                done(n, s.finish(&cfg))
            }
            t::ZSET_2 if c.peek_len_over(cfg.zset_max_listpack_entries) => {
                let n = c.len()?;
                let mut sds = 0;
                for _ in 0..n {
                    sds += memory::sds(c.str_len()?);
                    c.take(8)?;
                }
                done(n, memory::zset_skiplist(n, sds, memory::dict_slots(n)))
            }
            t::ZSET | t::ZSET_2 => {
                let n = c.len()?;
                let mut z = ZsetMem::new(n, &cfg);
                for _ in 0..n {
                    let m = c.elem()?;
                    let score = if ty == t::ZSET_2 {
                        f64::from_le_bytes(c.take(8)?.try_into().unwrap_or_default())
                    } else {
                        let sat = c.pos;
                        match c.u8()? {
                            253 => f64::NAN,
                            254 => f64::INFINITY,
                            255 => f64::NEG_INFINITY,
                            k => std::str::from_utf8(c.take(u64::from(k))?)
                                .ok()
                                .and_then(|s| s.trim().parse().ok())
                                .map_or_else(|| err(sat, "unparsable text score"), Ok)?,
                        }
                    };
                    z.add(m, score);
                }
                done(n, z.finish(&cfg))
            }
            t::HASH => {
                let n = c.len()?;
                if n > cfg.hash_max_listpack_entries {
                    let mut sds = 0;
                    for _ in 0..n {
                        sds += memory::sds(c.str_len()?) + memory::sds(c.str_len()?);
                    }
                    return done(n, memory::hash_hashtable(n, sds, memory::dict_slots(n)));
                }
                let mut h = HashMem::new(&cfg);
                for _ in 0..n {
                    let f = c.elem()?;
                    h.add(f, c.elem()?);
                }
                done(n, h.finish(&cfg))
            }
            t::HASH_METADATA_PRE_GA if valkey => {
                // Valkey 9 HASH_2: n × (field, value, ms64 expire or -1).
                let n = c.len()?;
                let mut h = HashMem::default();
                let mut ttls = 0;
                for _ in 0..n {
                    let f = c.elem()?;
                    let v = c.elem()?;
                    let at = c.pos;
                    let exp = i64::from_le_bytes(c.take(8)?.try_into().unwrap_or_default());
                    if exp < -1 {
                        return err(at, format!("invalid field expire time {exp}"));
                    }
                    ttls += u64::from(exp != -1);
                    h.add(f, v);
                }
                Ok(Partial::Done(Measure {
                    elements: n,
                    field_ttls: ttls,
                    mem: h.hashtable(),
                    bytes: 0,
                }))
            }
            t::HASH_METADATA_PRE_GA | t::HASH_METADATA => {
                if ty == t::HASH_METADATA {
                    c.take(8)?;
                }
                let n = c.len()?;
                let mut h = HashMem::default();
                let mut ttls = 0;
                for _ in 0..n {
                    ttls += u64::from(c.len()? != 0);
                    let f = c.elem()?;
                    let v = c.elem()?;
                    h.add(f, v);
                }
                Ok(Partial::Done(Measure {
                    elements: n,
                    field_ttls: ttls,
                    mem: h.hashtable(),
                    bytes: 0,
                }))
            }
            t::MODULE_2 => Ok(Partial::Module(Measure {
                elements: 1,
                field_ttls: 0,
                mem: memory::module(v.len() as u64),
                bytes: v.len() as u64,
            })),
            t::HASH_ZIPMAP
            | t::LIST_ZIPLIST
            | t::SET_INTSET
            | t::ZSET_ZIPLIST
            | t::HASH_ZIPLIST
            | t::HASH_LISTPACK
            | t::ZSET_LISTPACK
            | t::SET_LISTPACK
            | t::HASH_LISTPACK_EX_PRE_GA
            | t::HASH_LISTPACK_EX => {
                if ty == t::HASH_LISTPACK_EX {
                    c.take(8)?;
                }
                let at = c.pos;
                let s = c.string()?;
                let b = Self::blob(s, at)?;
                self.measure_blob(ty, &b, at).map(Partial::Done)
            }
            t::LIST_QUICKLIST | t::LIST_QUICKLIST_2 => {
                let nodes = c.len()?;
                let mut q = QuicklistMem::default();
                let mut elements = 0;
                for _ in 0..nodes {
                    let container = if ty == t::LIST_QUICKLIST_2 {
                        c.len()?
                    } else {
                        2
                    };
                    let at = c.pos;
                    let s = c.string()?;
                    let b = Self::blob(s, at)?;
                    if container == 1 {
                        // PLAIN: one element, kept as stored.
                        elements += 1;
                        q.node(Self::blob_len(&b));
                    } else if ty == t::LIST_QUICKLIST_2 {
                        let n = self.lp_count(&b, at)?;
                        // Empty listpacks are skipped by the loader.
                        if n > 0 {
                            elements += n;
                            q.node(Self::blob_len(&b));
                        }
                    } else {
                        // A ziplist node: rewritten as a listpack.
                        self.parse_blob(&b, at, compact::ziplist::parse)?;
                        if !self.vals.is_empty() {
                            elements += self.vals.len() as u64;
                            q.node(self.lp_bytes_of_vals());
                        }
                    }
                }
                done(elements, q.finish())
            }
            t::STREAM_LISTPACKS
            | t::STREAM_LISTPACKS_2
            | t::STREAM_LISTPACKS_3
            | t::STREAM_LISTPACKS_4 => {
                // The nodes only: the reader's events give the rest (type 26's
                // IDMP trailer included).
                let nodes = c.len()?;
                let mut s = StreamMem::default();
                for _ in 0..nodes {
                    let at = c.pos;
                    let key = match c.string()? {
                        RStr::Bytes(k) if k.len() == 16 => {
                            let mut a = [0u8; 16];
                            a.copy_from_slice(k);
                            a
                        }
                        _ => return err(at, "stream node key is not 16 bytes"),
                    };
                    let at = c.pos;
                    let lp = c.string()?;
                    let b = Self::blob(lp, at)?;
                    s.node(&key, Self::blob_len(&b));
                }
                Ok(Partial::Stream(Box::new(s)))
            }
            _ => err(0, format!("unsupported type {ty}")),
        }
    }

    fn measure_blob(&mut self, ty: u8, b: &Blob<'_>, at: usize) -> Res<Measure> {
        let cfg = self.cfg;
        let len = Self::blob_len(b);
        let m = |elements: u64, mem: Estimate| Measure {
            elements,
            field_ttls: 0,
            mem,
            bytes: 0,
        };
        Ok(match ty {
            t::SET_INTSET => {
                let h = Self::head::<8>(b, at)?;
                let n = u64::from(u32::from_le_bytes([h[4], h[5], h[6], h[7]]));
                if n <= cfg.set_max_intset_entries {
                    m(n, memory::intset(len))
                } else {
                    self.parse_blob(b, at, compact::intset::parse)?;
                    let mut s = SetMem::default();
                    for i in 0..self.vals.len() {
                        s.add(self.val(i));
                    }
                    m(n, s.hashtable())
                }
            }
            t::HASH_LISTPACK => {
                let n = self.lp_count(b, at)? / 2;
                if n <= cfg.hash_max_listpack_entries {
                    m(n, memory::listpack(len))
                } else {
                    self.parse_blob(b, at, compact::listpack::parse)?;
                    m(n, self.hash_of_vals(2).hashtable())
                }
            }
            t::ZSET_LISTPACK => {
                let n = self.lp_count(b, at)? / 2;
                if n <= cfg.zset_max_listpack_entries {
                    m(n, memory::listpack(len))
                } else {
                    self.parse_blob(b, at, compact::listpack::parse)?;
                    m(n, self.zset_of_vals().skiplist_converted())
                }
            }
            t::SET_LISTPACK => {
                let n = self.lp_count(b, at)?;
                if n <= cfg.set_max_listpack_entries {
                    m(n, memory::listpack(len))
                } else {
                    self.parse_blob(b, at, compact::listpack::parse)?;
                    let mut s = SetMem::default();
                    for i in 0..self.vals.len() {
                        s.add(self.val(i));
                    }
                    m(n, s.finish(&cfg))
                }
            }
            t::HASH_LISTPACK_EX_PRE_GA | t::HASH_LISTPACK_EX => {
                // field, value, ttl triples: the TTLs need a walk.
                self.parse_blob(b, at, compact::listpack::parse)?;
                let n = self.vals.len() as u64 / 3;
                let ttls = (2..self.vals.len())
                    .step_by(3)
                    .filter(|&i| self.val(i).as_int().is_some_and(|x| x != 0))
                    .count() as u64;
                let mem = if n <= cfg.hash_max_listpack_entries {
                    // listpackEx: the robj, a 32-byte struct and the listpack.
                    Estimate {
                        encoding: "listpackex",
                        value: memory::ROBJ + 32 + memory::alloc_size(len),
                        dict_entries: 0,
                    }
                } else {
                    self.hash_of_vals(3).hashtable()
                };
                Measure {
                    elements: n,
                    field_ttls: ttls,
                    mem,
                    bytes: 0,
                }
            }
            t::HASH_ZIPMAP => {
                self.parse_blob(b, at, compact::zipmap::parse)?;
                let h = self.hash_of_vals(2);
                m(h.len(), h.finish(&cfg))
            }
            t::HASH_ZIPLIST => {
                self.parse_blob(b, at, compact::ziplist::parse)?;
                let h = self.hash_of_vals(2);
                let n = h.len();
                if n > cfg.hash_max_listpack_entries {
                    m(n, h.hashtable())
                } else {
                    m(n, memory::listpack(h.listpack_bytes()))
                }
            }
            t::ZSET_ZIPLIST => {
                self.parse_blob(b, at, compact::ziplist::parse)?;
                let z = self.zset_of_vals();
                let n = self.vals.len() as u64 / 2;
                if n > cfg.zset_max_listpack_entries {
                    m(n, z.skiplist_converted())
                } else {
                    m(n, memory::listpack(z.listpack_bytes()))
                }
            }
            t::LIST_ZIPLIST => {
                self.parse_blob(b, at, compact::ziplist::parse)?;
                let mut l = ListPushMem::new(&cfg);
                for i in 0..self.vals.len() {
                    l.push(self.val(i));
                }
                m(self.vals.len() as u64, l.finish())
            }
            _ => return err(at, format!("type {ty} is not an encoded value")),
        })
    }

    /// A hash from parsed entries taken `step` at a time (field, value, …).
    fn hash_of_vals(&self, step: usize) -> HashMem {
        let mut h = HashMem::default();
        let mut i = 0;
        while i + 1 < self.vals.len() {
            h.add(self.val(i), self.val(i + 1));
            i += step;
        }
        h
    }

    /// A zset from parsed (member, score) entries.
    fn zset_of_vals(&self) -> ZsetMem {
        let mut z = ZsetMem::for_entries();
        let mut i = 0;
        while i + 1 < self.vals.len() {
            z.add_entry(self.val(i), self.val(i + 1));
            i += 2;
        }
        z
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lzf_head_reads_literals_and_back_references() {
        // "abcabcabcX": literal "abc", back-reference of 6 at distance 3,
        // literal "X".
        let data = [2, b'a', b'b', b'c', (4 << 5), 2, 0, b'X'];
        let mut full = Vec::new();
        crate::rdb::lzf::decompress_into(&data, 10, &mut full).unwrap();
        full.truncate(10);
        assert_eq!(full, b"abcabcabcX");
        for n in 1..=10 {
            let mut h = vec![0u8; n];
            lzf_head(&data, &mut h).unwrap();
            assert_eq!(h, &full[..n]);
        }
        let mut h = [0u8; 11];
        assert!(lzf_head(&data, &mut h).is_none());
        // A reference before the start.
        assert!(lzf_head(&[(1 << 5), 5], &mut [0u8; 3]).is_none());
    }

    #[test]
    fn str_len_agrees_with_elem_on_every_string_encoding() {
        let mut bytes = Vec::new();
        let long = vec![b'z'; 300];
        // 6-bit, 14-bit and 32-bit lengths, int8/16/32, LZF.
        bytes.extend_from_slice(&[3, b'a', b'b', b'c']);
        bytes.extend_from_slice(&[0x41, 0x2c]);
        bytes.extend_from_slice(&long);
        bytes.extend_from_slice(&[0x80, 0, 0, 0, 2, b'x', b'y']);
        bytes.extend_from_slice(&[0xc0, 0xff]);
        bytes.extend_from_slice(&[0xc1, 0x00, 0x80]);
        bytes.extend_from_slice(&[0xc2, 0x00, 0x00, 0x00, 0x80]);
        bytes.extend_from_slice(&[0xc3, 0x05, 0x20, 0x03, b'a', b'b', b'c', b'd']);
        let (mut a, mut b) = (Cur { b: &bytes, pos: 0 }, Cur { b: &bytes, pos: 0 });
        let mut lens = Vec::new();
        while a.pos < bytes.len() {
            let n = a.str_len().unwrap();
            assert_eq!(n, b.elem().unwrap().len());
            assert_eq!(a.pos, b.pos);
            lens.push(n);
        }
        assert_eq!(lens, [3, 300, 2, 2, 6, 11, 32]);
        // Every truncation is an error, never a panic.
        for cut in 0..bytes.len() {
            let mut c = Cur {
                b: &bytes[..cut],
                pos: 0,
            };
            while c.pos < cut {
                if c.str_len().is_err() {
                    break;
                }
            }
        }
    }

    #[test]
    fn truncated_values_are_errors_not_panics() {
        let mut w = Walker::new(Config::default(), Format::Redis);
        // A hash of 3 fields with only one present.
        let v = [3u8, 1, b'a', 1, b'b'];
        for ty in 0..=30u8 {
            for cut in 0..=v.len() {
                let _ = w.measure(ty, &v[..cut]);
            }
        }
        assert!(w.measure(t::HASH, &v).is_err());
        assert!(w.measure(t::STRING, &[0x80, 0, 0, 0, 9]).is_err());
    }

    #[test]
    fn strings_and_small_collections() {
        let mut w = Walker::new(Config::default(), Format::Redis);
        let m = |p: Partial| match p {
            Partial::Done(m) => m,
            other => panic!("{other:?}"),
        };
        // int8-encoded string.
        let s = m(w.measure(t::STRING, &[0xc0, 7]).unwrap());
        assert_eq!((s.elements, s.mem.encoding, s.mem.value), (1, "int", 16));
        // Text that is an integer.
        let s = m(w.measure(t::STRING, b"\x0b12345678901").unwrap());
        assert_eq!(s.mem.encoding, "int");
        // A hashtable set of small ints becomes an intset.
        let s = m(w.measure(t::SET, &[2, 0xc0, 1, 0xc1, 0, 1]).unwrap());
        assert_eq!((s.elements, s.mem.encoding, s.mem.value), (2, "intset", 32));
        // A set with a string stays a hashtable.
        let s = m(w.measure(t::SET, &[2, 0xc0, 1, 1, b'x']).unwrap());
        assert_eq!(s.mem.encoding, "hashtable");
        assert_eq!(s.mem.value, 16 + 56 + 32 + 2 * 24 + 2 * 8);
    }
}
