//! Geo commands: `GEOADD` (a `ZADD` with 52-bit geohash scores, exactly as Redis
//! computes them) and the searches that store (`GEORADIUS[BYMEMBER] … STORE |
//! STOREDIST`, `GEOSEARCHSTORE`).
//!
//! Searches test every member against the exact distance (Redis first narrows
//! the candidates to 9 geohash cells that cover the shape, then applies the same
//! test, so the result is the same). `COUNT n ANY` keeps the nearest n here,
//! where Redis keeps the first n found in cell order.

use super::super::Engine;
use super::super::args::{self, CmdResult, SYNTAX, int, is};
use super::super::dataset::{Slot, Value, Zset};

const LONG_MIN: f64 = -180.0;
const LONG_MAX: f64 = 180.0;
const LAT_MIN: f64 = -85.051_128_78;
const LAT_MAX: f64 = 85.051_128_78;
const STEP: u32 = 26;
const EARTH_RADIUS_M: f64 = 6_372_797.560_856;

fn interleave64(xlo: u32, ylo: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555_5555_5555_5555,
        0x3333_3333_3333_3333,
        0x0F0F_0F0F_0F0F_0F0F,
        0x00FF_00FF_00FF_00FF,
        0x0000_FFFF_0000_FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let mut x = u64::from(xlo);
    let mut y = u64::from(ylo);
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

fn deinterleave64(interleaved: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555_5555_5555_5555,
        0x3333_3333_3333_3333,
        0x0F0F_0F0F_0F0F_0F0F,
        0x00FF_00FF_00FF_00FF,
        0x0000_FFFF_0000_FFFF,
        0x0000_0000_FFFF_FFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let mut x = interleaved;
    let mut y = interleaved >> 1;
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// The 52-bit geohash score of a point (`geohashEncodeWGS84` + align), or None
/// when the pair is out of range.
pub(crate) fn encode(lon: f64, lat: f64) -> Option<u64> {
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    let lat_off = (lat - LAT_MIN) / (LAT_MAX - LAT_MIN) * (1u64 << STEP) as f64;
    let lon_off = (lon - LONG_MIN) / (LONG_MAX - LONG_MIN) * (1u64 << STEP) as f64;
    Some(interleave64(lat_off as u32, lon_off as u32))
}

const MERCATOR_MAX: f64 = 20_037_726.37;

/// `geohashEncode` at `step` bits per coordinate (no range check beyond the
/// caller's).
fn encode_step(lon: f64, lat: f64, step: u32) -> u64 {
    let scale = (1u64 << step) as f64;
    let lat_off = (lat - LAT_MIN) / (LAT_MAX - LAT_MIN) * scale;
    let lon_off = (lon - LONG_MIN) / (LONG_MAX - LONG_MIN) * scale;
    interleave64(lat_off as u32, lon_off as u32)
}

/// The (lat, lon) ranges of a box (`geohashDecode`).
fn decode_area(bits: u64, step: u32) -> ((f64, f64), (f64, f64)) {
    let sep = deinterleave64(bits);
    let ilat = f64::from(sep as u32);
    let ilon = f64::from((sep >> 32) as u32);
    let scale = (1u64 << step) as f64;
    let lat = (
        LAT_MIN + (ilat / scale) * (LAT_MAX - LAT_MIN),
        LAT_MIN + ((ilat + 1.0) / scale) * (LAT_MAX - LAT_MIN),
    );
    let lon = (
        LONG_MIN + (ilon / scale) * (LONG_MAX - LONG_MIN),
        LONG_MIN + ((ilon + 1.0) / scale) * (LONG_MAX - LONG_MIN),
    );
    (lat, lon)
}

fn move_x(bits: u64, step: u32, d: i8) -> u64 {
    let mut x = bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> (64 - step * 2);
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64 >> (64 - step * 2);
    x | y
}

fn move_y(bits: u64, step: u32, d: i8) -> u64 {
    let x = bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> (64 - step * 2);
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555_5555_5555_5555u64 >> (64 - step * 2);
    x | y
}

fn steps_by_radius(range_meters: f64, lat: f64) -> u32 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range = range_meters;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u32
}

/// The 9 boxes Redis scans for a search (centre, N, S, E, W, NE, NW, SE, SW),
/// as `geohashCalculateAreasByShapeWGS84` computes them; excluded boxes are
/// (0, 0).
fn search_boxes(s: &Search) -> [(u64, u32); 9] {
    let (lon, lat) = s.center;
    let (half_w, half_h, radius) = match s.shape {
        Shape::Radius(r) => (r, r, r),
        Shape::Box(w, h) => (w / 2.0, h / 2.0, (w / 2.0).hypot(h / 2.0)),
    };
    // geohashBoundingBox
    let lat_delta = (half_h / EARTH_RADIUS_M).to_degrees();
    let long_delta_top = (half_w / EARTH_RADIUS_M / deg_rad(lat + lat_delta).cos()).to_degrees();
    let long_delta_bottom = (half_w / EARTH_RADIUS_M / deg_rad(lat - lat_delta).cos()).to_degrees();
    let south = lat < 0.0;
    let min_lon = if south {
        lon - long_delta_bottom
    } else {
        lon - long_delta_top
    };
    let max_lon = if south {
        lon + long_delta_bottom
    } else {
        lon + long_delta_top
    };
    let (min_lat, max_lat) = (lat - lat_delta, lat + lat_delta);

    let mut step = steps_by_radius(radius, lat);
    let neighbours = |bits: u64, step: u32| -> [u64; 8] {
        [
            move_y(bits, step, 1),                    // north
            move_y(bits, step, -1),                   // south
            move_x(bits, step, 1),                    // east
            move_x(bits, step, -1),                   // west
            move_y(move_x(bits, step, 1), step, 1),   // north-east
            move_y(move_x(bits, step, -1), step, 1),  // north-west
            move_y(move_x(bits, step, 1), step, -1),  // south-east
            move_y(move_x(bits, step, -1), step, -1), // south-west
        ]
    };
    let mut hash = encode_step(lon, lat, step);
    let mut n = neighbours(hash, step);
    let (north, south_a, east, west) = (
        decode_area(n[0], step),
        decode_area(n[1], step),
        decode_area(n[2], step),
        decode_area(n[3], step),
    );
    let decrease =
        north.0.1 < max_lat || south_a.0.0 > min_lat || east.1.1 < max_lon || west.1.0 > min_lon;
    if step > 1 && decrease {
        step -= 1;
        hash = encode_step(lon, lat, step);
        n = neighbours(hash, step);
    }
    let area = decode_area(hash, step);
    let mut boxes = [
        (hash, step),
        (n[0], step),
        (n[1], step),
        (n[2], step),
        (n[3], step),
        (n[4], step),
        (n[5], step),
        (n[6], step),
        (n[7], step),
    ];
    if step >= 2 {
        let zero = |b: &mut [(u64, u32); 9], idx: &[usize]| {
            for &i in idx {
                b[i] = (0, 0);
            }
        };
        if area.0.0 < min_lat {
            zero(&mut boxes, &[2, 7, 8]); // south, south-east, south-west
        }
        if area.0.1 > max_lat {
            zero(&mut boxes, &[1, 5, 6]); // north, north-east, north-west
        }
        if area.1.0 < min_lon {
            zero(&mut boxes, &[4, 8, 6]); // west, south-west, north-west
        }
        if area.1.1 > max_lon {
            zero(&mut boxes, &[3, 7, 5]); // east, south-east, north-east
        }
    }
    boxes
}

/// The point a geohash score stands for (centre of its cell), as Redis decodes it.
pub(crate) fn decode(score: f64) -> (f64, f64) {
    let bits = score as u64;
    let sep = deinterleave64(bits);
    let ilat = f64::from(sep as u32);
    let ilon = f64::from((sep >> 32) as u32);
    let scale = (1u64 << STEP) as f64;
    let lat_min = LAT_MIN + (ilat / scale) * (LAT_MAX - LAT_MIN);
    let lat_max = LAT_MIN + ((ilat + 1.0) / scale) * (LAT_MAX - LAT_MIN);
    let lon_min = LONG_MIN + (ilon / scale) * (LONG_MAX - LONG_MIN);
    let lon_max = LONG_MIN + ((ilon + 1.0) / scale) * (LONG_MAX - LONG_MIN);
    // Redis' own arithmetic, for identical results.
    #[allow(clippy::manual_midpoint)]
    let lon = ((lon_min + lon_max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    #[allow(clippy::manual_midpoint)]
    let lat = ((lat_min + lat_max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

fn deg_rad(d: f64) -> f64 {
    d * (std::f64::consts::PI / 180.0)
}

fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_M * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let v = ((deg_rad(lon2) - deg_rad(lon1)) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let (lat1r, lat2r) = (deg_rad(lat1), deg_rad(lat2));
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

pub fn geoadd(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let mut i = 2;
    let mut zargs: Vec<Vec<u8>> = vec![b"zadd".to_vec(), a[1].to_vec()];
    while i < a.len() && (is(a[i], "nx") || is(a[i], "xx") || is(a[i], "ch")) {
        zargs.push(a[i].to_vec());
        i += 1;
    }
    let rest = &a[i..];
    if rest.is_empty() || !rest.len().is_multiple_of(3) {
        return Err(SYNTAX.into());
    }
    for t in rest.chunks(3) {
        let (lon, lat) = (args::float(t[0])?, args::float(t[1])?);
        let Some(bits) = encode(lon, lat) else {
            return Err(format!(
                "ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"
            ));
        };
        zargs.push(bits.to_string().into_bytes());
        zargs.push(t[2].to_vec());
    }
    let refs: Vec<&[u8]> = zargs.iter().map(Vec::as_slice).collect();
    super::zset::zadd(e, &refs)
}

fn unit(b: &[u8]) -> Result<f64, String> {
    if is(b, "m") {
        Ok(1.0)
    } else if is(b, "km") {
        Ok(1000.0)
    } else if is(b, "ft") {
        Ok(0.3048)
    } else if is(b, "mi") {
        Ok(1609.34)
    } else {
        Err("ERR unsupported unit provided. please use M, KM, FT, MI".into())
    }
}

enum Shape {
    Radius(f64),
    Box(f64, f64),
}

struct Search {
    center: (f64, f64),
    shape: Shape,
    conversion: f64,
    desc: Option<bool>,
    count: Option<usize>,
    any: bool,
    store: Option<Vec<u8>>,
    storedist: bool,
}

fn member_pos(e: &Engine, key: &[u8], member: &[u8]) -> Result<Option<(f64, f64)>, String> {
    match e.slot(key) {
        None => Ok(None),
        Some(Slot {
            value: Value::Zset(z),
            ..
        }) => z
            .score(member)
            .map(|s| Some(decode(s)))
            .ok_or_else(|| "ERR could not decode requested zset member".to_string()),
        Some(_) => Err(args::WRONGTYPE.into()),
    }
}

fn run_search(e: &mut Engine, src: &[u8], s: &Search) -> CmdResult {
    let Some(dst) = &s.store else { return Ok(()) };
    let z: Option<Zset> = match e.slot(src) {
        None => None,
        Some(Slot {
            value: Value::Zset(z),
            ..
        }) => Some((**z).clone()),
        Some(_) => return Err(args::WRONGTYPE.into()),
    };
    let mut hits: Vec<(Vec<u8>, f64, f64)> = Vec::new();
    let limit = if s.any { s.count.unwrap_or(0) } else { 0 };
    if let Some(z) = &z {
        let (cx, cy) = s.center;
        let boxes = search_boxes(s);
        // Index of the last box scanned; like Redis, 0 (the centre) also means
        // "none yet", so a neighbour equal to the centre box is scanned again.
        let mut last = 0usize;
        for (i, &(bits, step)) in boxes.iter().enumerate() {
            if bits == 0 && step == 0 {
                continue;
            }
            // Adjacent boxes can be the same for huge radii: skip repeats.
            if last != 0 && boxes[last] == (bits, step) {
                continue;
            }
            if limit > 0 && hits.len() >= limit {
                break;
            }
            last = i;
            let min = (bits << (52 - 2 * step)) as f64;
            let max = ((bits + 1) << (52 - 2 * step)) as f64;
            for (m, score) in z.iter().skip_while(|(_, sc)| *sc < min) {
                if score >= max || (limit > 0 && hits.len() >= limit) {
                    break;
                }
                let (lon, lat) = decode(score);
                let d = match s.shape {
                    Shape::Radius(r) => {
                        let d = distance(cx, cy, lon, lat);
                        if d > r {
                            continue;
                        }
                        d
                    }
                    Shape::Box(w, h) => {
                        if lat_distance(lat, cy) > h / 2.0 || distance(lon, lat, cx, lat) > w / 2.0
                        {
                            continue;
                        }
                        distance(cx, cy, lon, lat)
                    }
                };
                hits.push((m.to_vec(), score, d));
            }
        }
    }
    let desc = match (s.desc, s.count) {
        (Some(d), _) => Some(d),
        (None, Some(_)) if !s.any => Some(false),
        _ => None,
    };
    if let Some(d) = desc {
        hits.sort_by(|x, y| x.2.partial_cmp(&y.2).unwrap_or(std::cmp::Ordering::Equal));
        if d {
            hits.reverse();
        }
    }
    if let Some(c) = s.count {
        hits.truncate(c);
    }
    let items = hits
        .into_iter()
        .map(|(m, score, d)| (m, if s.storedist { d / s.conversion } else { score }));
    super::zset::store(e, dst, items);
    Ok(())
}

/// Parses the options shared by GEORADIUS* (from `i`).
fn radius_opts(a: &[&[u8]], mut i: usize, s: &mut Search) -> CmdResult {
    let mut with = false;
    while i < a.len() {
        let o = a[i];
        if is(o, "withdist") || is(o, "withhash") || is(o, "withcoord") {
            with = true;
        } else if is(o, "asc") {
            s.desc = Some(false);
        } else if is(o, "desc") {
            s.desc = Some(true);
        } else if is(o, "any") {
            s.any = true;
        } else if is(o, "count") && i + 1 < a.len() {
            let c = int(a[i + 1])?;
            if c <= 0 {
                return Err("ERR COUNT must be > 0".into());
            }
            s.count = Some(c as usize);
            i += 1;
        } else if (is(o, "store") || is(o, "storedist")) && i + 1 < a.len() {
            s.store = Some(a[i + 1].to_vec());
            s.storedist = is(o, "storedist");
            i += 1;
        } else {
            return Err(SYNTAX.into());
        }
        i += 1;
    }
    if with && s.store.is_some() {
        return Err("ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options".into());
    }
    Ok(())
}

fn new_search(center: (f64, f64), shape: Shape, conversion: f64) -> Search {
    Search {
        center,
        shape,
        conversion,
        desc: None,
        count: None,
        any: false,
        store: None,
        storedist: false,
    }
}

pub fn georadius(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (lon, lat) = (args::float(a[2])?, args::float(a[3])?);
    if encode(lon, lat).is_none() {
        return Err(format!(
            "ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"
        ));
    }
    let r = args::float(a[4])?;
    if r < 0.0 {
        return Err("ERR radius cannot be negative".into());
    }
    let conv = unit(a[5])?;
    let mut s = new_search((lon, lat), Shape::Radius(r * conv), conv);
    radius_opts(a, 6, &mut s)?;
    run_search(e, a[1], &s)
}

pub fn georadiusbymember(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    if a.len() < 5 {
        return Err(super::wrong_args(a));
    }
    let r = args::float(a[3])?;
    if r < 0.0 {
        return Err("ERR radius cannot be negative".into());
    }
    let conv = unit(a[4])?;
    let mut s = new_search((0.0, 0.0), Shape::Radius(r * conv), conv);
    radius_opts(a, 5, &mut s)?;
    let Some(c) = member_pos(e, a[1], a[2])? else {
        if let Some(dst) = s.store.take() {
            e.remove(&dst);
        }
        return Ok(());
    };
    s.center = c;
    run_search(e, a[1], &s)
}

pub fn geosearchstore(e: &mut Engine, a: &[&[u8]]) -> CmdResult {
    let (dst, src) = (a[1], a[2]);
    let mut from_member = None;
    let mut center = None;
    let mut shape = None;
    let mut conv = 1.0;
    let mut s = new_search((0.0, 0.0), Shape::Radius(0.0), 1.0);
    let mut i = 3;
    while i < a.len() {
        let o = a[i];
        if is(o, "frommember") && i + 1 < a.len() {
            from_member = Some(a[i + 1]);
            i += 2;
        } else if is(o, "fromlonlat") && i + 2 < a.len() {
            let (lon, lat) = (args::float(a[i + 1])?, args::float(a[i + 2])?);
            if encode(lon, lat).is_none() {
                return Err(format!(
                    "ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"
                ));
            }
            center = Some((lon, lat));
            i += 3;
        } else if is(o, "byradius") && i + 2 < a.len() {
            let r = args::float(a[i + 1])?;
            if r < 0.0 {
                return Err("ERR radius cannot be negative".into());
            }
            conv = unit(a[i + 2])?;
            shape = Some(Shape::Radius(r * conv));
            i += 3;
        } else if is(o, "bybox") && i + 3 < a.len() {
            let (w, h) = (args::float(a[i + 1])?, args::float(a[i + 2])?);
            if w < 0.0 || h < 0.0 {
                return Err("ERR height or width cannot be negative".into());
            }
            conv = unit(a[i + 3])?;
            shape = Some(Shape::Box(w * conv, h * conv));
            i += 4;
        } else if is(o, "asc") || is(o, "desc") {
            s.desc = Some(is(o, "desc"));
            i += 1;
        } else if is(o, "count") && i + 1 < a.len() {
            let c = int(a[i + 1])?;
            if c <= 0 {
                return Err("ERR COUNT must be > 0".into());
            }
            s.count = Some(c as usize);
            i += 2;
            if i < a.len() && is(a[i], "any") {
                s.any = true;
                i += 1;
            }
        } else if is(o, "storedist") {
            s.storedist = true;
            i += 1;
        } else {
            return Err(SYNTAX.into());
        }
    }
    let Some(shape) = shape else {
        return Err(
            "ERR exactly one of BYRADIUS and BYBOX arguments must be provided for GEOSEARCH".into(),
        );
    };
    if from_member.is_some() == center.is_some() {
        return Err(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH".into(),
        );
    }
    s.shape = shape;
    s.conversion = conv;
    s.store = Some(dst.to_vec());
    if let Some(m) = from_member {
        let Some(c) = member_pos(e, src, m)? else {
            e.remove(dst);
            return Ok(());
        };
        s.center = c;
    } else if let Some(c) = center {
        s.center = c;
    }
    run_search(e, src, &s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palermo_score_matches_redis() {
        // `GEOADD geo 13.361389 38.115556 Palermo` is written as
        // `zadd geo 3479099956230698 Palermo` (corpus aof-propagation).
        assert_eq!(encode(13.361_389, 38.115_556), Some(3_479_099_956_230_698));
        assert_eq!(encode(15.087_269, 37.502_669), Some(3_479_447_370_796_909));
        let (lon, lat) = decode(3_479_099_956_230_698.0);
        assert!((lon - 13.361_389).abs() < 1e-5 && (lat - 38.115_556).abs() < 1e-5);
        let d = distance(13.361_389, 38.115_556, 15.087_269, 37.502_669);
        assert!((d - 166_274.0).abs() < 100.0, "{d}");
    }
}
