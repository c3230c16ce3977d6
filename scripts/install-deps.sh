#!/usr/bin/env bash
# Installs what building and running need on Debian/Ubuntu, skipping what is already there;
# with --tests also what the test suite needs (pytest, libphonenumber for Python).
# Idempotent; uses sudo when not run as root. Swift itself must already be on PATH.
set -euo pipefail
packages=(pkg-config libfcgi-dev libfcgi-bin libsqlite3-dev sqlite3 libpq-dev libcurl4-openssl-dev nginx-light openssl curl spawn-fcgi wrk fcgiwrap)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Any nginx flavour will do.
if [[ " ${missing[*]} " == *" nginx-light "* ]] && [ -x /usr/sbin/nginx ]; then
  missing=("${missing[@]/nginx-light}")
fi
read -r -a missing <<<"${missing[*]}"
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "==> installing ${missing[*]}"
  $sudo apt-get update -qq
  # nginx's postinst may try to start the stock site; harmless where there is no init system.
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    # Newer Debian/Ubuntu releases no longer have the nginx-light flavour.
    missing=("${missing[@]/nginx-light/nginx}")
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
if [ "${1:-}" = "--tests" ] && ! python3 -c 'import pytest, phonenumbers' 2>/dev/null; then
  echo "==> installing pytest and phonenumbers (pip)"
  python3 -m pip install -q pytest phonenumbers
fi
command -v swift >/dev/null || { echo "swift is not on PATH: install a Swift 6 toolchain (https://www.swift.org/install/)" >&2; exit 1; }
