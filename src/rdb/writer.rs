//! The RDB writer (in progress).
