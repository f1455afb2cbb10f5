#!/usr/bin/env bash
# Install the Debian packages hotline needs to build, run and test.
#
# Idempotent and quiet: when every package is present it prints nothing and
# touches nothing.  Otherwise it runs `apt-get update` once and installs only
# what is missing.  Debian's nginx package starts the stock nginx service on
# port 80 when it is installed; that service is kept from starting (or
# stopped), because the demo and the tests run their own nginx.
#
# Runs as root on Debian 12 (`make deps`, called by `make run` and
# `make test`).  Arguments name other roles of .ci/packages to install
# instead (`make compat`: deps.sh compat).

set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

# what to build and test with: the "build" and "test" roles of the one
# package list (.ci/packages), which the Dockerfiles read too
roles=("$@")
[ "${#roles[@]}" -gt 0 ] || roles=(build test)
mapfile -t PKGS < <(sh "$(dirname "$0")/packages.sh" "${roles[@]}")

missing=()
for pkg in "${PKGS[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    # NodeSource's nodejs ships npm itself (Debian's npm would conflict)
    if [ "$pkg" = npm ] && command -v npm >/dev/null 2>&1; then
        continue
    fi
    if [ "$status" != installed ]; then
        missing+=("$pkg")
    fi
done

# The stock nginx service: stop it if it runs with Debian's configuration
# (pid file /run/nginx.pid).  Our own nginx instances use other pid files.
stop_stock_nginx() {
    local pid

    [ -s /run/nginx.pid ] || return 0
    pid=$(cat /run/nginx.pid 2>/dev/null || true)
    case "$pid" in ''|*[!0-9]*) return 0 ;; esac
    kill -0 "$pid" 2>/dev/null || return 0
    [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = nginx ] || return 0

    echo "deps: stopping the stock nginx service (pid $pid, port 80)"
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
        systemctl stop nginx.service >/dev/null 2>&1 || true
    elif command -v invoke-rc.d >/dev/null; then
        invoke-rc.d nginx stop >/dev/null 2>&1 || true
    fi
    if kill -0 "$pid" 2>/dev/null; then
        kill -QUIT "$pid" 2>/dev/null || true
    fi
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -TERM "$pid" 2>/dev/null || true
}

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: missing packages: ${missing[*]}" >&2
        echo "deps: run as root (or install them with apt-get)" >&2
        exit 1
    fi

    echo "deps: installing ${missing[*]}"

    # Keep package scripts from starting services during this install
    # (exit 101 = "action forbidden" for invoke-rc.d), unless the machine
    # already has a policy of its own.
    policy=/usr/sbin/policy-rc.d
    own_policy=no
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod 0755 "$policy"
        own_policy=yes
    fi
    cleanup() {
        if [ "$own_policy" = yes ]; then
            rm -f "$policy"
        fi
    }
    trap cleanup EXIT

    apt-get update -qq
    apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null

    cleanup
    trap - EXIT
fi

stop_stock_nginx
