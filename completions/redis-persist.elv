
use builtin;
use str;

set edit:completion:arg-completer[redis-persist] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'redis-persist'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'redis-persist'= {
            cand --no-progress 'Never show progress bars (they are only shown when stderr is a terminal)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand check-rdb 'Validate RDB snapshots (every Redis and Valkey version), checksum included'
            cand check-aof 'Validate an AOF (single file, hybrid, or multi-part directory/manifest); `--fix` repairs it safely'
            cand dump 'Print every key of a snapshot or AOF as JSON Lines, JSON or RESP commands'
            cand stats 'Analyse the whole keyspace in one streaming pass: counts, sizes, biggest keys, prefixes, TTLs, memory estimate'
            cand convert-aof-to-hybrid 'Replay an AOF offline and write it back as an RDB-preamble (hybrid) AOF'
            cand salvage 'Turn a damaged RDB into one the server loads, keeping every key that survived'
            cand rewrite 'Rewrite snapshots for another server: downgrade, Redis <-> Valkey, filter, merge'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'redis-persist;check-rdb'= {
            cand --now 'Reference time for "already expired" counts, in Unix milliseconds (default: now)'
            cand --threads 'Worker threads for files of 8 MiB and more (default: one more than the number of CPUs, which measured fastest as the threads that cut the file are idle part of the time; 1 checks in a single thread, stopping at the first corrupt value)'
            cand --json 'Print one JSON document on stdout instead of the human report'
            cand --no-duplicate-check 'Do not look for duplicate keys (saves up to 16 bytes of memory per key; Redis refuses to load a file with duplicate keys, redis-check-rdb does not look for them)'
            cand --no-progress 'Never show progress bars (they are only shown when stderr is a terminal)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'redis-persist;check-aof'= {
            cand --backup-dir 'Write the backup into DIR instead of beside the file'
            cand --truncate-to-timestamp 'Cut the last file at the first `#TS:` annotation later than TS (Unix seconds), like `redis-check-aof --truncate-to-timestamp` (with a backup and a confirmation)'
            cand --fix 'Repair: truncate the damaged file where `redis-check-aof --fix` would (at the first bad record, or at the start of the unfinished MULTI), after writing a backup'
            cand -y 'Do not ask for confirmation (needed to change files when standard input is not a terminal)'
            cand --yes 'Do not ask for confirmation (needed to change files when standard input is not a terminal)'
            cand --dry-run 'With `--fix` or `--truncate-to-timestamp`: print what would be done, change nothing'
            cand --force 'With `--fix` or `--truncate-to-timestamp`: truncate even when another process holds the file open for writing (by default the run stops with exit 2 and names it: a server still appending would lose writes it acknowledged)'
            cand --strict 'Count every warning (unknown commands, wrong arities, manifest notes) as an error'
            cand --json 'Print one JSON document instead of the human report'
            cand --no-progress 'Never show progress bars (they are only shown when stderr is a terminal)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'redis-persist;dump'= {
            cand --format 'Output format'
            cand -o 'Write to FILE (atomically: a temporary file renamed into place) instead of standard output'
            cand --output 'Write to FILE (atomically: a temporary file renamed into place) instead of standard output'
            cand --db 'Only keys of database N (repeatable)'
            cand --key 'Only keys matching this Redis glob pattern (`KEYS` syntax: `*`, `?`, `[a-z]`, `[^x]`, `\`; repeatable; a key matching any `--key` or `--key-regex` is kept)'
            cand --key-regex 'Only keys matching this regular expression (Rust `regex` syntax, searched anywhere in the key bytes; anchor with `^…$`; `(?-u)` to match arbitrary bytes; repeatable)'
            cand --type 'Only keys of this type (repeatable; `module` includes vector sets)'
            cand --now '"Now" for the expiry filters, in Unix milliseconds (default: the current time)'
            cand --batch 'With --format resp: elements per command for large values (RPUSH, SADD, ZADD, HSET)'
            cand --threads 'Threads reading and rendering files of 8 MiB and more, the calling thread included (default: the number of CPUs)'
            cand --expired 'Only keys whose expire time has passed (relative to --now)'
            cand --not-expired 'Only keys without an expire time or whose expire time is still ahead'
            cand --include-expired 'With --format resp: also write keys whose expire time has passed (by default they are left out, as a server loading the file drops them; a live server deletes them as soon as their PEXPIREAT runs)'
            cand --meta 'With --format jsonl: also write file-level records (header, aux fields, function libraries, module aux data, end of file), marked by a `record` field. The JSON document always has them'
            cand --replace 'With --format resp: `DEL` every key before recreating it and load functions with `FUNCTION LOAD REPLACE` (for a server that already holds some of the keys)'
            cand --base-only 'For an AOF input, dump only its RDB base or preamble (streaming, in bounded memory) instead of the dataset after replaying every file'
            cand --replay 'Replay a hybrid single-file AOF (RDB preamble + commands) instead of dumping its preamble alone. Directories, manifests and AOFs of commands are always replayed unless `--base-only`'
            cand --no-progress 'Never show progress bars (they are only shown when stderr is a terminal)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'redis-persist;stats'= {
            cand --top 'Length of the top lists, and of each level of the prefix tree'
            cand --separator 'Key prefix separator'
            cand --depth 'Levels of the prefix tree (0 turns prefix statistics off)'
            cand --max-prefixes 'Distinct prefixes kept before the smallest are folded away (bounds memory on keyspaces with millions of prefixes)'
            cand --csv 'Print one table as CSV on stdout instead of the report'
            cand --now 'Reference time for TTLs, in Unix milliseconds (default: now)'
            cand --threads 'Worker threads (default: one more than the number of CPUs, as the thread that frames the file is often idle)'
            cand --server-config 'An encoding threshold of the server the estimate is for, as in redis.conf (e.g. `hash-max-listpack-entries=128`); repeatable. Defaults are Redis 7.0''s'
            cand --json 'Print one JSON document on stdout instead of tables'
            cand --deep 'Validate every value in depth, as check-rdb does (slower). Without it, values are measured, and the CRC-64 detects corruption'
            cand --base-only 'For an AOF input, analyse only its RDB base or preamble (streaming, in bounded memory) instead of the dataset after replaying every file'
            cand --replay 'Replay a hybrid single-file AOF (RDB preamble + commands) instead of analysing its preamble alone. Directories, manifests and AOFs of commands are always replayed unless `--base-only`'
            cand --no-progress 'Never show progress bars (they are only shown when stderr is a terminal)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'redis-persist;convert-aof-to-hybrid'= {
            cand -o 'Where to write: a new multi-part AOF directory (with `--single-file`, a new file). Must not exist unless `--force`'
            cand --output 'Where to write: a new multi-part AOF directory (with `--single-file`, a new file). Must not exist unless `--force`'
            cand --rdb-version 'RDB version to write: 9 (Redis 5-6.2), 10 (7.0), 11 (7.2, Valkey 7.2-8), 12 (Redis 7.4-8.4), 13 (8.6), 80 (Valkey 9: `VALKEY080`). Default: what the server of the input''s RDB preamble or base writes (80 for a Valkey 9 one), or 10'
            cand --appendfilename 'The file name prefix of the new directory (Redis'' `appendfilename`). Default: the input manifest''s, or `appendonly.aof`'
            cand --now 'Reference time in Unix milliseconds (default: now): keys and hash fields expired at that time are dropped, as a server drops them after loading'
            cand --databases 'Number of databases of the server that wrote the input (its `databases` setting); a file selecting a database beyond it is refused'
            cand --single-file 'Write one file holding the RDB preamble (the hybrid single-file AOF that Redis 4 to 6 read as `appendonly.aof`) instead of a multi-part directory'
            cand --force 'Replace OUTPUT if it exists (a directory only if it holds nothing but AOF files and a manifest)'
            cand --keep-expired 'Keep keys and hash fields already expired at the reference time'
            cand --strict 'Also refuse what is tolerated otherwise: `check-aof` warnings, a truncated last file, commands that fail when replayed'
            cand --json 'Print one JSON document instead of the human summary'
            cand --no-progress 'Never show progress bars (they are only shown when stderr is a terminal)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'redis-persist;salvage'= {
            cand -o 'Where to write the salvaged RDB or AOF (written atomically): a file, or a new multi-part directory for a multi-part AOF input'
            cand --output 'Where to write the salvaged RDB or AOF (written atomically): a file, or a new multi-part directory for a multi-part AOF input'
            cand --duplicates 'Which record of a duplicated key to keep (Redis refuses a file with duplicate keys)'
            cand --rdb-version 'Re-encode the kept records as RDB version N (a version of rewrite''s target table: 9 to 13, or 80 for Valkey 9) instead of copying them as they are in the input''s version'
            cand --lost 'Write the raw bytes of every skipped range and every dropped record to FILE, in input order (their offsets are in the report)'
            cand --force 'Replace OUTPUT (and the `--lost` file) when it exists'
            cand --json 'Print one JSON document on stdout instead of the human report on stderr'
            cand --single-file 'AOF input: write one file (the BASE, then every INCR''s commands) instead of a multi-part directory; with --replay, one hybrid file'
            cand --replay 'AOF input: replay the surviving commands and write the dataset as a hybrid AOF directory (or file, --single-file), as `convert-aof-to-hybrid` does. Memory is then the dataset''s'
            cand --no-progress 'Never show progress bars (they are only shown when stderr is a terminal)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'redis-persist;rewrite'= {
            cand -o 'The RDB to write (atomically; never one of the inputs); with --split-by-slot, the directory receiving one RDB per node (created if missing)'
            cand --output 'The RDB to write (atomically; never one of the inputs); with --split-by-slot, the directory receiving one RDB per node (created if missing)'
            cand --target 'The server line to write for (see below)'
            cand --rdb-version 'Write RDB version N for the first server that writes it (9: Redis 6.2, 10: 7.0, 11: 7.2, 12: 7.4, 13: 8.6, 80: Valkey 9)'
            cand --incompatible 'What the target cannot hold'
            cand --duplicates 'A key in several inputs (or twice in one)'
            cand --db 'Only keys of database N (repeatable)'
            cand --key 'Only keys matching this Redis glob pattern (`KEYS` syntax: `*`, `?`, `[a-z]`, `[^x]`, `\`; repeatable; a key matching any `--key` or `--key-regex` is kept)'
            cand --key-regex 'Only keys matching this regular expression (Rust `regex` syntax, searched anywhere in the key bytes; anchor with `^…$`; `(?-u)` to match arbitrary bytes; repeatable)'
            cand --type 'Only keys of this type (repeatable; `module` includes vector sets)'
            cand --now '"Now" in Unix milliseconds (default: the current time), for --drop-expired and for hash fields already expired when their TTLs are dropped'
            cand --db-map 'Move the keys of database FROM to database TO (repeatable; filters apply to the input''s database numbers)'
            cand --split-by-slot 'Split by cluster hash slot: one RDB per master of LAYOUT, holding exactly the keys of its slots (db 0 only; keys of other databases follow --incompatible). LAYOUT is a number N (N equal ranges, as `redis-cli --cluster create` assigns; files node0.rdb..) or a file: a nodes.conf / CLUSTER NODES text, or `redis-cli --json CLUSTER SHARDS` (files <node-id>.rdb)'
            cand --drop-expired 'Leave out keys whose expire time has passed (relative to --now)'
            cand --aof 'Read every INPUT file as an AOF and replay it (for a hybrid single-file AOF, which would otherwise be read as its RDB preamble and refused)'
            cand --force 'Replace OUTPUT when it exists'
            cand --json 'Print the report as one JSON document on stdout'
            cand --no-progress 'Never show progress bars (they are only shown when stderr is a terminal)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'redis-persist;help'= {
            cand check-rdb 'Validate RDB snapshots (every Redis and Valkey version), checksum included'
            cand check-aof 'Validate an AOF (single file, hybrid, or multi-part directory/manifest); `--fix` repairs it safely'
            cand dump 'Print every key of a snapshot or AOF as JSON Lines, JSON or RESP commands'
            cand stats 'Analyse the whole keyspace in one streaming pass: counts, sizes, biggest keys, prefixes, TTLs, memory estimate'
            cand convert-aof-to-hybrid 'Replay an AOF offline and write it back as an RDB-preamble (hybrid) AOF'
            cand salvage 'Turn a damaged RDB into one the server loads, keeping every key that survived'
            cand rewrite 'Rewrite snapshots for another server: downgrade, Redis <-> Valkey, filter, merge'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'redis-persist;help;check-rdb'= {
        }
        &'redis-persist;help;check-aof'= {
        }
        &'redis-persist;help;dump'= {
        }
        &'redis-persist;help;stats'= {
        }
        &'redis-persist;help;convert-aof-to-hybrid'= {
        }
        &'redis-persist;help;salvage'= {
        }
        &'redis-persist;help;rewrite'= {
        }
        &'redis-persist;help;help'= {
        }
    ]
    $completions[$command]
}
