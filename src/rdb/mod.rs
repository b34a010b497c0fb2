//! The streaming RDB reader (in progress).

pub mod writer;
