#!/usr/bin/env bash
# make compat NGX_SRC=/path/to/nginx: builds that nginx (an nginx.org
# release tree or git checkout, or the nginx of OpenResty's bundle/) with
# the module as a dynamic module, then runs the signaling smoke tests with
# that binary and module (t/lib/Hotline/Test.pm: HOTLINE_NGINX,
# HOTLINE_MODULE).
#
# usage: .ci/compat.sh NGX_SRC OUT [test files...]
#        (the build goes to OUT/<nginx version>)

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
src=$(cd "$1" && pwd)
version=$(sed -n 's/^#define NGINX_VERSION *"\(.*\)"/\1/p' \
              "$src/src/core/nginx.h" 2>/dev/null || true)
if [ -z "$version" ] || [ ! -f "$src/src/core/nginx.c" ]; then
    echo "compat: $src is no whole nginx source tree (Debian's nginx-dev" \
         "has the headers only): make compat NGX_SRC=/path/to/nginx" >&2
    exit 1
fi

mkdir -p "$2/$version"
out=$(cd "$2/$version" && pwd)
shift 2

# a release tarball has ./configure, a git checkout auto/configure
if [ -x "$src/configure" ]; then
    configure=./configure
else
    configure=auto/configure
fi

# configure writes its Makefile where it runs: a symlinked copy
rm -rf "$out/src" "$out/objs"
mkdir -p "$out/prefix/logs"
cp -rs "$src" "$out/src"

echo "compat: nginx $version from $src"
(cd "$out/src" && $configure \
    --prefix="$out/prefix" --builddir="$out/objs" \
    --with-compat --with-threads \
    --with-http_ssl_module --with-http_v2_module \
    --with-http_realip_module --with-http_sub_module \
    --with-http_auth_request_module \
    --with-cc-opt="-Wextra -Wno-unused-parameter" \
    --add-dynamic-module="$top" > "$out/configure.log" 2>&1) || {
    tail -30 "$out/configure.log" >&2
    exit 1
}

(cd "$out/src" && make -s -j"${JOBS:-2}" -f "$out/objs/Makefile" \
    > "$out/make.log" 2>&1) || {
    grep -E "error|warning" "$out/make.log" | head -30 >&2
    tail -5 "$out/make.log" >&2
    exit 1
}

"$out/objs/nginx" -v 2>&1

cd "$top"
HOTLINE_NGINX="$out/objs/nginx" \
HOTLINE_MODULE="$out/objs/ngx_http_hotline_module.so" \
    prove -j2 "$@"
