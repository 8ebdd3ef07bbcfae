#!/usr/bin/env bash
# The README's two commands share one build: `cargo build --release` and `cargo test --release`
# must compile every dependency the same way (same features, so the same artifact), or the
# second command rebuilds ~140 crates. A test-only dependency that enables another feature of a
# shared crate (tempfile's rustix turns on bitflags/std, tokio bytes/std, url syn/fold) breaks
# it. This compares the dependency artifacts (file names carry a hash of the features) of both
# builds: every one `cargo build` uses must be one `cargo test` uses. Both builds are cargo's
# usual ones (fresh when run after the tests, so this takes seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

# The artifacts of every compiled unit but optsurf's own, one file name a line.
artifacts() {
    cargo "$@" --release --message-format=json 2>/dev/null |
        grep '"reason":"compiler-artifact"' |
        grep -v '#optsurf@' |
        grep -o '"filenames":\[[^]]*\]' |
        grep -o '"[^"]*"' | grep -v '"filenames"' | tr -d '"' | sort -u
}

build=$(mktemp)
tests=$(mktemp)
trap 'rm -f "$build" "$tests"' EXIT
artifacts build >"$build"
artifacts test --no-run >"$tests"
if [ ! -s "$build" ]; then
    echo "check-shared-build: cargo build gave no dependency artifacts" >&2
    exit 1
fi
missing=$(comm -23 "$build" "$tests")
if [ -n "$missing" ]; then
    echo "cargo test --release builds these dependencies differently from cargo build --release" >&2
    echo "(a dev-dependency enables other features of them; see Cargo.toml's [dev-dependencies]):" >&2
    echo "$missing" | sed 's|.*/||; s/^lib//; s/-[0-9a-f]*\..*$//' | sort -u | sed 's/^/  /' >&2
    exit 1
fi
echo "cargo build and cargo test share all $(wc -l <"$build") dependency artifacts"
