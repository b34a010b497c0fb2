
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'redis-persist' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'redis-persist'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'redis-persist' {
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress bars (they are only shown when stderr is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('check-rdb', 'check-rdb', [CompletionResultType]::ParameterValue, 'Validate RDB snapshots (every Redis and Valkey version), checksum included')
            [CompletionResult]::new('check-aof', 'check-aof', [CompletionResultType]::ParameterValue, 'Validate an AOF (single file, hybrid, or multi-part directory/manifest); `--fix` repairs it safely')
            [CompletionResult]::new('dump', 'dump', [CompletionResultType]::ParameterValue, 'Print every key of a snapshot or AOF as JSON Lines, JSON or RESP commands')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Analyse the whole keyspace in one streaming pass: counts, sizes, biggest keys, prefixes, TTLs, memory estimate')
            [CompletionResult]::new('convert-aof-to-hybrid', 'convert-aof-to-hybrid', [CompletionResultType]::ParameterValue, 'Replay an AOF offline and write it back as an RDB-preamble (hybrid) AOF')
            [CompletionResult]::new('salvage', 'salvage', [CompletionResultType]::ParameterValue, 'Turn a damaged RDB into one the server loads, keeping every key that survived')
            [CompletionResult]::new('rewrite', 'rewrite', [CompletionResultType]::ParameterValue, 'Rewrite snapshots for another server: downgrade, Redis <-> Valkey, filter, merge')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'redis-persist;check-rdb' {
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Reference time for "already expired" counts, in Unix milliseconds (default: now)')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Worker threads for files of 8 MiB and more (default: one more than the number of CPUs, which measured fastest as the threads that cut the file are idle part of the time; 1 checks in a single thread, stopping at the first corrupt value)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of the human report')
            [CompletionResult]::new('--no-duplicate-check', '--no-duplicate-check', [CompletionResultType]::ParameterName, 'Do not look for duplicate keys (saves up to 16 bytes of memory per key; Redis refuses to load a file with duplicate keys, redis-check-rdb does not look for them)')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress bars (they are only shown when stderr is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'redis-persist;check-aof' {
            [CompletionResult]::new('--backup-dir', '--backup-dir', [CompletionResultType]::ParameterName, 'Write the backup into DIR instead of beside the file')
            [CompletionResult]::new('--truncate-to-timestamp', '--truncate-to-timestamp', [CompletionResultType]::ParameterName, 'Cut the last file at the first `#TS:` annotation later than TS (Unix seconds), like `redis-check-aof --truncate-to-timestamp` (with a backup and a confirmation)')
            [CompletionResult]::new('--fix', '--fix', [CompletionResultType]::ParameterName, 'Repair: truncate the damaged file where `redis-check-aof --fix` would (at the first bad record, or at the start of the unfinished MULTI), after writing a backup')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (needed to change files when standard input is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (needed to change files when standard input is not a terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'With `--fix` or `--truncate-to-timestamp`: print what would be done, change nothing')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'With `--fix` or `--truncate-to-timestamp`: truncate even when another process holds the file open for writing (by default the run stops with exit 2 and names it: a server still appending would lose writes it acknowledged)')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Count every warning (unknown commands, wrong arities, manifest notes) as an error')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of the human report')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress bars (they are only shown when stderr is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'redis-persist;dump' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write to FILE (atomically: a temporary file renamed into place) instead of standard output')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write to FILE (atomically: a temporary file renamed into place) instead of standard output')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Only keys of database N (repeatable)')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Only keys matching this Redis glob pattern (`KEYS` syntax: `*`, `?`, `[a-z]`, `[^x]`, `\`; repeatable; a key matching any `--key` or `--key-regex` is kept)')
            [CompletionResult]::new('--key-regex', '--key-regex', [CompletionResultType]::ParameterName, 'Only keys matching this regular expression (Rust `regex` syntax, searched anywhere in the key bytes; anchor with `^…$`; `(?-u)` to match arbitrary bytes; repeatable)')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Only keys of this type (repeatable; `module` includes vector sets)')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, '"Now" for the expiry filters, in Unix milliseconds (default: the current time)')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'With --format resp: elements per command for large values (RPUSH, SADD, ZADD, HSET)')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Threads reading and rendering files of 8 MiB and more, the calling thread included (default: the number of CPUs)')
            [CompletionResult]::new('--expired', '--expired', [CompletionResultType]::ParameterName, 'Only keys whose expire time has passed (relative to --now)')
            [CompletionResult]::new('--not-expired', '--not-expired', [CompletionResultType]::ParameterName, 'Only keys without an expire time or whose expire time is still ahead')
            [CompletionResult]::new('--include-expired', '--include-expired', [CompletionResultType]::ParameterName, 'With --format resp: also write keys whose expire time has passed (by default they are left out, as a server loading the file drops them; a live server deletes them as soon as their PEXPIREAT runs)')
            [CompletionResult]::new('--meta', '--meta', [CompletionResultType]::ParameterName, 'With --format jsonl: also write file-level records (header, aux fields, function libraries, module aux data, end of file), marked by a `record` field. The JSON document always has them')
            [CompletionResult]::new('--replace', '--replace', [CompletionResultType]::ParameterName, 'With --format resp: `DEL` every key before recreating it and load functions with `FUNCTION LOAD REPLACE` (for a server that already holds some of the keys)')
            [CompletionResult]::new('--base-only', '--base-only', [CompletionResultType]::ParameterName, 'For an AOF input, dump only its RDB base or preamble (streaming, in bounded memory) instead of the dataset after replaying every file')
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Replay a hybrid single-file AOF (RDB preamble + commands) instead of dumping its preamble alone. Directories, manifests and AOFs of commands are always replayed unless `--base-only`')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress bars (they are only shown when stderr is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'redis-persist;stats' {
            [CompletionResult]::new('--top', '--top', [CompletionResultType]::ParameterName, 'Length of the top lists, and of each level of the prefix tree')
            [CompletionResult]::new('--separator', '--separator', [CompletionResultType]::ParameterName, 'Key prefix separator')
            [CompletionResult]::new('--depth', '--depth', [CompletionResultType]::ParameterName, 'Levels of the prefix tree (0 turns prefix statistics off)')
            [CompletionResult]::new('--max-prefixes', '--max-prefixes', [CompletionResultType]::ParameterName, 'Distinct prefixes kept before the smallest are folded away (bounds memory on keyspaces with millions of prefixes)')
            [CompletionResult]::new('--csv', '--csv', [CompletionResultType]::ParameterName, 'Print one table as CSV on stdout instead of the report')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Reference time for TTLs, in Unix milliseconds (default: now)')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Worker threads (default: one more than the number of CPUs, as the thread that frames the file is often idle)')
            [CompletionResult]::new('--server-config', '--server-config', [CompletionResultType]::ParameterName, 'An encoding threshold of the server the estimate is for, as in redis.conf (e.g. `hash-max-listpack-entries=128`); repeatable. Defaults are Redis 7.0''s')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of tables')
            [CompletionResult]::new('--deep', '--deep', [CompletionResultType]::ParameterName, 'Validate every value in depth, as check-rdb does (slower). Without it, values are measured, and the CRC-64 detects corruption')
            [CompletionResult]::new('--base-only', '--base-only', [CompletionResultType]::ParameterName, 'For an AOF input, analyse only its RDB base or preamble (streaming, in bounded memory) instead of the dataset after replaying every file')
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Replay a hybrid single-file AOF (RDB preamble + commands) instead of analysing its preamble alone. Directories, manifests and AOFs of commands are always replayed unless `--base-only`')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress bars (they are only shown when stderr is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'redis-persist;convert-aof-to-hybrid' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to write: a new multi-part AOF directory (with `--single-file`, a new file). Must not exist unless `--force`')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Where to write: a new multi-part AOF directory (with `--single-file`, a new file). Must not exist unless `--force`')
            [CompletionResult]::new('--rdb-version', '--rdb-version', [CompletionResultType]::ParameterName, 'RDB version to write: 9 (Redis 5-6.2), 10 (7.0), 11 (7.2, Valkey 7.2-8), 12 (Redis 7.4-8.4), 13 (8.6), 80 (Valkey 9: `VALKEY080`). Default: what the server of the input''s RDB preamble or base writes (80 for a Valkey 9 one), or 10')
            [CompletionResult]::new('--appendfilename', '--appendfilename', [CompletionResultType]::ParameterName, 'The file name prefix of the new directory (Redis'' `appendfilename`). Default: the input manifest''s, or `appendonly.aof`')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Reference time in Unix milliseconds (default: now): keys and hash fields expired at that time are dropped, as a server drops them after loading')
            [CompletionResult]::new('--databases', '--databases', [CompletionResultType]::ParameterName, 'Number of databases of the server that wrote the input (its `databases` setting); a file selecting a database beyond it is refused')
            [CompletionResult]::new('--single-file', '--single-file', [CompletionResultType]::ParameterName, 'Write one file holding the RDB preamble (the hybrid single-file AOF that Redis 4 to 6 read as `appendonly.aof`) instead of a multi-part directory')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace OUTPUT if it exists (a directory only if it holds nothing but AOF files and a manifest)')
            [CompletionResult]::new('--keep-expired', '--keep-expired', [CompletionResultType]::ParameterName, 'Keep keys and hash fields already expired at the reference time')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Also refuse what is tolerated otherwise: `check-aof` warnings, a truncated last file, commands that fail when replayed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document instead of the human summary')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress bars (they are only shown when stderr is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'redis-persist;salvage' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to write the salvaged RDB or AOF (written atomically): a file, or a new multi-part directory for a multi-part AOF input')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Where to write the salvaged RDB or AOF (written atomically): a file, or a new multi-part directory for a multi-part AOF input')
            [CompletionResult]::new('--duplicates', '--duplicates', [CompletionResultType]::ParameterName, 'Which record of a duplicated key to keep (Redis refuses a file with duplicate keys)')
            [CompletionResult]::new('--rdb-version', '--rdb-version', [CompletionResultType]::ParameterName, 'Re-encode the kept records as RDB version N (a version of rewrite''s target table: 9 to 13, or 80 for Valkey 9) instead of copying them as they are in the input''s version')
            [CompletionResult]::new('--lost', '--lost', [CompletionResultType]::ParameterName, 'Write the raw bytes of every skipped range and every dropped record to FILE, in input order (their offsets are in the report)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace OUTPUT (and the `--lost` file) when it exists')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON document on stdout instead of the human report on stderr')
            [CompletionResult]::new('--single-file', '--single-file', [CompletionResultType]::ParameterName, 'AOF input: write one file (the BASE, then every INCR''s commands) instead of a multi-part directory; with --replay, one hybrid file')
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'AOF input: replay the surviving commands and write the dataset as a hybrid AOF directory (or file, --single-file), as `convert-aof-to-hybrid` does. Memory is then the dataset''s')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress bars (they are only shown when stderr is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'redis-persist;rewrite' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The RDB to write (atomically; never one of the inputs); with --split-by-slot, the directory receiving one RDB per node (created if missing)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The RDB to write (atomically; never one of the inputs); with --split-by-slot, the directory receiving one RDB per node (created if missing)')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'The server line to write for (see below)')
            [CompletionResult]::new('--rdb-version', '--rdb-version', [CompletionResultType]::ParameterName, 'Write RDB version N for the first server that writes it (9: Redis 6.2, 10: 7.0, 11: 7.2, 12: 7.4, 13: 8.6, 80: Valkey 9)')
            [CompletionResult]::new('--incompatible', '--incompatible', [CompletionResultType]::ParameterName, 'What the target cannot hold')
            [CompletionResult]::new('--duplicates', '--duplicates', [CompletionResultType]::ParameterName, 'A key in several inputs (or twice in one)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Only keys of database N (repeatable)')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Only keys matching this Redis glob pattern (`KEYS` syntax: `*`, `?`, `[a-z]`, `[^x]`, `\`; repeatable; a key matching any `--key` or `--key-regex` is kept)')
            [CompletionResult]::new('--key-regex', '--key-regex', [CompletionResultType]::ParameterName, 'Only keys matching this regular expression (Rust `regex` syntax, searched anywhere in the key bytes; anchor with `^…$`; `(?-u)` to match arbitrary bytes; repeatable)')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Only keys of this type (repeatable; `module` includes vector sets)')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, '"Now" in Unix milliseconds (default: the current time), for --drop-expired and for hash fields already expired when their TTLs are dropped')
            [CompletionResult]::new('--db-map', '--db-map', [CompletionResultType]::ParameterName, 'Move the keys of database FROM to database TO (repeatable; filters apply to the input''s database numbers)')
            [CompletionResult]::new('--split-by-slot', '--split-by-slot', [CompletionResultType]::ParameterName, 'Split by cluster hash slot: one RDB per master of LAYOUT, holding exactly the keys of its slots (db 0 only; keys of other databases follow --incompatible). LAYOUT is a number N (N equal ranges, as `redis-cli --cluster create` assigns; files node0.rdb..) or a file: a nodes.conf / CLUSTER NODES text, or `redis-cli --json CLUSTER SHARDS` (files <node-id>.rdb)')
            [CompletionResult]::new('--drop-expired', '--drop-expired', [CompletionResultType]::ParameterName, 'Leave out keys whose expire time has passed (relative to --now)')
            [CompletionResult]::new('--aof', '--aof', [CompletionResultType]::ParameterName, 'Read every INPUT file as an AOF and replay it (for a hybrid single-file AOF, which would otherwise be read as its RDB preamble and refused)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace OUTPUT when it exists')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the report as one JSON document on stdout')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress bars (they are only shown when stderr is a terminal)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'redis-persist;help' {
            [CompletionResult]::new('check-rdb', 'check-rdb', [CompletionResultType]::ParameterValue, 'Validate RDB snapshots (every Redis and Valkey version), checksum included')
            [CompletionResult]::new('check-aof', 'check-aof', [CompletionResultType]::ParameterValue, 'Validate an AOF (single file, hybrid, or multi-part directory/manifest); `--fix` repairs it safely')
            [CompletionResult]::new('dump', 'dump', [CompletionResultType]::ParameterValue, 'Print every key of a snapshot or AOF as JSON Lines, JSON or RESP commands')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Analyse the whole keyspace in one streaming pass: counts, sizes, biggest keys, prefixes, TTLs, memory estimate')
            [CompletionResult]::new('convert-aof-to-hybrid', 'convert-aof-to-hybrid', [CompletionResultType]::ParameterValue, 'Replay an AOF offline and write it back as an RDB-preamble (hybrid) AOF')
            [CompletionResult]::new('salvage', 'salvage', [CompletionResultType]::ParameterValue, 'Turn a damaged RDB into one the server loads, keeping every key that survived')
            [CompletionResult]::new('rewrite', 'rewrite', [CompletionResultType]::ParameterValue, 'Rewrite snapshots for another server: downgrade, Redis <-> Valkey, filter, merge')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'redis-persist;help;check-rdb' {
            break
        }
        'redis-persist;help;check-aof' {
            break
        }
        'redis-persist;help;dump' {
            break
        }
        'redis-persist;help;stats' {
            break
        }
        'redis-persist;help;convert-aof-to-hybrid' {
            break
        }
        'redis-persist;help;salvage' {
            break
        }
        'redis-persist;help;rewrite' {
            break
        }
        'redis-persist;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
