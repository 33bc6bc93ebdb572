#!/usr/bin/env bash
# Builds the phone web app: the wasm core plus the JS glue from the wasm-bindgen CLI
# (whose version must equal the wasm-bindgen crate's, pinned in web/Cargo.toml):
#   cargo install wasm-bindgen-cli --version 0.2.130
# Output: web/static/pkg/, served next to web/static/index.html by any web server.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -p quet-web --target wasm32-unknown-unknown --release
wasm-bindgen --target web --no-typescript --out-dir web/static/pkg \
  "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/quet_web.wasm"
echo "built web/static/pkg; serve web/static/ and open /c#<code>"
