#!/usr/bin/env bash
# Fetches Mesa's software Vulkan driver (lavapipe) into .cache/lavapipe/ so that onnxruntime-node's
# WebGPU execution provider (Dawn over Vulkan) can run with no GPU: the GPU path tested on any machine.
# Debian 12's own Mesa 22.3 is refused by Dawn ("Vulkan shaderUniform*ArrayDynamicIndexing required"),
# so the driver comes from bookworm-backports (25.x), with the Vulkan loader and whatever else this
# machine lacks, resolved by apt against this machine's installed packages and unpacked with
# dpkg-deb: nothing is installed system-wide and no root is needed.
# Writes .cache/lavapipe/vulkan.env (LD_LIBRARY_PATH, VK_ICD_FILENAMES) for the WebGPU test.
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR="$PWD/.cache/lavapipe"
ENV_FILE="$DIR/vulkan.env"
[ -f "$ENV_FILE" ] && { echo "lavapipe already in $DIR"; exit 0; }
fail() { echo "lavapipe not fetched ($1): the WebGPU test will be skipped. Needs Debian with deb.debian.org reachable." >&2; exit 1; }
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || fail "apt-get and dpkg-deb are needed"
[ "$(dpkg --print-architecture)" = amd64 ] || fail "only amd64 is set up"
rm -rf "$DIR.tmp" && mkdir -p "$DIR.tmp"/{lists/partial,cache/archives/partial,root}
cd "$DIR.tmp"
cat >sources.list <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-backports main
EOF
apt=(apt-get -qq -o Dir::Etc::SourceList="$PWD/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::State::Lists="$PWD/lists" -o Dir::Cache="$PWD/cache" -o Debug::NoLocking=1)
"${apt[@]}" update >/dev/null 2>&1 || fail "apt-get update of bookworm-backports failed"
"${apt[@]}" install --download-only -y -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null 2>&1 \
  || fail "apt-get could not download mesa-vulkan-drivers"
if ! ls cache/archives/*.deb >/dev/null 2>&1; then
  # nothing to fetch: this machine already has the backports driver and the loader installed
  : >vulkan.env
else
  for deb in cache/archives/*.deb; do dpkg-deb -x "$deb" root; done
  LIB="$DIR/root/usr/lib/x86_64-linux-gnu"
  [ -f root/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so ] || fail "the package holds no libvulkan_lvp.so"
  printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "%s/libvulkan_lvp.so", "api_version": "1.3.0" } }\n' "$LIB" >root/lvp_icd.json
  printf 'LD_LIBRARY_PATH=%s\nVK_ICD_FILENAMES=%s\n' "$LIB" "$DIR/root/lvp_icd.json" >vulkan.env
fi
rm -rf lists cache sources.list
cd .. && rm -rf "$DIR" && mv "$DIR.tmp" "$DIR"
echo "lavapipe ready: $(ls "$DIR"/root/usr/share/doc 2>/dev/null | grep -c . || true) packages unpacked into $DIR"
