//! redis-persist: offline checking, repair, inspection and conversion of Redis and
//! Valkey persistence files.
//!
//! The library holds everything that understands bytes: the streaming RDB reader
//! ([`rdb`]), the AOF reader, manifest parser and replay engine ([`aof`]), the
//! in-memory value model ([`model`]), cluster hash slots ([`cluster`]) and the shared input plumbing ([`io`]). It never
//! prints and never depends on the command-line crates (clap, indicatif,
//! comfy-table, anyhow); the binary (`src/main.rs`) does that.
#![deny(missing_docs)]

pub mod aof;
pub mod cluster;
pub mod io;
pub mod model;
pub mod rdb;
pub mod replay;
pub mod stats;
#[cfg(test)]
mod testutil;
