#!/bin/sh
# Smoke-runs every fuzz target for SMOKE_SECS seconds (default 20), from a seed
# corpus made of spec/vectors and fuzz/examples/make_seeds.rs. Exits non-zero on the
# first crash (libFuzzer leaves the input in fuzz/artifacts/<target>/).
#
#   fuzz/smoke.sh                               # ten targets: ~3.5 minutes plus the build
#   SMOKE_SECS=6 fuzz/smoke.sh                  # CI (.ci/run)
#   SMOKE_SECS=60 TARGETS="head notice" fuzz/smoke.sh   # the runs in spec/fuzzing.md
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a nightly toolchain; without
# one, RUSTC_BOOTSTRAP=1 lets stable build the sanitizer flags.
set -eu
cd "$(dirname "$0")"
SECS="${SMOKE_SECS:-20}"
TARGETS="${TARGETS:-code token envelope bulletin descriptor sheet head certificate daykeys notice client_snapshot client_keyslot display_file decode_luma}"
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    CARGO="cargo +nightly"
else
    CARGO="cargo"
    RUSTC_BOOTSTRAP=1
    export RUSTC_BOOTSTRAP
fi
# The protocol crate forbids unsafe code; without ASan a run does ~3x more
# executions, and debug assertions (overflow checks) stay on.
$CARGO run --quiet --release --example make_seeds
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for t in $TARGETS; do
    echo "== $t ($SECS s)"
    mkdir -p "corpus/$t"
    # A crash, a failed build or any other failure stops the script non-zero.
    if ! nice -n 19 $CARGO fuzz run -s none "$t" "corpus/$t" -- \
        -max_total_time="$SECS" -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "fuzz target $t failed; a crashing input is in fuzz/artifacts/$t/" >&2
        exit 1
    fi
    grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units' "$log" || true
done
