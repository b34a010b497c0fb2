# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_redis_persist_global_optspecs
    string join \n no-progress h/help V/version
end

function __fish_redis_persist_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_redis_persist_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_redis_persist_using_subcommand
    set -l cmd (__fish_redis_persist_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c redis-persist -n "__fish_redis_persist_needs_command" -l no-progress -d 'Never show progress bars (they are only shown when stderr is a terminal)'
complete -c redis-persist -n "__fish_redis_persist_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c redis-persist -n "__fish_redis_persist_needs_command" -s V -l version -d 'Print version'
complete -c redis-persist -n "__fish_redis_persist_needs_command" -f -a "check-rdb" -d 'Validate RDB snapshots (every Redis and Valkey version), checksum included'
complete -c redis-persist -n "__fish_redis_persist_needs_command" -f -a "check-aof" -d 'Validate an AOF (single file, hybrid, or multi-part directory/manifest); `--fix` repairs it safely'
complete -c redis-persist -n "__fish_redis_persist_needs_command" -f -a "dump" -d 'Print every key of a snapshot or AOF as JSON Lines, JSON or RESP commands'
complete -c redis-persist -n "__fish_redis_persist_needs_command" -f -a "stats" -d 'Analyse the whole keyspace in one streaming pass: counts, sizes, biggest keys, prefixes, TTLs, memory estimate'
complete -c redis-persist -n "__fish_redis_persist_needs_command" -f -a "convert-aof-to-hybrid" -d 'Replay an AOF offline and write it back as an RDB-preamble (hybrid) AOF'
complete -c redis-persist -n "__fish_redis_persist_needs_command" -f -a "salvage" -d 'Turn a damaged RDB into one the server loads, keeping every key that survived'
complete -c redis-persist -n "__fish_redis_persist_needs_command" -f -a "rewrite" -d 'Rewrite snapshots for another server: downgrade, Redis <-> Valkey, filter, merge'
complete -c redis-persist -n "__fish_redis_persist_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand check-rdb" -l now -d 'Reference time for "already expired" counts, in Unix milliseconds (default: now)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand check-rdb" -l threads -d 'Worker threads for files of 8 MiB and more (default: one more than the number of CPUs, which measured fastest as the threads that cut the file are idle part of the time; 1 checks in a single thread, stopping at the first corrupt value)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand check-rdb" -l json -d 'Print one JSON document on stdout instead of the human report'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand check-rdb" -l no-duplicate-check -d 'Do not look for duplicate keys (saves up to 16 bytes of memory per key; Redis refuses to load a file with duplicate keys, redis-check-rdb does not look for them)'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand check-rdb" -l no-progress -d 'Never show progress bars (they are only shown when stderr is a terminal)'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand check-rdb" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand check-rdb" -s V -l version -d 'Print version'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand check-aof" -l backup-dir -d 'Write the backup into DIR instead of beside the file' -r -F
complete -c redis-persist -n "__fish_redis_persist_using_subcommand check-aof" -l truncate-to-timestamp -d 'Cut the last file at the first `#TS:` annotation later than TS (Unix seconds), like `redis-check-aof --truncate-to-timestamp` (with a backup and a confirmation)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand check-aof" -l fix -d 'Repair: truncate the damaged file where `redis-check-aof --fix` would (at the first bad record, or at the start of the unfinished MULTI), after writing a backup'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand check-aof" -s y -l yes -d 'Do not ask for confirmation (needed to change files when standard input is not a terminal)'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand check-aof" -l dry-run -d 'With `--fix` or `--truncate-to-timestamp`: print what would be done, change nothing'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand check-aof" -l force -d 'With `--fix` or `--truncate-to-timestamp`: truncate even when another process holds the file open for writing (by default the run stops with exit 2 and names it: a server still appending would lose writes it acknowledged)'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand check-aof" -l strict -d 'Count every warning (unknown commands, wrong arities, manifest notes) as an error'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand check-aof" -l json -d 'Print one JSON document instead of the human report'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand check-aof" -l no-progress -d 'Never show progress bars (they are only shown when stderr is a terminal)'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand check-aof" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand check-aof" -s V -l version -d 'Print version'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -l format -d 'Output format' -r -f -a "jsonl\t'One JSON object per key and per line'
json\t'One JSON document with a `keys` array'
resp\t'RESP commands that recreate the dataset (`redis-cli --pipe`)'"
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -s o -l output -d 'Write to FILE (atomically: a temporary file renamed into place) instead of standard output' -r -F
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -l db -d 'Only keys of database N (repeatable)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -l key -d 'Only keys matching this Redis glob pattern (`KEYS` syntax: `*`, `?`, `[a-z]`, `[^x]`, `\\`; repeatable; a key matching any `--key` or `--key-regex` is kept)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -l key-regex -d 'Only keys matching this regular expression (Rust `regex` syntax, searched anywhere in the key bytes; anchor with `^…$`; `(?-u)` to match arbitrary bytes; repeatable)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -l type -d 'Only keys of this type (repeatable; `module` includes vector sets)' -r -f -a "string\t'Strings (also bitmaps, `HyperLogLogs`)'
list\t'Lists'
set\t'Sets'
zset\t'Sorted sets'
hash\t'Hashes'
stream\t'Streams'
module\t'Module values'"
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -l now -d '"Now" for the expiry filters, in Unix milliseconds (default: the current time)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -l batch -d 'With --format resp: elements per command for large values (RPUSH, SADD, ZADD, HSET)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -l threads -d 'Threads reading and rendering files of 8 MiB and more, the calling thread included (default: the number of CPUs)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -l expired -d 'Only keys whose expire time has passed (relative to --now)'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -l not-expired -d 'Only keys without an expire time or whose expire time is still ahead'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -l include-expired -d 'With --format resp: also write keys whose expire time has passed (by default they are left out, as a server loading the file drops them; a live server deletes them as soon as their PEXPIREAT runs)'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -l meta -d 'With --format jsonl: also write file-level records (header, aux fields, function libraries, module aux data, end of file), marked by a `record` field. The JSON document always has them'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -l replace -d 'With --format resp: `DEL` every key before recreating it and load functions with `FUNCTION LOAD REPLACE` (for a server that already holds some of the keys)'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -l base-only -d 'For an AOF input, dump only its RDB base or preamble (streaming, in bounded memory) instead of the dataset after replaying every file'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -l replay -d 'Replay a hybrid single-file AOF (RDB preamble + commands) instead of dumping its preamble alone. Directories, manifests and AOFs of commands are always replayed unless `--base-only`'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -l no-progress -d 'Never show progress bars (they are only shown when stderr is a terminal)'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand dump" -s V -l version -d 'Print version'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand stats" -l top -d 'Length of the top lists, and of each level of the prefix tree' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand stats" -l separator -d 'Key prefix separator' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand stats" -l depth -d 'Levels of the prefix tree (0 turns prefix statistics off)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand stats" -l max-prefixes -d 'Distinct prefixes kept before the smallest are folded away (bounds memory on keyspaces with millions of prefixes)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand stats" -l csv -d 'Print one table as CSV on stdout instead of the report' -r -f -a "dbs\t'One row per database'
types\t'One row per data type (all databases)'
db-types\t'One row per database and data type'
encodings\t'Keys and memory per type and in-memory encoding'
rdb-encodings\t'Keys per RDB encoding (type byte)'
top-size\t'The biggest keys by serialized size'
top-elements\t'The keys with the most elements'
top-memory\t'The keys with the largest memory estimate'
prefixes\t'The prefix tree (largest prefixes per level)'
ttl\t'Keys per TTL bucket'
keys\t'Every key (streamed in file order; like a per-key memory report)'"
complete -c redis-persist -n "__fish_redis_persist_using_subcommand stats" -l now -d 'Reference time for TTLs, in Unix milliseconds (default: now)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand stats" -l threads -d 'Worker threads (default: one more than the number of CPUs, as the thread that frames the file is often idle)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand stats" -l server-config -d 'An encoding threshold of the server the estimate is for, as in redis.conf (e.g. `hash-max-listpack-entries=128`); repeatable. Defaults are Redis 7.0\'s' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand stats" -l json -d 'Print one JSON document on stdout instead of tables'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand stats" -l deep -d 'Validate every value in depth, as check-rdb does (slower). Without it, values are measured, and the CRC-64 detects corruption'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand stats" -l base-only -d 'For an AOF input, analyse only its RDB base or preamble (streaming, in bounded memory) instead of the dataset after replaying every file'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand stats" -l replay -d 'Replay a hybrid single-file AOF (RDB preamble + commands) instead of analysing its preamble alone. Directories, manifests and AOFs of commands are always replayed unless `--base-only`'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand stats" -l no-progress -d 'Never show progress bars (they are only shown when stderr is a terminal)'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand stats" -s V -l version -d 'Print version'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand convert-aof-to-hybrid" -s o -l output -d 'Where to write: a new multi-part AOF directory (with `--single-file`, a new file). Must not exist unless `--force`' -r -F
complete -c redis-persist -n "__fish_redis_persist_using_subcommand convert-aof-to-hybrid" -l rdb-version -d 'RDB version to write: 9 (Redis 5-6.2), 10 (7.0), 11 (7.2, Valkey 7.2-8), 12 (Redis 7.4-8.4), 13 (8.6), 80 (Valkey 9: `VALKEY080`). Default: what the server of the input\'s RDB preamble or base writes (80 for a Valkey 9 one), or 10' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand convert-aof-to-hybrid" -l appendfilename -d 'The file name prefix of the new directory (Redis\' `appendfilename`). Default: the input manifest\'s, or `appendonly.aof`' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand convert-aof-to-hybrid" -l now -d 'Reference time in Unix milliseconds (default: now): keys and hash fields expired at that time are dropped, as a server drops them after loading' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand convert-aof-to-hybrid" -l databases -d 'Number of databases of the server that wrote the input (its `databases` setting); a file selecting a database beyond it is refused' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand convert-aof-to-hybrid" -l single-file -d 'Write one file holding the RDB preamble (the hybrid single-file AOF that Redis 4 to 6 read as `appendonly.aof`) instead of a multi-part directory'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand convert-aof-to-hybrid" -l force -d 'Replace OUTPUT if it exists (a directory only if it holds nothing but AOF files and a manifest)'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand convert-aof-to-hybrid" -l keep-expired -d 'Keep keys and hash fields already expired at the reference time'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand convert-aof-to-hybrid" -l strict -d 'Also refuse what is tolerated otherwise: `check-aof` warnings, a truncated last file, commands that fail when replayed'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand convert-aof-to-hybrid" -l json -d 'Print one JSON document instead of the human summary'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand convert-aof-to-hybrid" -l no-progress -d 'Never show progress bars (they are only shown when stderr is a terminal)'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand convert-aof-to-hybrid" -s h -l help -d 'Print help'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand convert-aof-to-hybrid" -s V -l version -d 'Print version'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand salvage" -s o -l output -d 'Where to write the salvaged RDB or AOF (written atomically): a file, or a new multi-part directory for a multi-part AOF input' -r -F
complete -c redis-persist -n "__fish_redis_persist_using_subcommand salvage" -l duplicates -d 'Which record of a duplicated key to keep (Redis refuses a file with duplicate keys)' -r -f -a "first\t'The first record of the key in the file'
last\t'The last record of the key in the file'"
complete -c redis-persist -n "__fish_redis_persist_using_subcommand salvage" -l rdb-version -d 'Re-encode the kept records as RDB version N (a version of rewrite\'s target table: 9 to 13, or 80 for Valkey 9) instead of copying them as they are in the input\'s version' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand salvage" -l lost -d 'Write the raw bytes of every skipped range and every dropped record to FILE, in input order (their offsets are in the report)' -r -F
complete -c redis-persist -n "__fish_redis_persist_using_subcommand salvage" -l force -d 'Replace OUTPUT (and the `--lost` file) when it exists'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand salvage" -l json -d 'Print one JSON document on stdout instead of the human report on stderr'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand salvage" -l single-file -d 'AOF input: write one file (the BASE, then every INCR\'s commands) instead of a multi-part directory; with --replay, one hybrid file'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand salvage" -l replay -d 'AOF input: replay the surviving commands and write the dataset as a hybrid AOF directory (or file, --single-file), as `convert-aof-to-hybrid` does. Memory is then the dataset\'s'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand salvage" -l no-progress -d 'Never show progress bars (they are only shown when stderr is a terminal)'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand salvage" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand salvage" -s V -l version -d 'Print version'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -s o -l output -d 'The RDB to write (atomically; never one of the inputs); with --split-by-slot, the directory receiving one RDB per node (created if missing)' -r -F
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -l target -d 'The server line to write for (see below)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -l rdb-version -d 'Write RDB version N for the first server that writes it (9: Redis 6.2, 10: 7.0, 11: 7.2, 12: 7.4, 13: 8.6, 80: Valkey 9)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -l incompatible -d 'What the target cannot hold' -r -f -a "fail\t'List every such key and library and write nothing (exit 2)'
skip-key\t'Leave such keys out (listed in the report; exit 1)'
drop-feature\t'Drop the feature and keep the key (listed; exit 1): field TTLs (fields already expired are left out), stream IDMP state, stream counters and consumer active times older formats lack, function libraries. A vector set for a server without them is left out'"
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -l duplicates -d 'A key in several inputs (or twice in one)' -r -f -a "fail\t'List every duplicate key and write nothing (exit 2)'
first\t'The first, in input order'
last\t'The last, in input order (reads the inputs twice; not with `-`)'"
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -l db -d 'Only keys of database N (repeatable)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -l key -d 'Only keys matching this Redis glob pattern (`KEYS` syntax: `*`, `?`, `[a-z]`, `[^x]`, `\\`; repeatable; a key matching any `--key` or `--key-regex` is kept)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -l key-regex -d 'Only keys matching this regular expression (Rust `regex` syntax, searched anywhere in the key bytes; anchor with `^…$`; `(?-u)` to match arbitrary bytes; repeatable)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -l type -d 'Only keys of this type (repeatable; `module` includes vector sets)' -r -f -a "string\t'Strings (also bitmaps, `HyperLogLogs`)'
list\t'Lists'
set\t'Sets'
zset\t'Sorted sets'
hash\t'Hashes'
stream\t'Streams'
module\t'Module values'"
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -l now -d '"Now" in Unix milliseconds (default: the current time), for --drop-expired and for hash fields already expired when their TTLs are dropped' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -l db-map -d 'Move the keys of database FROM to database TO (repeatable; filters apply to the input\'s database numbers)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -l split-by-slot -d 'Split by cluster hash slot: one RDB per master of LAYOUT, holding exactly the keys of its slots (db 0 only; keys of other databases follow --incompatible). LAYOUT is a number N (N equal ranges, as `redis-cli --cluster create` assigns; files node0.rdb..) or a file: a nodes.conf / CLUSTER NODES text, or `redis-cli --json CLUSTER SHARDS` (files <node-id>.rdb)' -r
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -l drop-expired -d 'Leave out keys whose expire time has passed (relative to --now)'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -l aof -d 'Read every INPUT file as an AOF and replay it (for a hybrid single-file AOF, which would otherwise be read as its RDB preamble and refused)'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -l force -d 'Replace OUTPUT when it exists'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -l json -d 'Print the report as one JSON document on stdout'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -l no-progress -d 'Never show progress bars (they are only shown when stderr is a terminal)'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand rewrite" -s V -l version -d 'Print version'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand help; and not __fish_seen_subcommand_from check-rdb check-aof dump stats convert-aof-to-hybrid salvage rewrite help" -f -a "check-rdb" -d 'Validate RDB snapshots (every Redis and Valkey version), checksum included'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand help; and not __fish_seen_subcommand_from check-rdb check-aof dump stats convert-aof-to-hybrid salvage rewrite help" -f -a "check-aof" -d 'Validate an AOF (single file, hybrid, or multi-part directory/manifest); `--fix` repairs it safely'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand help; and not __fish_seen_subcommand_from check-rdb check-aof dump stats convert-aof-to-hybrid salvage rewrite help" -f -a "dump" -d 'Print every key of a snapshot or AOF as JSON Lines, JSON or RESP commands'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand help; and not __fish_seen_subcommand_from check-rdb check-aof dump stats convert-aof-to-hybrid salvage rewrite help" -f -a "stats" -d 'Analyse the whole keyspace in one streaming pass: counts, sizes, biggest keys, prefixes, TTLs, memory estimate'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand help; and not __fish_seen_subcommand_from check-rdb check-aof dump stats convert-aof-to-hybrid salvage rewrite help" -f -a "convert-aof-to-hybrid" -d 'Replay an AOF offline and write it back as an RDB-preamble (hybrid) AOF'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand help; and not __fish_seen_subcommand_from check-rdb check-aof dump stats convert-aof-to-hybrid salvage rewrite help" -f -a "salvage" -d 'Turn a damaged RDB into one the server loads, keeping every key that survived'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand help; and not __fish_seen_subcommand_from check-rdb check-aof dump stats convert-aof-to-hybrid salvage rewrite help" -f -a "rewrite" -d 'Rewrite snapshots for another server: downgrade, Redis <-> Valkey, filter, merge'
complete -c redis-persist -n "__fish_redis_persist_using_subcommand help; and not __fish_seen_subcommand_from check-rdb check-aof dump stats convert-aof-to-hybrid salvage rewrite help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
