#!/bin/sh
# Build the linux-x64 (glibc) prebuild of @adapterkit/native from Debian's packages:
#   apt-get install g++ nodejs libnode-dev libopenblas-dev   (or node-gyp's headers: NODE_INCLUDE=…/include/node)
# OpenBLAS is linked statically (the pthread variant, built by Debian with DYNAMIC_ARCH: its kernels are picked for
# the CPU at load time), as is libstdc++, so the result needs only glibc (check with `ldd`).
set -eu
cd "$(dirname "$0")/.."
OPENBLAS_A="${OPENBLAS_A:-/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.a}"
if [ ! -f "$OPENBLAS_A" ]; then
  OPENBLAS_A="$(ls /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r*.a 2>/dev/null | head -1 || true)"
fi
[ -f "$OPENBLAS_A" ] || { echo "static OpenBLAS not found (apt-get install libopenblas-dev, or set OPENBLAS_A)" >&2; exit 1; }
if [ -z "${NODE_INCLUDE:-}" ]; then
  for d in /usr/include/node "$(dirname "$(dirname "$(command -v node)")")/include/node"; do
    [ -f "$d/node_api.h" ] && NODE_INCLUDE="$d" && break
  done
fi
[ -f "${NODE_INCLUDE:-}/node_api.h" ] || { echo "node_api.h not found (apt-get install libnode-dev, or set NODE_INCLUDE)" >&2; exit 1; }
OUT=prebuilds/linux-x64/adapterkit_native.node
mkdir -p "$(dirname "$OUT")"
${CXX:-g++} -O3 -fno-trapping-math -std=c++17 -fPIC -shared -fvisibility=hidden -ffunction-sections -fdata-sections \
  -DNODE_GYP_MODULE_NAME=adapterkit_native -DNAPI_VERSION=8 -I"$NODE_INCLUDE" \
  csrc/addon.cc -o "$OUT.tmp" "$OPENBLAS_A" -lpthread \
  -Wl,--gc-sections -Wl,--exclude-libs,ALL -Wl,-z,noexecstack -static-libstdc++ -static-libgcc -s
mv "$OUT.tmp" "$OUT"
echo "built $OUT ($(wc -c < "$OUT") bytes) with $(basename "$OPENBLAS_A")"
ldd "$OUT"
