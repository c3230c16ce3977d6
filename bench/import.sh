#!/usr/bin/env bash
# Import and export speed against the sqlite3 CLI, one after the other on the same file:
#   sqlite3 .import into a two-column table with a primary key (the reference),
#   tokenctl import into an empty store, tokenctl import --replace of the same file into the
#   full store, and tokenctl export of the 1M rows. Peak RSS from /usr/bin/time.
# env: ROWS (1000000), DATA (/tmp/udesk-bench-data)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}; DATA=${DATA:-/tmp/udesk-bench-data}/$ROWS
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
[ -x "$bin/tokenctl" ] || swift build -c release --static-swift-stdlib >/dev/null
[ -f "$DATA/tokens.csv" ] || python3 bench/gen_data.py "$ROWS" "$DATA" >/dev/null
work=$(mktemp -d /tmp/udesk-import.XXXX); trap 'rm -rf "$work"' EXIT
t() { /usr/bin/time -f "%e s  peak RSS %M KB" "$@" 2>&1 >/dev/null | tail -1; }
printf "%-44s %s\n" "sqlite3 .import (2 columns, primary key)" \
  "$(t sqlite3 "$work/ref.db" "CREATE TABLE tokens(number TEXT PRIMARY KEY, customer_token TEXT NOT NULL);" ".import --csv --skip 1 $DATA/tokens.csv tokens")"
printf "%-44s %s\n" "tokenctl import (empty store)" "$(t "$bin/tokenctl" --store "$work/store.db" import "$DATA/tokens.csv")"
printf "%-44s %s\n" "tokenctl import --replace (same rows)" "$(t "$bin/tokenctl" --store "$work/store.db" import --replace "$DATA/tokens.csv")"
printf "%-44s %s\n" "tokenctl export (to a file)" "$(t "$bin/tokenctl" --store "$work/store.db" export "$work/out.csv")"
