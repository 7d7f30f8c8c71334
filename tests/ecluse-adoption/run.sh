#!/usr/bin/env bash
# ecluse on limier: builds ecluse 0.3.1 from its crates.io source with
# ecluse-0.3.1-on-limier.patch (its orphaned-services fix, and its lsof,
# pgrep and kill shell-outs replaced by limier's one-call API, limier as a
# path dependency without the CLI), then runs ecluse's own tests and the
# fix's test plan (plan.sh) against the patched binary.
#
#   bash tests/ecluse-adoption/run.sh
#
# Needs git, tmux, python3 and network access to crates.io. Run by .ci/run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work="$root/target/ecluse-on-limier"
crate="$work/ecluse-0.3.1.crate"
sha256=4ff88061ac4989793d92128902dc8cd085dd398895a5069948828101a189f3e7
mkdir -p "$work"

if ! echo "$sha256  $crate" | sha256sum -c --quiet >/dev/null 2>&1; then
  cached=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/ecluse-0.3.1.crate 2>/dev/null | head -n 1 || true)
  if [ -n "$cached" ]; then
    cp "$cached" "$crate"
  else
    curl -sSfL https://static.crates.io/crates/ecluse/ecluse-0.3.1.crate -o "$crate"
  fi
  echo "$sha256  $crate" | sha256sum -c --quiet
fi
rm -rf "$work/ecluse-0.3.1"
tar -xzf "$crate" -C "$work"
(cd "$work/ecluse-0.3.1" && patch -s -p1 < "$here/ecluse-0.3.1-on-limier.patch")

# The library as an adopter sees it: no CLI crates in ecluse's build.
if (cd "$work/ecluse-0.3.1" && cargo tree -e normal -i clap_mangen >/dev/null 2>&1); then
  echo "ecluse-on-limier: limier pulled in its CLI's crates" >&2
  exit 1
fi

ecluse_target="$work/target"
cd "$work/ecluse-0.3.1"
CARGO_TARGET_DIR="$ecluse_target" cargo build --bin ecluse
CARGO_TARGET_DIR="$ecluse_target" cargo test --bin ecluse
# The integration tests that can run here: all of tests/integration.rs
# (tests/docker_e2e.rs needs a Docker engine).
CARGO_TARGET_DIR="$ecluse_target" cargo test --test integration
cd "$root"
cargo build --bin limier
bash "$here/plan.sh" "$ecluse_target/debug/ecluse" "$root/target/debug/limier"
