#!/usr/bin/env bash
# The whole test suite: the lint (swift-format, configured by .swift-format), unit tests
# (swift test), then end-to-end tests that start the real binaries and a real nginx over HTTPS
# on loopback (pytest, Tests/Integration).
# Usage: scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --tests
swift-format lint --strict --recursive Sources Tests Package.swift
swift build --build-tests
swift test --skip-build
TOKEN_BIN_DIR="$(swift build --show-bin-path)" python3 -m pytest -q Tests/Integration "$@"
