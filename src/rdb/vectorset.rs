//! Redis 8 vector sets (the built-in `vectorset` module, module type 7,
//! encoding version 0; FORMATS.md §8.5): decoding a module value's annotated
//! data into a [`VectorSet`] with every check Redis' loader makes, the views the
//! server reports (`VEMB`, `VCARD`, `VDIM`, `VINFO`), and encoding a set back
//! into module data the server loads.
//!
//! The data is walked from a byte slice (the module value as the reader keeps
//! it, [`crate::model::ModuleValue::raw`]): every length is checked against the
//! bytes left before anything is allocated, so memory stays within a small
//! multiple of the value's size, and no input makes the decoder panic.

use std::collections::{HashMap, HashSet};
use std::fmt;

use super::lzf;

/// The module type id of `vectorset` with encoding version 0
/// (`moduleTypeEncodeId`). The loader matches the upper 54 bits only.
pub const MODULE_ID: u64 = 0xBDE7_2DA2_BB1E_B400;

/// The default HNSW M (`VADD` without `M`, and an M of 0 in the file).
pub const DEFAULT_M: u32 = 16;

/// Largest M `hnsw_new` keeps (larger values are clamped).
pub const MAX_M: u32 = 4096;

/// Largest `max_links` the loader accepts for a layer.
pub const MAX_LINKS: u64 = 4 * 4096;

/// Largest dimension Redis 8.6 loads (and largest REDUCE input dimension).
pub const MAX_DIM: u32 = 65536;

/// True when `module_id` is the `vectorset` module type (any encoding version).
pub fn is_vectorset(module_id: u64) -> bool {
    module_id >> 10 == MODULE_ID >> 10
}

/// How vectors are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quant {
    /// Normalized float32 components (`NOQUANT`, VINFO `f32`).
    NoQuant,
    /// int8 quants scaled by the node's range (`Q8`, VINFO `int8`).
    Q8,
    /// One sign bit per component (`BIN`, VINFO `bin`).
    Bin,
}

impl Quant {
    /// From the file's quant byte.
    pub fn from_code(c: u8) -> Option<Self> {
        match c {
            0 => Some(Self::NoQuant),
            1 => Some(Self::Q8),
            2 => Some(Self::Bin),
            _ => None,
        }
    }

    /// The file's quant byte.
    pub fn code(self) -> u8 {
        match self {
            Self::NoQuant => 0,
            Self::Q8 => 1,
            Self::Bin => 2,
        }
    }

    /// The name VINFO reports (`f32`, `int8`, `bin`).
    pub fn info_name(self) -> &'static str {
        match self {
            Self::NoQuant => "f32",
            Self::Q8 => "int8",
            Self::Bin => "bin",
        }
    }

    /// The `VADD` option selecting it.
    pub fn vadd_flag(self) -> &'static str {
        match self {
            Self::NoQuant => "NOQUANT",
            Self::Q8 => "Q8",
            Self::Bin => "BIN",
        }
    }

    /// Bytes of one stored vector of `dim` components (`hnsw_quants_bytes`).
    pub fn vector_bytes(self, dim: u32) -> u64 {
        let dim = u64::from(dim);
        match self {
            Self::NoQuant => 4 * dim,
            Self::Q8 => dim,
            Self::Bin => dim.div_ceil(64) * 8,
        }
    }
}

/// The REDUCE projection: `dim` rows of `input_dim` float32 columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    /// Dimension of the vectors given to `VADD`.
    pub input_dim: u32,
    /// The matrix bytes as stored (row-major little-endian float32; may be
    /// longer than `4 * input_dim * dim` in files that Redis 8.0 loads).
    pub matrix: Vec<u8>,
}

impl Projection {
    /// Matrix entry (`row`, `col`), when stored.
    pub fn get(&self, row: usize, col: usize) -> Option<f32> {
        let i = (row * self.input_dim as usize + col) * 4;
        let b = self.matrix.get(i..i + 4)?;
        Some(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// One HNSW layer of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Link capacity.
    pub max_links: u64,
    /// Neighbour node ids.
    pub links: Vec<u64>,
    /// The worst-link word (`distance bits << 32 | index`), serialization
    /// version 1 only.
    pub worst: Option<u64>,
}

/// One element of a vector set, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// The element name.
    pub name: Vec<u8>,
    /// The attribute string; empty means none (the loader drops empty ones).
    pub attributes: Vec<u8>,
    /// The stored (normalized, quantized) vector bytes.
    pub vector: Vec<u8>,
    /// L2 norm of the input before normalization.
    pub l2: f32,
    /// Q8 range (meaningless for the other quantizations).
    pub range: f32,
    /// The high 32 bits of the last params word as stored (the bits of
    /// `range`; leftover heap bytes for NOQUANT and BIN).
    pub range_bits: u32,
    /// HNSW node id.
    pub id: u64,
    /// HNSW level.
    pub level: u8,
    /// Serialization version of the node's params (0 or 1).
    pub version: u8,
    /// Layers 0 ..= level.
    pub layers: Vec<Layer>,
}

/// A decoded vector set.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSet {
    /// Stored (reduced) dimension.
    pub dim: u32,
    /// Quantization.
    pub quant: Quant,
    /// HNSW M as stored (0 means 16).
    pub m: u32,
    /// The REDUCE projection, if any.
    pub projection: Option<Projection>,
    /// Elements in file order.
    pub elements: Vec<Element>,
}

/// The `VINFO` fields derivable from the file (all but `vset-uid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// `quant-type`.
    pub quant_type: &'static str,
    /// `hnsw-m`.
    pub hnsw_m: u32,
    /// `vector-dim`.
    pub vector_dim: u32,
    /// `projection-input-dim`.
    pub projection_input_dim: u32,
    /// `size`.
    pub size: u64,
    /// `max-level`.
    pub max_level: u8,
    /// `attributes-count`.
    pub attributes_count: u64,
    /// `hnsw-max-node-uid`.
    pub hnsw_max_node_uid: u64,
}

impl Info {
    /// The fields as (VINFO name, value) pairs, in VINFO order.
    pub fn fields(&self) -> [(&'static str, InfoValue); 8] {
        [
            ("quant-type", InfoValue::Text(self.quant_type)),
            ("hnsw-m", InfoValue::Int(u64::from(self.hnsw_m))),
            ("vector-dim", InfoValue::Int(u64::from(self.vector_dim))),
            (
                "projection-input-dim",
                InfoValue::Int(u64::from(self.projection_input_dim)),
            ),
            ("size", InfoValue::Int(self.size)),
            ("max-level", InfoValue::Int(u64::from(self.max_level))),
            ("attributes-count", InfoValue::Int(self.attributes_count)),
            ("hnsw-max-node-uid", InfoValue::Int(self.hnsw_max_node_uid)),
        ]
    }
}

/// One VINFO value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoValue {
    /// A text value.
    Text(&'static str),
    /// An integer value.
    Int(u64),
}

impl VectorSet {
    /// The M the server uses (`hnsw-m`): 0 becomes 16, above 4096 is clamped.
    pub fn effective_m(&self) -> u32 {
        match self.m {
            0 => DEFAULT_M,
            m => m.min(MAX_M),
        }
    }

    /// `VCARD`.
    pub fn card(&self) -> u64 {
        self.elements.len() as u64
    }

    /// The VINFO fields.
    pub fn info(&self) -> Info {
        Info {
            quant_type: self.quant.info_name(),
            hnsw_m: self.effective_m(),
            vector_dim: self.dim,
            projection_input_dim: self.projection.as_ref().map_or(0, |p| p.input_dim),
            size: self.card(),
            max_level: self.elements.iter().map(|e| e.level).max().unwrap_or(0),
            attributes_count: self
                .elements
                .iter()
                .filter(|e| !e.attributes.is_empty())
                .count() as u64,
            hnsw_max_node_uid: self.elements.iter().map(|e| e.id).max().unwrap_or(0),
        }
    }

    /// `VEMB` of one element (FORMATS.md §8.5.8.1): the float32 values the
    /// server computes, in the reduced space for a REDUCE set.
    pub fn vemb(&self, e: &Element) -> Vec<f32> {
        let dim = self.dim as usize;
        match self.quant {
            Quant::NoQuant => e
                .vector
                .chunks_exact(4)
                .take(dim)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * e.l2)
                .collect(),
            Quant::Q8 => e
                .vector
                .iter()
                .take(dim)
                .map(|&q| {
                    let t = f32::from(q as i8) * e.range;
                    let t = t / 127.0f32;
                    t * e.l2
                })
                .collect(),
            Quant::Bin => (0..dim)
                .map(|j| {
                    let set = e.vector.get(j >> 3).is_some_and(|b| b >> (j & 7) & 1 == 1);
                    if set { 1.0 } else { -1.0 }
                })
                .collect(),
        }
    }

    /// Elements in ascending node id order (the order `VADD` re-creates them in).
    pub fn by_id(&self) -> Vec<&Element> {
        let mut v: Vec<&Element> = self.elements.iter().collect();
        v.sort_by_key(|e| e.id);
        v
    }
}

/// Whether a decoding failure is corruption or a newer format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The loader refuses the value: it is corrupt.
    Corrupt,
    /// A newer encoding (an encoding version, quantization or params
    /// serialization version this reader does not know).
    Unsupported,
}

/// Why a value is not a vector set the server loads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Error {
    /// Offset in the module data (after the module id) where it was found.
    pub offset: usize,
    /// Corrupt or unsupported.
    pub kind: ErrorKind,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::Corrupt => write!(f, "vector set: {}", self.message),
            ErrorKind::Unsupported => write!(f, "unsupported vector set: {}", self.message),
        }
    }
}

type Res<T> = Result<T, Error>;

/// RDB length: a plain length or the low bits of a special string encoding.
enum Len {
    Plain(u64),
    Special(u8),
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn err(at: usize, message: impl Into<String>) -> Error {
        Error {
            offset: at,
            kind: ErrorKind::Corrupt,
            message: message.into(),
        }
    }

    fn left(&self) -> usize {
        self.data.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Res<&'a [u8]> {
        if n > self.left() {
            return Err(Self::err(
                self.pos,
                format!("{what} needs {n} bytes, {} left in the value", self.left()),
            ));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn len(&mut self, what: &str) -> Res<Len> {
        let b = self.take(1, what)?[0];
        Ok(match b >> 6 {
            0 => Len::Plain(u64::from(b & 63)),
            1 => {
                let c = self.take(1, what)?[0];
                Len::Plain((u64::from(b & 63) << 8) | u64::from(c))
            }
            2 => match b {
                0x80 => {
                    let s = self.take(4, what)?;
                    Len::Plain(u64::from(u32::from_be_bytes([s[0], s[1], s[2], s[3]])))
                }
                0x81 => {
                    let s = self.take(8, what)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(s);
                    Len::Plain(u64::from_be_bytes(a))
                }
                _ => {
                    return Err(Self::err(
                        self.pos - 1,
                        format!("invalid length encoding 0x{b:02x} in {what}"),
                    ));
                }
            },
            _ => Len::Special(b & 63),
        })
    }

    fn opcode(&mut self, want: u64, what: &str) -> Res<()> {
        let at = self.pos;
        let op = match self.len(what)? {
            Len::Plain(n) => n,
            Len::Special(x) => u64::from(0xc0 | x),
        };
        if op != want {
            let name = |o: u64| match o {
                0 => "EOF",
                1 => "SINT",
                2 => "UINT",
                3 => "FLOAT",
                4 => "DOUBLE",
                5 => "STRING",
                _ => "unknown",
            };
            return Err(Self::err(
                at,
                format!(
                    "{what}: module opcode {op} ({}) where {} was expected",
                    name(op),
                    name(want)
                ),
            ));
        }
        Ok(())
    }

    fn uint(&mut self, what: &str) -> Res<u64> {
        self.opcode(2, what)?;
        let at = self.pos;
        match self.len(what)? {
            Len::Plain(n) => Ok(n),
            Len::Special(_) => Err(Self::err(at, format!("{what}: invalid integer encoding"))),
        }
    }

    fn string(&mut self, what: &str) -> Res<Vec<u8>> {
        self.opcode(5, what)?;
        let at = self.pos;
        match self.len(what)? {
            Len::Plain(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                Ok(self.take(n, what)?.to_vec())
            }
            Len::Special(0) => Ok((self.take(1, what)?[0] as i8).to_string().into_bytes()),
            Len::Special(1) => {
                let s = self.take(2, what)?;
                Ok(i16::from_le_bytes([s[0], s[1]]).to_string().into_bytes())
            }
            Len::Special(2) => {
                let s = self.take(4, what)?;
                Ok(i32::from_le_bytes([s[0], s[1], s[2], s[3]])
                    .to_string()
                    .into_bytes())
            }
            Len::Special(3) => {
                let plain = |c: &mut Self| -> Res<u64> {
                    Ok(match c.len(what)? {
                        Len::Plain(n) => n,
                        Len::Special(x) => u64::from(x),
                    })
                };
                let clen = plain(self)?;
                let ulen = plain(self)?;
                let input = self.take(usize::try_from(clen).unwrap_or(usize::MAX), what)?;
                if ulen == 0 {
                    return Ok(Vec::new());
                }
                let ulen = usize::try_from(ulen).unwrap_or(usize::MAX);
                // Checked without output first: the declared length is only
                // allocated once the compressed data is known to produce it.
                lzf::validate(input, ulen)
                    .map_err(|e| Self::err(at, format!("{what}: invalid LZF string: {e}")))?;
                let mut out = Vec::new();
                lzf::decompress_into(input, ulen, &mut out)
                    .map_err(|e| Self::err(at, format!("{what}: invalid LZF string: {e}")))?;
                Ok(out)
            }
            Len::Special(x) => Err(Self::err(
                at,
                format!("{what}: unknown string encoding 0x{:02x}", 0xc0 | x),
            )),
        }
    }
}

/// Decodes the module data of a vector set (`data`: the annotated fields after
/// the module id, through the EOF opcode) with the checks of Redis' loader
/// (FORMATS.md §8.5.7.1). `encver` is the id's encoding version; `rdb_version`
/// the version of the file or payload: from 13 (Redis 8.6) the dimension and
/// projection checks of 8.6 apply.
pub fn decode(encver: u16, data: &[u8], rdb_version: u32) -> Result<VectorSet, Error> {
    let strict = rdb_version >= 13;
    if encver != 0 {
        return Err(Error {
            offset: 0,
            kind: ErrorKind::Unsupported,
            message: format!("encoding version {encver} (Redis 8.0 and 8.6 know only 0)"),
        });
    }
    let mut c = Cursor { data, pos: 0 };
    let at = c.pos;
    let dim = c.uint("the dimension")? as u32;
    if strict && !(1..=MAX_DIM).contains(&dim) {
        return Err(Cursor::err(
            at,
            format!("invalid vector dimension {dim} (Redis 8.6 loads 1..65536)"),
        ));
    }
    let count = c.uint("the element count")?;
    let at = c.pos;
    let config = c.uint("the HNSW config")? as u32;
    let Some(quant) = Quant::from_code((config & 0xff) as u8) else {
        return Err(Error {
            offset: at,
            kind: ErrorKind::Unsupported,
            message: format!("quantization type {} (known: 0, 1, 2)", config & 0xff),
        });
    };
    let m = (config >> 8) & 0xffff;
    let flags = c.uint("the save flags")?;
    let projection = if flags & 1 != 0 {
        let at = c.pos;
        let input_dim = c.uint("the projection input dimension")? as u32;
        if strict && (input_dim == 0 || input_dim > MAX_DIM || dim > input_dim) {
            return Err(Cursor::err(
                at,
                format!(
                    "invalid projection matrix dimensions: {dim} from {input_dim} (Redis 8.6 \
                     needs 1 <= dimension <= input dimension <= 65536)"
                ),
            ));
        }
        let at = c.pos;
        let matrix = c.string("the projection matrix")?;
        let need = 4 * u64::from(input_dim) * u64::from(dim);
        let ok = if strict {
            matrix.len() as u64 == need
        } else {
            // Redis 8.0 copies `need` bytes whatever the blob's length: a
            // shorter blob is read past its end.
            matrix.len() as u64 >= need
        };
        if !ok {
            return Err(Cursor::err(
                at,
                format!(
                    "projection matrix of {} bytes where {dim} x {input_dim} float32 take {need}",
                    matrix.len()
                ),
            ));
        }
        Some(Projection { input_dim, matrix })
    } else {
        None
    };
    let has_attribs = flags & 2 != 0;
    let vbytes = quant.vector_bytes(dim);
    let mut elements = Vec::new();
    let mut last_id = 0u64;
    for i in 0..count {
        let name = c.string("an element name")?;
        let attributes = if has_attribs {
            c.string("an element's attributes")?
        } else {
            Vec::new()
        };
        let at = c.pos;
        let vector = c.string("an element's vector")?;
        if vector.len() as u64 != vbytes {
            return Err(Cursor::err(
                at,
                format!(
                    "mismatching vector dimension: element {i} has {} vector bytes where {} \
                     dimension {dim} takes {vbytes}",
                    vector.len(),
                    quant.vadd_flag()
                ),
            ));
        }
        let mut e = read_node(&mut c, i, name, attributes, vector)?;
        // `hnsw_node_new`: id 0 means "the next id".
        if e.id == 0 {
            e.id = last_id + 1;
        }
        last_id = last_id.max(e.id);
        elements.push(e);
    }
    let at = c.pos;
    if c.opcode(0, "the end of the vector set").is_err() {
        return Err(Cursor::err(
            at,
            "module data not terminated by the module EOF marker after the last element",
        ));
    }
    if c.left() > 0 {
        return Err(Cursor::err(c.pos, "bytes after the module EOF marker"));
    }
    check_links(&elements)?;
    Ok(VectorSet {
        dim,
        quant,
        m,
        projection,
        elements,
    })
}

/// Reads `params_count` and the params of one node (`hnsw_insert_serialized`).
fn read_node(
    c: &mut Cursor<'_>,
    i: u64,
    name: Vec<u8>,
    attributes: Vec<u8>,
    vector: Vec<u8>,
) -> Res<Element> {
    let at = c.pos;
    let n = c.uint("a node's params count")? as u32;
    // Every UINT takes at least 2 bytes: bound the count before allocating.
    if u64::from(n) * 2 > c.left() as u64 {
        return Err(Cursor::err(
            at,
            format!(
                "element {i}: {n} params do not fit in the {} bytes left",
                c.left()
            ),
        ));
    }
    let mut p = Vec::with_capacity(n as usize);
    for _ in 0..n {
        p.push(c.uint("a node param")?);
    }
    let bad = |m: String| Cursor::err(at, format!("element {i}: {m}"));
    if p.len() < 2 {
        return Err(bad(format!("{} params, at least 2 needed", p.len())));
    }
    let id = p[0];
    let version = (p[1] >> 24) as u32;
    let level = (p[1] & 0xff) as u8;
    if version > 1 {
        return Err(Error {
            offset: at,
            kind: ErrorKind::Unsupported,
            message: format!("element {i}: node serialization version {version} (known: 0, 1)"),
        });
    }
    let mut k = 2usize;
    let mut layers = Vec::with_capacity(usize::from(level) + 1);
    for layer in 0..=usize::from(level) {
        if p.len() - k < 2 {
            return Err(bad(format!("params end inside layer {layer}")));
        }
        // Both are `uint32_t` in the loader (truncated).
        let (num, max) = (p[k] & 0xffff_ffff, p[k + 1] & 0xffff_ffff);
        k += 2;
        if num > max || max > MAX_LINKS {
            return Err(bad(format!(
                "layer {layer}: {num} links of at most {max} (the limit is {MAX_LINKS})"
            )));
        }
        let num = num as usize;
        let extra = usize::from(version == 1);
        if p.len() - k < num + extra {
            return Err(bad(format!("params end inside the links of layer {layer}")));
        }
        let links = p[k..k + num].to_vec();
        k += num;
        let worst = if version == 1 {
            let w = p[k];
            k += 1;
            if num > 0 && (w & 0xffff_ffff) as usize >= num {
                return Err(bad(format!(
                    "layer {layer}: worst link index {} of {num} links",
                    w & 0xffff_ffff
                )));
            }
            Some(w)
        } else {
            None
        };
        layers.push(Layer {
            max_links: max,
            links,
            worst,
        });
    }
    let Some(&last) = p.get(k) else {
        return Err(bad("no l2/range word after the layers".into()));
    };
    Ok(Element {
        name,
        attributes,
        vector,
        l2: f32::from_bits(last as u32),
        range: f32::from_bits((last >> 32) as u32),
        range_bits: (last >> 32) as u32,
        id,
        level,
        version: version as u8,
        layers,
    })
}

/// The link checks of `hnsw_deserialize_index`: no duplicate or self link in a
/// layer, every target exists at that layer, every link is reciprocal.
fn check_links(elements: &[Element]) -> Res<()> {
    let level_of: HashMap<u64, u8> = elements.iter().map(|e| (e.id, e.level)).collect();
    let mut edges: HashSet<(u64, u64, usize)> = HashSet::new();
    let bad = |e: &Element, layer: usize, m: String| Error {
        offset: 0,
        kind: ErrorKind::Corrupt,
        message: format!(
            "node {} ({}) layer {layer}: {m}",
            e.id,
            super::escape_short(&e.name)
        ),
    };
    for e in elements {
        for (layer, l) in e.layers.iter().enumerate() {
            let mut seen = HashSet::with_capacity(l.links.len());
            for &t in &l.links {
                if t == e.id {
                    return Err(bad(e, layer, "links to itself".into()));
                }
                if !seen.insert(t) {
                    return Err(bad(e, layer, format!("duplicate link to node {t}")));
                }
                match level_of.get(&t) {
                    None => return Err(bad(e, layer, format!("link to missing node {t}"))),
                    Some(&lv) if usize::from(lv) < layer => {
                        return Err(bad(
                            e,
                            layer,
                            format!("link to node {t} whose level is {lv}"),
                        ));
                    }
                    _ => {}
                }
                edges.insert((e.id, t, layer));
            }
        }
    }
    for e in elements {
        for (layer, l) in e.layers.iter().enumerate() {
            for &t in &l.links {
                if !edges.contains(&(t, e.id, layer)) {
                    return Err(bad(e, layer, format!("link to node {t} is not reciprocal")));
                }
            }
        }
    }
    Ok(())
}

/// Appends an RDB length (shortest form, `rdbSaveLen`).
fn put_len(out: &mut Vec<u8>, n: u64) {
    if n < 64 {
        out.push(n as u8);
    } else if n < 16384 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if let Ok(n) = u32::try_from(n) {
        out.push(0x80);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn put_uint(out: &mut Vec<u8>, n: u64) {
    out.push(2);
    put_len(out, n);
}

/// A STRING field, always in raw form (the loader accepts it whatever the bytes).
fn put_string(out: &mut Vec<u8>, b: &[u8]) {
    out.push(5);
    put_len(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Encodes a set as module data (the fields after the module id, through the
/// EOF opcode) in the layout of `VectorSetRdbSave`, with each node's graph as
/// it is in `vs` (FORMATS.md §8.5.3, §8.5.5). Strings are written raw.
pub fn encode(vs: &VectorSet) -> Vec<u8> {
    let mut out = Vec::new();
    put_uint(&mut out, u64::from(vs.dim));
    put_uint(&mut out, vs.card());
    put_uint(
        &mut out,
        u64::from(vs.quant.code()) | (u64::from(vs.m & 0xffff) << 8),
    );
    let has_attribs = vs.elements.iter().any(|e| !e.attributes.is_empty());
    let flags = u64::from(vs.projection.is_some()) | (u64::from(has_attribs) << 1);
    put_uint(&mut out, flags);
    if let Some(p) = &vs.projection {
        put_uint(&mut out, u64::from(p.input_dim));
        put_string(&mut out, &p.matrix);
    }
    let mut params = Vec::new();
    for e in &vs.elements {
        put_string(&mut out, &e.name);
        if has_attribs {
            put_string(&mut out, &e.attributes);
        }
        put_string(&mut out, &e.vector);
        params.clear();
        params.push(e.id);
        params.push((u64::from(e.version) << 24) | u64::from(e.level));
        for l in &e.layers {
            params.push(l.links.len() as u64);
            params.push(l.max_links);
            params.extend_from_slice(&l.links);
            if e.version >= 1 {
                params.push(l.worst.unwrap_or(0));
            }
        }
        params.push((u64::from(e.range_bits) << 32) | u64::from(e.l2.to_bits()));
        put_uint(&mut out, params.len() as u64);
        for &p in &params {
            put_uint(&mut out, p);
        }
    }
    out.push(0);
    out
}

/// Replaces the graph of `vs` with the simplest one the server loads
/// (FORMATS.md §8.5.10): every node at level 0, linked to every other node,
/// with version-0 params (the loader computes the worst links). Fails when
/// the set has more elements than one layer can link (16385).
pub fn synthesize_graph(vs: &mut VectorSet) -> Result<(), String> {
    let n = vs.elements.len() as u64;
    if n > MAX_LINKS + 1 {
        return Err(format!(
            "{n} elements: a synthesized single-layer graph links at most {} (max_links {MAX_LINKS})",
            MAX_LINKS + 1
        ));
    }
    let ids: Vec<u64> = vs.elements.iter().map(|e| e.id).collect();
    let max_links = (n.saturating_sub(1)).max(2 * u64::from(vs.effective_m()));
    let max_links = max_links.min(MAX_LINKS);
    for e in &mut vs.elements {
        e.level = 0;
        e.version = 0;
        e.layers = vec![Layer {
            max_links,
            links: ids.iter().copied().filter(|&i| i != e.id).collect(),
            worst: None,
        }];
    }
    Ok(())
}

/// Decodes a module value read from a file of RDB `version` when it is a
/// vector set (`None` for other module types), with that version's loader
/// checks: what `check-rdb` and `salvage` hold a module value to.
pub fn from_module_ref(m: &super::ModuleRef<'_>, version: u32) -> Option<Result<VectorSet, Error>> {
    is_vectorset(m.module_id).then(|| decode(m.encver, m.data, version))
}

/// Decodes a module value when it is a vector set (`None` for other module
/// types). The checks are Redis 8.0's (the lenient loader): `check-rdb`
/// applies the file version's own.
pub fn from_module(m: &crate::model::ModuleValue) -> Option<Result<VectorSet, Error>> {
    is_vectorset(m.module_id).then(|| decode(m.encver, &m.raw, 12))
}

/// The text of a float32 VEMB component: the shortest decimal that parses back
/// to the same value (as a double, the way `VEMB` replies it).
pub fn float_text(x: f32) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{}", f64::from(x))
    }
}

/// The projection matrix `VADD … REDUCE dim` builds (`createProjectionMatrix`
/// of Redis 8.0/8.6): entry (i, j) is `±1/sqrt(input_dim)` (the scale computed
/// in double, then float), positive when `popcount(i & j)` is even.
pub fn hadamard_matrix(input_dim: u32, dim: u32) -> Vec<f32> {
    let scale = (1.0f64 / f64::from(input_dim).sqrt()) as f32;
    let mut m = Vec::with_capacity(input_dim as usize * dim as usize);
    for i in 0..dim {
        for j in 0..input_dim {
            m.push(if (i & j).count_ones() % 2 == 0 {
                scale
            } else {
                -scale
            });
        }
    }
    m
}

/// The matrix bytes of [`hadamard_matrix`] (little-endian float32).
pub fn matrix_bytes(m: &[f32]) -> Vec<u8> {
    m.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The float32 entries of a stored matrix (the first `input_dim * dim`).
pub fn matrix_floats(p: &Projection, dim: u32) -> Vec<f32> {
    p.matrix
        .chunks_exact(4)
        .take(p.input_dim as usize * dim as usize)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// `applyProjection`: `y[i] = Σ_j row_i[j] * x[j]`, accumulated in float32 in
/// column order.
pub fn project(matrix: &[f32], input_dim: usize, x: &[f32]) -> Vec<f32> {
    matrix
        .chunks_exact(input_dim.max(1))
        .map(|row| {
            let mut sum = 0.0f32;
            for (a, b) in row.iter().zip(x) {
                sum += a * b;
            }
            sum
        })
        .collect()
}

/// `hnsw_normalize_vector`: divides `x` by its L2 norm, summed in float32 four
/// components at a time, and returns the norm (1.0, `x` untouched, when the
/// sum of squares is 0).
pub fn normalize(x: &mut [f32]) -> f32 {
    let mut l2 = 0.0f32;
    let mut chunks = x.chunks_exact(4);
    for c in &mut chunks {
        l2 += c[0] * c[0] + c[1] * c[1] + c[2] * c[2] + c[3] * c[3];
    }
    for v in chunks.remainder() {
        l2 += v * v;
    }
    if l2 == 0.0 {
        return 1.0;
    }
    let l2 = l2.sqrt();
    for v in x.iter_mut() {
        *v /= l2;
    }
    l2
}

/// `quantize_to_q8` / `quantize_to_bin` / the float bytes of NOQUANT: the
/// stored vector of the normalized `v`, and the Q8 range (0 otherwise).
pub fn quantize(quant: Quant, v: &[f32]) -> (Vec<u8>, f32) {
    match quant {
        Quant::NoQuant => (v.iter().flat_map(|x| x.to_le_bytes()).collect(), 0.0),
        Quant::Q8 => {
            let mut max = 0.0f32;
            for &x in v {
                if x > max {
                    max = x;
                }
                if -x > max {
                    max = -x;
                }
            }
            if max == 0.0 {
                return (vec![0; v.len()], 0.0);
            }
            let scale = 127.0f32 / max;
            (
                v.iter().map(|&x| (x * scale).round() as i8 as u8).collect(),
                max,
            )
        }
        Quant::Bin => {
            let mut out = vec![0u8; v.len().div_ceil(64) * 8];
            for (j, &x) in v.iter().enumerate() {
                if x > 0.0 {
                    out[j >> 3] |= 1 << (j & 7);
                }
            }
            (out, 0.0)
        }
    }
}

/// What `VADD` stores for the input `x` (FORMATS.md §8.5.4, §8.5.6): projected
/// through `matrix` (row-major, `x.len()` columns) when given, normalized and
/// quantized. Returns (vector bytes, l2, range).
pub fn vadd_vector(quant: Quant, matrix: Option<&[f32]>, x: &[f32]) -> (Vec<u8>, f32, f32) {
    let mut v = match matrix {
        Some(m) => project(m, x.len(), x),
        None => x.to_vec(),
    };
    let l2 = normalize(&mut v);
    let (bytes, range) = quantize(quant, &v);
    (bytes, l2, range)
}

/// An input of `input_dim` components whose projection through `matrix`
/// (`y.len()` rows) is `y` as nearly as possible: the least-squares preimage
/// `x = Pᵀ (P Pᵀ)⁻¹ y`, computed in double (`x = Pᵀ y` when the rows are
/// orthonormal, as the Hadamard rows are for a power-of-two `input_dim`, or
/// when the system is too large to solve here).
pub fn preimage(matrix: &[f32], input_dim: usize, y: &[f32]) -> Vec<f64> {
    let dim = y.len();
    let p = |i: usize, j: usize| f64::from(matrix.get(i * input_dim + j).copied().unwrap_or(0.0));
    let mut z: Vec<f64> = y.iter().map(|&v| f64::from(v)).collect();
    let orthonormal = input_dim.is_power_of_two();
    if !orthonormal && dim <= 256 && dim * dim * input_dim <= 50_000_000 {
        // Solve (P Pᵀ) z = y by Gaussian elimination with partial pivoting.
        let mut g = vec![vec![0.0f64; dim + 1]; dim];
        for (a, row) in g.iter_mut().enumerate() {
            for (b, cell) in row.iter_mut().take(dim).enumerate() {
                *cell = (0..input_dim).map(|j| p(a, j) * p(b, j)).sum();
            }
            row[dim] = z[a];
        }
        let mut ok = true;
        for col in 0..dim {
            let piv = (col..dim)
                .max_by(|&a, &b| g[a][col].abs().total_cmp(&g[b][col].abs()))
                .unwrap_or(col);
            if g[piv][col].abs() < 1e-12 {
                ok = false;
                break;
            }
            g.swap(col, piv);
            let pivot_row = g[col].clone();
            for (r, row) in g.iter_mut().enumerate() {
                if r != col {
                    let f = row[col] / pivot_row[col];
                    for (cell, pv) in row.iter_mut().zip(&pivot_row).skip(col) {
                        *cell -= f * pv;
                    }
                }
            }
        }
        if ok {
            z = (0..dim).map(|r| g[r][dim] / g[r][r]).collect();
        }
    }
    (0..input_dim)
        .map(|j| (0..dim).map(|i| p(i, j) * z[i]).sum())
        .collect()
}

/// The values of a `VADD … VALUES` that re-creates element `e` of `vs`: VEMB
/// (or, for a REDUCE set, a preimage of it), as float32. The second value is
/// true when `VADD` on them stores exactly `e`'s vector bytes (checked by
/// emulating `VADD`).
pub fn vadd_values(vs: &VectorSet, e: &Element) -> (Vec<f32>, bool) {
    let y = vs.vemb(e);
    let (x, matrix) = match &vs.projection {
        None => (y, None),
        Some(p) => {
            let m = matrix_floats(p, vs.dim);
            let x: Vec<f32> = preimage(&m, p.input_dim as usize, &y)
                .into_iter()
                .map(|v| v as f32)
                .collect();
            (x, Some(m))
        }
    };
    let (bytes, _, _) = vadd_vector(vs.quant, matrix.as_deref(), &x);
    let exact = bytes == e.vector;
    (x, exact)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `vset:q8` written by Redis 8.6.3 (FORMATS.md §8.5.9), after the module id.
    fn q8_example() -> Vec<u8> {
        let mut d = vec![0x02, 0x03, 0x02, 0x03, 0x02, 0x50, 0x01, 0x02, 0x02];
        d.extend_from_slice(&[0x05, 0x06, b'b', b'i', b'n', b':', 0x00, 0xff, 0x05, 0x00]);
        d.extend_from_slice(&[0x05, 0x03, 0x00, 0x00, 0x7f, 0x02, 0x08, 0x02, 0x03]);
        d.extend_from_slice(&[0x02, 0x80, 0x01, 0x00, 0x00, 0x00]);
        d.extend_from_slice(&[0x02, 0x02, 0x02, 0x20, 0x02, 0x02, 0x02, 0x01]);
        d.extend_from_slice(&[0x02, 0x81, 0x3e, 0x4a, 0xf9, 0x38, 0, 0, 0, 0x01]);
        d.extend_from_slice(&[0x02, 0x81, 0x3f, 0x80, 0, 0, 0x3f, 0x80, 0, 0]);
        d.extend_from_slice(&[0x05, 0x01, b'b', 0x05, 0x15]);
        d.extend_from_slice(br#"{"color":"red","n":1}"#);
        d.extend_from_slice(&[0x05, 0x03, 0xc1, 0x20, 0x7f]);
        d.extend_from_slice(&[
            0x02, 0x08, 0x02, 0x02, 0x02, 0x80, 0x01, 0x00, 0x00, 0x00, 0x02, 0x02, 0x02, 0x20,
            0x02, 0x01, 0x02, 0x03,
        ]);
        d.extend_from_slice(&[0x02, 0x81, 0x3e, 0x98, 0x07, 0xdc, 0, 0, 0, 0]);
        d.extend_from_slice(&[0x02, 0x81, 0x3f, 0x5f, 0x74, 0x82, 0x40, 0x12, 0xa4, 0x76]);
        d.extend_from_slice(&[0x05, 0x01, b'a', 0x05, 0x00, 0x05, 0x03, 0x2a, 0x55, 0x7f]);
        d.extend_from_slice(&[
            0x02, 0x08, 0x02, 0x01, 0x02, 0x80, 0x01, 0x00, 0x00, 0x00, 0x02, 0x02, 0x02, 0x20,
            0x02, 0x02, 0x02, 0x03,
        ]);
        d.extend_from_slice(&[0x02, 0x81, 0x3e, 0x98, 0x07, 0xdc, 0, 0, 0, 0]);
        d.extend_from_slice(&[0x02, 0x81, 0x3f, 0x4d, 0x41, 0xb2, 0x3e, 0xbf, 0x92, 0xa8]);
        d.push(0);
        d
    }

    #[test]
    fn decodes_the_annotated_example() {
        let vs = decode(0, &q8_example(), 13).unwrap();
        assert_eq!((vs.dim, vs.quant, vs.m, vs.card()), (3, Quant::Q8, 16, 3));
        let names: Vec<&[u8]> = vs.elements.iter().map(|e| e.name.as_slice()).collect();
        assert_eq!(names, [&b"bin:\x00\xff"[..], b"b", b"a"]);
        let b = &vs.elements[1];
        assert_eq!(b.attributes, br#"{"color":"red","n":1}"#);
        assert_eq!(b.vector, [0xc1, 0x20, 0x7f]);
        let vemb: Vec<String> = vs.vemb(b).into_iter().map(float_text).collect();
        // What the live server's VEMB returned.
        assert_eq!(vemb, ["-0.992125928401947", "0.5039370059967041", "2"]);
        let info = vs.info();
        assert_eq!(
            (
                info.quant_type,
                info.hnsw_m,
                info.max_level,
                info.attributes_count
            ),
            ("int8", 16, 0, 1)
        );
        assert_eq!(info.hnsw_max_node_uid, 3);
        assert_eq!(
            vs.by_id().iter().map(|e| e.id).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }

    #[test]
    fn encode_reproduces_the_file_bytes() {
        let d = q8_example();
        let vs = decode(0, &d, 13).unwrap();
        assert_eq!(encode(&vs), d);
    }

    #[test]
    fn synthesized_graph_decodes() {
        let mut vs = decode(0, &q8_example(), 13).unwrap();
        synthesize_graph(&mut vs).unwrap();
        let back = decode(0, &encode(&vs), 13).unwrap();
        assert_eq!(back.elements[0].layers[0].links, [2, 1]);
        assert_eq!(back.elements[0].layers[0].max_links, 32);
        assert_eq!(back.elements[0].version, 0);
    }

    #[test]
    fn loader_checks_are_errors() {
        let d = q8_example();
        // Encoding version 1: a newer format, not corruption.
        assert_eq!(decode(1, &d, 13).unwrap_err().kind, ErrorKind::Unsupported);
        // Quant type 3.
        let mut x = d.clone();
        x[6] = 0x03;
        assert_eq!(decode(0, &x, 13).unwrap_err().kind, ErrorKind::Unsupported);
        // Dimension 0: refused by 8.6 only (the vectors are then too long).
        let mut x = d.clone();
        x[1] = 0;
        let e = decode(0, &x, 13).unwrap_err();
        assert!(e.message.contains("dimension 0"), "{e}");
        assert!(
            decode(0, &x, 12)
                .unwrap_err()
                .message
                .contains("mismatching")
        );
        // A link to a missing node: the first element's first link 2 -> 9.
        let mut x = d.clone();
        let i = 39;
        assert_eq!(x[i], 0x02, "{i}");
        x[i] = 0x09;
        let e = decode(0, &x, 13).unwrap_err();
        assert!(e.message.contains("missing node 9"), "{e}");
        // A worst index beyond the links.
        let mut x = d.clone();
        x[49] = 0x02;
        assert!(
            decode(0, &x, 13)
                .unwrap_err()
                .message
                .contains("worst link")
        );
    }

    #[test]
    fn vadd_emulation_reproduces_the_stored_vectors() {
        // The inputs of FORMATS.md §8.5.9 give the bytes, l2 and range stored.
        let vs = decode(0, &q8_example(), 13).unwrap();
        for (x, e) in [
            ([-1.0f32, 0.5, 2.0], &vs.elements[1]),
            ([0.1, 0.2, 0.3], &vs.elements[2]),
            ([0.0, 0.0, 1.0], &vs.elements[0]),
        ] {
            let (bytes, l2, range) = vadd_vector(Quant::Q8, None, &x);
            assert_eq!((bytes, l2, range), (e.vector.clone(), e.l2, e.range));
        }
        // The Hadamard matrix of `vset:reduce` (4 -> 2).
        let m = hadamard_matrix(4, 2);
        assert_eq!(m, [0.5, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, -0.5]);
        let x = preimage(&m, 4, &[5.0, -1.0]);
        let x: Vec<f32> = x.into_iter().map(|v| v as f32).collect();
        assert_eq!(project(&m, 4, &x), [5.0, -1.0]);
    }

    #[test]
    fn preimage_solves_non_orthogonal_projections() {
        // 10 -> 3: the Hadamard rows are not orthonormal for 10 columns.
        let m = hadamard_matrix(10, 3);
        let y = [0.7f32, -1.25, 2.0];
        let x: Vec<f32> = preimage(&m, 10, &y).into_iter().map(|v| v as f32).collect();
        for (a, b) in project(&m, 10, &x).iter().zip(y) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn never_panics_on_truncations_and_byte_flips() {
        let d = q8_example();
        for cut in 0..d.len() {
            let _ = decode(0, &d[..cut], 13);
        }
        for i in 0..d.len() {
            for v in [0x00, 0x01, 0x3f, 0x40, 0x7f, 0x80, 0x81, 0xc0, 0xc3, 0xff] {
                let mut x = d.clone();
                x[i] = v;
                let _ = decode(0, &x, 13);
                let _ = decode(0, &x, 12);
            }
        }
    }
}
