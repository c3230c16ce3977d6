#!/bin/sh
# generate-man.sh -- regenerate docs/man/tokenctl.1 and docs/man/token-responder.8 from the
# argument parsers, with swift-argument-parser's generate-manual plugin (it builds the package in
# release mode first).  Run it after changing an option, a help text or the discussion, and
# commit the result: the Debian package installs these files, and
# Tests/Integration/test_packaging.py fails when an option of --help is missing from them.
#
#   scripts/generate-man.sh
#
# The date on the pages is the top entry's of debian/changelog, so regenerating an unchanged
# parser gives byte-identical pages.  Blank lines of the discussion become paragraph breaks
# (.Pp; mdoc warns about empty lines), and a SEE ALSO section is added.
set -eu
cd "$(dirname "$0")/.."
PATH=/opt/swift/usr/bin:$PATH
date=$(sed -n 's/^ -- .*>  \(.*\)$/\1/p' debian/changelog | head -n 1)
day=$(date -u -d "$date" +%Y-%m-%d)
out=.build/plugins/GenerateManual/outputs

# fix PAGE SEEALSO: blank lines to .Pp, then the SEE ALSO section.
fix() {
    awk -v seealso="$2" '
        /^$/ { print ".Pp"; next }
        { print }
        END {
            print ".Sh SEE ALSO"
            n = split(seealso, xr, " ")
            for (i = 1; i <= n; i += 2) print ".Xr " xr[i] " " xr[i + 1] (i + 2 <= n ? " ," : "")
        }' "$1"
}

mkdir -p docs/man
swift package --allow-writing-to-package-directory generate-manual --section 1 --date "$day"
fix "$out/tokenctl/tokenctl.1" "token-responder 8 sqlite3 1 psql 1" >docs/man/tokenctl.1
swift package --allow-writing-to-package-directory generate-manual --section 8 --date "$day"
fix "$out/token-responder/token-responder.8" "tokenctl 1 nginx 8 spawn-fcgi 1 fcgiwrap 8 systemd.socket 5" >docs/man/token-responder.8
# generate-manual drops every character outside ASCII (the Chinese column names of the import
# examples among them): put them back from the parsers' own help.
bin=$(swift build -c release --show-bin-path)
scripts/man-restore-text.py docs/man/tokenctl.1 "$bin/tokenctl"
scripts/man-restore-text.py docs/man/token-responder.8 "$bin/token-responder"
echo "wrote docs/man/tokenctl.1 docs/man/token-responder.8"
