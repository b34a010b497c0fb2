//! AOF reading: RESP command reader, multi-part manifests, checking and repair
//! (in progress).
