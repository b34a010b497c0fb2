//! Vector set commands (Redis 8): `VADD`, `VREM`, `VSETATTR`, the write
//! commands Redis 8.0/8.6 propagate (verbatim, `CAS` and `EF` included).
//!
//! `VADD` emulates the server's float32 pipeline (FORMATS.md §8.5.4, §8.5.6):
//! the values are parsed as doubles and narrowed to float32 (or taken as FP32
//! bytes), projected through the Hadamard matrix of a `REDUCE` set, normalized
//! with the partial sums of `hnsw_normalize_vector` and quantized, so the
//! stored vectors, l2 and range are those of the server that ran the commands.
//! The HNSW graph is not emulated (its levels are random): the set is written
//! with the synthesized single-layer graph of FORMATS.md §8.5.10, so at most
//! [`MAX_ELEMENTS`] elements. Node ids are allocated as the server does (one
//! more than the largest id the set ever had).
//!
//! A `VADD` of an existing element replaces its vector under a new id (as the
//! server does) and keeps its attributes unless `SETATTR` is given. Note that
//! Redis 8.6.3 replies 0 to such an update and does not propagate it (observed:
//! `VEMB` changes, the AOF has no command), so a server replaying its own AOF
//! holds the old vector, and so does a conversion.

use super::super::Engine;
use super::super::ReplayError;
use super::super::args::{CmdResult, SYNTAX, WRONGTYPE, is, parse_f64, uint};
use super::super::dataset::{Value, VsetValue};
use crate::rdb::vectorset::{self, Element, Layer, Projection, Quant, VectorSet};

/// Most elements a replayed set may have: one synthesized layer links every
/// node to every other (`max_links` at most 16384).
pub const MAX_ELEMENTS: u64 = vectorset::MAX_LINKS + 1;

/// A parsed `VADD`.
struct Vadd<'a> {
    reduce: Option<u32>,
    values: Vec<f32>,
    element: &'a [u8],
    quant: Quant,
    m: u32,
    attributes: Option<&'a [u8]>,
}

fn parse<'a>(a: &[&'a [u8]]) -> Result<Vadd<'a>, String> {
    let mut i = 2;
    let arg = |i: usize| a.get(i).copied().ok_or_else(|| super::wrong_args(a));
    let mut reduce = None;
    if is(arg(i)?, "REDUCE") {
        let d = uint(arg(i + 1)?)?;
        if d == 0 || d > u64::from(vectorset::MAX_DIM) {
            return Err("ERR invalid vector specification".into());
        }
        reduce = Some(d as u32);
        i += 2;
    }
    let values: Vec<f32> = if is(arg(i)?, "FP32") {
        let blob = arg(i + 1)?;
        if blob.is_empty() || blob.len() % 4 != 0 {
            return Err("ERR invalid vector specification".into());
        }
        i += 2;
        blob.chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    } else if is(arg(i)?, "VALUES") {
        let n = uint(arg(i + 1)?)?;
        if n == 0 || n > a.len() as u64 {
            return Err("ERR invalid vector specification".into());
        }
        let n = n as usize;
        let mut v = Vec::with_capacity(n);
        for k in 0..n {
            let x = parse_f64(arg(i + 2 + k)?)
                .ok_or_else(|| "ERR invalid vector specification".to_string())?;
            v.push(x as f32);
        }
        i += 2 + n;
        v
    } else {
        return Err("ERR invalid vector specification".into());
    };
    let element = arg(i)?;
    i += 1;
    let (mut quant, mut m, mut attributes) = (Quant::Q8, vectorset::DEFAULT_M, None);
    while i < a.len() {
        let o = a[i];
        if is(o, "NOQUANT") {
            quant = Quant::NoQuant;
        } else if is(o, "Q8") {
            quant = Quant::Q8;
        } else if is(o, "BIN") {
            quant = Quant::Bin;
        } else if is(o, "CAS") {
        } else if is(o, "EF") {
            uint(arg(i + 1)?)?;
            i += 1;
        } else if is(o, "M") {
            let v = uint(arg(i + 1)?)?;
            if !(4..=u64::from(vectorset::MAX_M)).contains(&v) {
                return Err("ERR invalid M".into());
            }
            m = v as u32;
            i += 1;
        } else if is(o, "SETATTR") {
            attributes = Some(arg(i + 1)?);
            i += 1;
        } else {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    Ok(Vadd {
        reduce,
        values,
        element,
        quant,
        m,
        attributes,
    })
}

/// The vector set at `key` for writing: `None` when the key is missing; a
/// vector set loaded from an RDB (a module value) is decoded first.
fn get_vset<'e>(e: &'e mut Engine, key: &[u8]) -> Result<Option<&'e mut VsetValue>, String> {
    let Some(slot) = e.slot_mut(key) else {
        return Ok(None);
    };
    if let Value::Module(m) = &slot.value {
        match vectorset::from_module(m) {
            Some(Ok(set)) => slot.value = Value::VectorSet(Box::new(VsetValue::from_set(set))),
            _ => return Err(WRONGTYPE.into()),
        }
    }
    match &mut slot.value {
        Value::VectorSet(v) => Ok(Some(v)),
        _ => Err(WRONGTYPE.into()),
    }
}

/// Fails the replay when a `VADD` would grow a set beyond [`MAX_ELEMENTS`]
/// (called before the command runs).
pub(crate) fn check_limit(e: &mut Engine, a: &[&[u8]]) -> Result<(), ReplayError> {
    let (Some(key), Ok(v)) = (a.get(1), parse(a)) else {
        return Ok(());
    };
    let card = match get_vset(e, key) {
        Ok(Some(s)) if s.set.elements.iter().all(|x| x.name != v.element) => s.set.card(),
        _ => return Ok(()),
    };
    if card + 1 > MAX_ELEMENTS {
        return Err(ReplayError::Unsupported {
            command: "VADD".into(),
            reason: format!(
                "key '{}': a vector set of more than {MAX_ELEMENTS} elements cannot be \
                 written with the synthesized single-layer HNSW graph",
                String::from_utf8_lossy(key)
            ),
        });
    }
    Ok(())
}

pub fn vadd(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let v = parse(a)?;
    let key = a[1];
    let input_dim = v.values.len() as u32;
    let new_set = || -> Result<VsetValue, String> {
        let (dim, projection) = match v.reduce {
            Some(d) => {
                if d > input_dim {
                    return Err("ERR invalid vector specification".into());
                }
                let matrix = vectorset::hadamard_matrix(input_dim, d);
                (
                    d,
                    Some(Projection {
                        input_dim,
                        matrix: vectorset::matrix_bytes(&matrix),
                    }),
                )
            }
            None => (input_dim, None),
        };
        Ok(VsetValue::from_set(VectorSet {
            dim,
            quant: v.quant,
            m: v.m,
            projection,
            elements: Vec::new(),
        }))
    };
    let exists = get_vset(e, key)?.is_some();
    if !exists {
        let s = new_set()?;
        e.set_key(key, Value::VectorSet(Box::new(s)));
    }
    let s = get_vset(e, key)?.expect("created above");
    let set = &mut s.set;
    if set.quant != v.quant {
        return Err("ERR asked quantization mismatch with existing vector set".into());
    }
    if set.effective_m() != v.m {
        return Err("ERR asked M value mismatch with existing vector set".into());
    }
    let matrix = match (&set.projection, v.reduce) {
        (Some(p), Some(d)) if d == set.dim && p.input_dim == input_dim => {
            Some(vectorset::matrix_floats(p, set.dim))
        }
        (None, None) if input_dim == set.dim => None,
        _ => return Err("ERR Vector dimension mismatch".into()),
    };
    let (vector, l2, range) = vectorset::vadd_vector(set.quant, matrix.as_deref(), &v.values);
    let old = set.elements.iter().position(|x| x.name == v.element);
    let attributes = match (v.attributes, old) {
        (Some(at), _) => at.to_vec(),
        (None, Some(i)) => set.elements[i].attributes.clone(),
        (None, None) => Vec::new(),
    };
    if let Some(i) = old {
        set.elements.remove(i);
    }
    s.last_id += 1;
    let range_bits = if set.quant == Quant::Q8 {
        range.to_bits()
    } else {
        0
    };
    s.set.elements.push(Element {
        name: v.element.to_vec(),
        attributes,
        vector,
        l2,
        range,
        range_bits,
        id: s.last_id,
        level: 0,
        version: 0,
        layers: vec![Layer {
            max_links: 0,
            links: Vec::new(),
            worst: None,
        }],
    });
    Ok(())
}

pub fn vrem(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let key = a[1];
    let Some(s) = get_vset(e, key)? else {
        return Ok(());
    };
    for el in &a[2..] {
        s.set.elements.retain(|x| x.name != *el);
    }
    if s.set.elements.is_empty() {
        e.remove(key);
    }
    Ok(())
}

pub fn vsetattr(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    if a.len() != 4 {
        return Err(super::wrong_args(a));
    }
    let Some(s) = get_vset(e, a[1])? else {
        return Err("ERR key not found".into());
    };
    match s.set.elements.iter_mut().find(|x| x.name == a[2]) {
        Some(x) => {
            x.attributes = a[3].to_vec();
            Ok(())
        }
        None => Err("ERR element not found".into()),
    }
}
