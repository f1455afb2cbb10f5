#!/usr/bin/env bash
# make deb: the Debian packages libnginx-mod-http-hotline and
# hotline-recorder, built the Debian way (dpkg-buildpackage with the
# packaging in deploy/debian/) from a copy of the sources in OUT/src.
#
# usage: .ci/deb.sh OUT     (the .deb files land in OUT)
#
# The recorder's build needs libwebm's mkvmuxer headers and libsrtp2
# built with OpenSSL, which the recorder's deps.sh made in
# build/recorder/libwebm and build/recorder/libsrtp2 (make recorder):
# they are copied along so the package build needs no network.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
version=$(sed -n 's/^#define NGX_HTTP_HOTLINE_VERSION *"\(.*\)"/\1/p' \
              "$top/src/ngx_http_hotline_version.h")
src="$out/src/hotline-$version"

# the packaging's version is the module's
changelog=$(sed -n '1s/^hotline (\([^)]*\)).*/\1/p' \
                "$top/deploy/debian/changelog")
if [ "$changelog" != "$version" ]; then
    echo "deb: deploy/debian/changelog says $changelog," \
         "src/ngx_http_hotline_version.h says $version" >&2
    exit 1
fi

if [ ! -f "$top/build/recorder/libwebm/mkvmuxer/mkvmuxer.h" ] \
   || [ ! -f "$top/build/recorder/libsrtp2/libsrtp2.a" ]
then
    echo "deb: no libwebm headers or libsrtp2 in build/recorder" \
         "(make recorder)" >&2
    exit 1
fi

rm -rf "$out"
mkdir -p "$src/build/recorder"

# the sources as git has them (no build trees, no node_modules)
git -C "$top" ls-files -z --cached --others --exclude-standard \
    | tar -C "$top" --null -T - --ignore-failed-read -cf - 2>/dev/null \
    | tar -C "$src" -xf -
cp -r "$top/deploy/debian" "$src/debian"
cp -r "$top/build/recorder/libwebm" "$top/build/recorder/libsrtp2" \
    "$src/build/recorder/"
touch "$src/build/recorder/.deps"

(cd "$src" && dpkg-buildpackage -b -us -uc > "$out/build.log" 2>&1) || {
    tail -40 "$out/build.log" >&2
    exit 1
}

mv "$out"/src/*.deb "$out"/
ls "$out"/*.deb
