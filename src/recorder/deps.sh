#!/bin/sh
# hotline-recorder build and test dependencies.
#
# Idempotent and quiet: apt-get runs only when a package is missing, the
# libwebm source (for the mkvmuxer headers that libwebm-dev lacks) is
# fetched only once into build/recorder/, and playwright-core (for the
# browser test) is installed from npm only once into build/recorder/npm.
#
# usage: deps.sh [BUILD_DIR]

set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build/recorder}

# the outside WHIP clients of the tests: GStreamer's webrtcbin (through
# python3-gi) and aiortc; coturn for the TURN credentials
pkgs="gcc g++ make pkg-config libnice-dev libglib2.0-dev libssl-dev \
libsrtp2-dev libwebm-dev libjansson-dev libcurl4-openssl-dev libopus-dev \
libvpx-dev clang-14 libclang-rt-14-dev \
ffmpeg chromium perl libcrypt-jwt-perl libjson-pp-perl iproute2 \
util-linux dpkg-dev nodejs npm mkvtoolnix curl \
gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
gstreamer1.0-plugins-bad gstreamer1.0-nice python3-gi \
gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 \
gir1.2-gst-plugins-bad-1.0 gir1.2-nice-0.1 python3-aiortc coturn"

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
         | grep -q 'install ok installed'
    then
        missing="$missing $p"
    fi
done

# nodejs from NodeSource ships npm itself.
case "$missing" in
*" npm"*)
    if command -v npm >/dev/null 2>&1; then
        missing=$(echo "$missing" | sed 's/ npm//')
    fi
    ;;
esac

if [ -n "$missing" ]; then
    echo "deps.sh: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

mkdir -p "$build"

# libwebm mkvmuxer headers from the Debian source package.
if [ ! -f "$build/libwebm/mkvmuxer/mkvmuxer.h" ]; then
    if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ \
       && ! grep -qs '^deb-src' /etc/apt/sources.list
    then
        cat > /etc/apt/sources.list.d/hotline-deb-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
        apt-get update -qq >/dev/null
    fi
    rm -rf "$build/libwebm-src"
    mkdir -p "$build/libwebm-src"
    (cd "$build/libwebm-src" \
     && apt-get source -qq --download-only libwebm >/dev/null 2>&1 \
     || { apt-get update -qq >/dev/null \
          && apt-get source -qq --download-only libwebm >/dev/null; })
    (cd "$build/libwebm-src" \
     && dpkg-source --no-check -x ./*.dsc src >/dev/null 2>&1)
    rm -rf "$build/libwebm"
    mkdir -p "$build/libwebm"
    cp -r "$build/libwebm-src/src/mkvmuxer" "$build/libwebm/"
    cp -r "$build/libwebm-src/src/common" "$build/libwebm/"
    [ -d "$build/libwebm-src/src/mkvparser" ] \
        && cp -r "$build/libwebm-src/src/mkvparser" "$build/libwebm/"
    cp "$build/libwebm-src/src/"*.h "$build/libwebm/" 2>/dev/null || true
fi

# playwright-core for the browser test (drives Debian's /usr/bin/chromium).
if [ ! -f "$build/npm/node_modules/playwright-core/package.json" ]; then
    mkdir -p "$build/npm"
    npm install --prefix "$build/npm" --no-audit --no-fund --silent \
        playwright-core >/dev/null
fi
