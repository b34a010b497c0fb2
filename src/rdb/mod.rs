//! The streaming RDB reader (in progress).
