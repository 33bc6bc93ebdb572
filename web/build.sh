#!/usr/bin/env bash
# Builds the phone web app and the venue display page into one static directory:
#
#   web/build.sh [OUT]          (default: web/dist)
#
#   OUT/index.html              app shell, served at /, /C and /c   (never cached)
#   OUT/display.html            venue display shell, served at /display (never cached)
#   OUT/sw.js                   service worker                       (never cached)
#   OUT/manifest.webmanifest    install manifest                     (never cached)
#   OUT/a/<hash>/...            every other file; <hash> is a digest of their bytes,
#                               so the directory is immutable and cached forever
#
# It uses only cargo and the wasm-bindgen CLI, pinned to the wasm-bindgen crate's
# exact version (no wasm-pack, no download at build time):
#   cargo install wasm-bindgen-cli --version 0.2.130
# The same sources and toolchain give the same bytes and the same <hash>.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/web/dist}"
want="0.2.130"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" || true
if [ "$have" != "$want" ]; then
  echo "web/build.sh: needs wasm-bindgen CLI $want (found: ${have:-none});" >&2
  echo "  install it with: cargo install wasm-bindgen-cli --version $want" >&2
  exit 1
fi
target="${CARGO_TARGET_DIR:-$root/target}"
# Size: whole-program optimisation, no unwinding, and optimised for size ("s")
# for the browser build only (the native release profile is left as the workspace
# sets it). The crates on the matching path (curve25519, X25519, ChaCha20-Poly1305,
# SHA-2, the protocol) keep opt-level 3: matching an outbreak day in wasm must stay
# within 2x native (cargo bench -p quet-web --bench browser_budgets).
profile=(--config 'profile.release.lto=true' --config 'profile.release.codegen-units=1'
  --config 'profile.release.panic="abort"' --config 'profile.release.debug=0'
  --config 'profile.release.opt-level="s"')
for crate in curve25519-dalek x25519-dalek ed25519-dalek chacha20 poly1305 chacha20poly1305 sha2 quet-protocol; do
  profile+=(--config "profile.release.package.$crate.opt-level=3")
done
wasm="$target/wasm32-unknown-unknown/release"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/assets" "$stage/site"
bindgen() { # OUT-NAME CARGO-WASM-NAME
  wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
    --out-dir "$stage/assets" --out-name "$1" "$wasm/$2.wasm"
}
cd "$root"
# Three wasm files: the phone app without the venue display's code or a QR
# decoder (quet_web); the display page (quet_display, feature "display", no phone
# UI needs it), so a phone never downloads the display-file parser or QR encoder;
# and the in-app scanner (quet_scanner, crate web/scanner: rxing), which the page
# loads only when its camera opens, so opening a venue's link never downloads it.
cargo build -q -p quet-web --lib --target wasm32-unknown-unknown --release --no-default-features "${profile[@]}"
bindgen quet_web quet_web
cargo build -q -p quet-web --lib --target wasm32-unknown-unknown --release --features display "${profile[@]}"
bindgen quet_display quet_web
cargo build -q -p quet-scanner --lib --target wasm32-unknown-unknown --release "${profile[@]}"
bindgen quet_scanner quet_scanner
cp -R "$root/web/app/assets/." "$stage/assets/"

# The version: a digest of every asset's name and bytes, in a fixed order.
hash="$(cd "$stage/assets" && find . -type f | LC_ALL=C sort | while read -r f; do
  printf '%s\n' "$f"; sha256sum < "$f"; done | sha256sum | cut -c1-16)"
list="$(cd "$stage/assets" && find . -type f | LC_ALL=C sort | sed "s|^\./|/a/$hash/|" \
  | awk 'BEGIN{ORS=""; print "["} {if (NR>1) print ","; print "\"" $0 "\""} END{print "]"}')"

mkdir -p "$stage/site/a"
mv "$stage/assets" "$stage/site/a/$hash"
for f in index.html display.html sw.js manifest.webmanifest; do
  [ -e "$root/web/app/$f" ] || continue
  sed -e "s|__ASSETS__|/a/$hash|g" -e "s|__VERSION__|$hash|g" -e "s|\"__ASSET_LIST__\"|$list|g" \
    "$root/web/app/$f" > "$stage/site/$f"
done

# Replace OUT in one step, so a server reading it never sees half a build.
mkdir -p "$(dirname "$out")"
rm -rf "$out.new" "$out.old"
cp -R "$stage/site" "$out.new"
if [ -e "$out" ]; then mv "$out" "$out.old"; fi
mv "$out.new" "$out"
rm -rf "$out.old"
echo "web/build.sh: built version $hash into $out"
