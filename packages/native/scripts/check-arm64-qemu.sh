#!/usr/bin/env bash
# Run the linux-arm64-gnu prebuilt binary on an x86-64 Debian 12 machine, under qemu-user, with
# Debian's own arm64 Node (18): build it with the cross compiler, load it through the loader
# (lib/select.cjs), run test/addon.test.mjs (float64 references) and compare every kernel's
# outputs with the best x64 variant's (test/fixtures/variant-kernels.cjs). A manual check, not
# part of CI: it needs root (apt) and ~40 MB of Debian packages.
#   bash packages/native/scripts/check-arm64-qemu.sh [work dir, default /tmp/nfdm-arm64]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-/tmp/nfdm-arm64}"
root="$work/root"

dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++-aarch64-linux-gnu qemu-user </dev/null
mkdir -p "$work/debs" "$root"
(cd "$work/debs" && apt-get download -qq nodejs:arm64 libnode108:arm64 libuv1:arm64 libc-ares2:arm64 libnghttp2-14:arm64 \
  libbrotli1:arm64 libicu72:arm64 libssl3:arm64 zlib1g:arm64 libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 \
  node-cjs-module-lexer node-acorn node-undici)
for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$root"; done
node "$here/scripts/prebuild.mjs" linux-arm64-gnu --strict

arm64() { NFDM_NATIVE_VARIANT=baseline qemu-aarch64 -L "$root" "$root/usr/bin/node" "$@"; }
arm64 -e 'console.log(process.arch, process.version)'
# node --test would spawn the arm64 node without qemu: run the test file directly.
(cd "$here" && arm64 test/addon.test.mjs)
(cd "$here" && arm64 test/fixtures/variant-kernels.cjs >"$work/arm64.json")
(cd "$here" && NFDM_NATIVE_VARIANT= node test/fixtures/variant-kernels.cjs >"$work/host.json")
node -e '
const [a, b] = [process.argv[1], process.argv[2]].map((f) => require(f));
let worst = 0, n = 0;
for (const [k, o] of Object.entries(b.outputs))
  for (const [w, v] of Object.entries(o)) {
    if (v === null) continue;
    const fa = [a.outputs[k][w]].flat(9), fb = [v].flat(9);
    let d = 0, s = 1e-3;
    for (let i = 0; i < fb.length; i++) { d = Math.max(d, Math.abs(fa[i] - fb[i])); s = Math.max(s, Math.abs(fb[i])); }
    worst = Math.max(worst, d / s); n++;
  }
console.log(`${a.status.variant} (${a.status.platform}) vs ${b.status.variant}: ${n} outputs, worst relative error ${worst.toExponential(2)}`);
if (!(worst < 2e-5)) process.exit(1);
' "$work/arm64.json" "$work/host.json"
