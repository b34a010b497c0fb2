//! The integration tests, as one test crate (one binary to build and link
//! instead of one per file): a module per area, the shared helpers as modules
//! of this crate. Run one area with `cargo test --release --test it NAME::`
//! (e.g. `--test it check_aof::`).
//!
//! The tests of all modules run concurrently in one process: a test must not
//! change process-wide state (environment variables, the current directory) and
//! must use its own temporary directories and ports.

mod aof_support;
mod common;
mod convert_support;
mod replay_support;
mod stats_support;

mod adversarial;
mod check_aof;
mod check_aof_api;
mod check_aof_crash;
mod check_aof_differential;
mod check_aof_race;
mod check_aof_upstream;
mod check_rdb_duplicates;
mod cli_debug_assert;
mod cluster_nodes;
mod completions;
mod contract;
mod convert;
mod convert_corpus;
mod convert_live;
mod convert_servers;
mod dump;
mod dump_parallel;
mod dump_stream;
mod function_libraries;
mod generated;
mod man;
mod nothing_lost;
mod rdb_corpus;
mod rdb_corruption;
mod rdb_formats;
mod rdb_hash2_rules;
mod rdb_live;
mod rdb_mutations;
mod rdb_payload_mutations;
mod rdb_payloads;
mod rdb_speculative;
mod rdb_stream_idmp;
mod rdb_testdata;
mod rdb_unsupported;
mod rdb_upstream;
mod rdb_visit;
mod rdb_vs_redis_check_rdb;
mod rdb_writer;
mod rdb_writer_reader;
mod rdb_writer_valkey;
mod replay_corpus;
mod replay_live;
mod replay_servers;
mod rewrite;
mod rewrite_servers;
mod rewrite_split;
mod salvage;
mod salvage_aof;
mod salvage_bounds;
mod salvage_memory;
mod servers_live;
mod stats_api;
mod stats_cli;
mod stats_corpus;
mod stats_human;
mod stats_replay;
mod stats_server;
mod stream_idmp_live;
mod testdata_subcommands;
mod vectorset_live;
