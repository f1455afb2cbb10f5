#!/bin/sh
# hotline-recorder build and test dependencies.
#
# Idempotent and quiet: apt-get runs only when a package is missing, the
# libwebm source (for the mkvmuxer headers that libwebm-dev lacks) and
# the libsrtp2 source (built with OpenSSL) are fetched only once into
# build/recorder/, and playwright-core (for the browser test) is
# installed from npm only once into build/recorder/npm.
#
# usage: deps.sh [BUILD_DIR]

set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build/recorder}

# the outside WHIP clients of the tests: GStreamer's webrtcbin (through
# python3-gi) and aiortc; coturn for the TURN credentials; gst-launch-1.0
# (gstreamer1.0-tools) encodes the media of the benchmark (bench/recorder)
pkgs="gcc g++ make pkg-config libnice-dev libglib2.0-dev libssl-dev \
libsrtp2-dev libwebm-dev libjansson-dev libcurl4-openssl-dev libopus-dev \
libvpx-dev clang-14 libclang-rt-14-dev \
ffmpeg chromium perl libcrypt-jwt-perl libjson-pp-perl iproute2 \
util-linux dpkg-dev nodejs npm mkvtoolnix curl \
gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
gstreamer1.0-plugins-bad gstreamer1.0-nice python3-gi \
gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 \
gir1.2-gst-plugins-bad-1.0 gir1.2-nice-0.1 python3-aiortc coturn \
gstreamer1.0-tools"

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

# debian_source PKG: Debian's source package PKG unpacked into
# $build/PKG-src/src (a deb-src entry is added when there is none)
debian_source() {
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
    rm -rf "$build/$1-src"
    mkdir -p "$build/$1-src"
    (cd "$build/$1-src" \
     && apt-get source -qq --download-only "$1" >/dev/null 2>&1 \
     || { apt-get update -qq >/dev/null \
          && apt-get source -qq --download-only "$1" >/dev/null; })
    (cd "$build/$1-src" \
     && dpkg-source --no-check -x ./*.dsc src >/dev/null 2>&1)
}

# libwebm mkvmuxer (and mkvparser) headers from the Debian source package.
if [ ! -f "$build/libwebm/mkvmuxer/mkvmuxer.h" ]; then
    debian_source libwebm
    rm -rf "$build/libwebm"
    mkdir -p "$build/libwebm"
    cp -r "$build/libwebm-src/src/mkvmuxer" "$build/libwebm/"
    cp -r "$build/libwebm-src/src/common" "$build/libwebm/"
    [ -d "$build/libwebm-src/src/mkvparser" ] \
        && cp -r "$build/libwebm-src/src/mkvparser" "$build/libwebm/"
    cp "$build/libwebm-src/src/"*.h "$build/libwebm/" 2>/dev/null || true
fi

# libsrtp2 built from Debian's source with its OpenSSL crypto engine:
# Debian's libsrtp2 uses NSS, which creates a cipher context for every
# packet (about half of the recorder's CPU with AES-CM publishers); the
# recorder links this one statically.
if [ ! -f "$build/libsrtp2/libsrtp2.a" ]; then
    debian_source libsrtp2
    (cd "$build/libsrtp2-src/src" \
     && ./configure -q --enable-openssl CFLAGS="-O2 -g -fPIC" >/dev/null \
     && make -s libsrtp2.a >/dev/null 2>&1)
    rm -rf "$build/libsrtp2"
    mkdir -p "$build/libsrtp2/include/srtp2"
    cp "$build/libsrtp2-src/src/include/srtp.h" \
       "$build/libsrtp2/include/srtp2/srtp.h"
    cp "$build/libsrtp2-src/src/libsrtp2.a" "$build/libsrtp2/libsrtp2.a"
fi

# playwright-core for the browser test (drives Debian's /usr/bin/chromium).
if [ ! -f "$build/npm/node_modules/playwright-core/package.json" ]; then
    mkdir -p "$build/npm"
    npm install --prefix "$build/npm" --no-audit --no-fund --silent \
        playwright-core >/dev/null
fi
