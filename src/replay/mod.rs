//! The AOF replay engine (in progress): applies the write commands Redis writes to
//! an AOF to an in-memory dataset.
