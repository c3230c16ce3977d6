#!/usr/bin/env bash
# Why the store uses SQLite's C API rather than GRDB: the cost of one plain-CGI-style lookup
# (process start, open the 1M-row store read-only, one query) with each, static Swift runtime,
# release build; plus binary sizes. Needs hyperfine and a store made by bench/run.sh.
set -euo pipefail
cd "$(dirname "$0")/store-choice"
ROWS=${ROWS:-1000000}; STORE=${DATA:-/tmp/udesk-bench-data}/$ROWS/store.db
[ -f "$STORE" ] || { echo "no store at $STORE: run bench/run.sh first" >&2; exit 1; }
swift build -c release --static-swift-stdlib >/dev/null
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
key=$(sqlite3 "$STORE" "SELECT number FROM tokens LIMIT 1 OFFSET 4242")
"$bin/raw-lookup" "$STORE" "$key"; "$bin/grdb-lookup" "$STORE" "$key"
ls -l "$bin/raw-lookup" "$bin/grdb-lookup" | awk '{print $5, $NF}'
hyperfine -N --warmup 20 --runs 300 "$bin/raw-lookup $STORE $key" "$bin/grdb-lookup $STORE $key" 2>&1 | grep -E "Benchmark|Time"
