#!/bin/sh
# Installs the browser tests' npm dependencies (playwright-core, pinned in
# package-lock.json) into t/e2e/node_modules.  Idempotent and quiet: does
# nothing when the locked version is installed already.  Runs outside the
# tests' network namespace (npm needs the network; the tests do not).
#
# usage: sh t/e2e/setup.sh      (exit 0: ready; else the reason on stderr)

set -eu

dir=$(cd "$(dirname "$0")" && pwd)

command -v node >/dev/null 2>&1 || { echo "setup: node is missing" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "setup: npm is missing" >&2; exit 1; }

want=$(node -e 'process.stdout.write(require(process.argv[1]).packages["node_modules/playwright-core"].version)' \
       "$dir/package-lock.json")
have=$(node -e 'try { process.stdout.write(require(process.argv[1]).version) } catch (e) {}' \
       "$dir/node_modules/playwright-core/package.json" 2>/dev/null || true)

if [ "$have" = "$want" ]; then
    exit 0
fi

# one install at a time (prove -j2 may start two wrappers together)
exec 9>"$dir/.setup.lock"
flock 9
have=$(node -e 'try { process.stdout.write(require(process.argv[1]).version) } catch (e) {}' \
       "$dir/node_modules/playwright-core/package.json" 2>/dev/null || true)
[ "$have" = "$want" ] && exit 0

cd "$dir"
if ! out=$(npm ci --no-audit --no-fund --loglevel=error 2>&1); then
    echo "setup: npm ci failed in $dir:" >&2
    echo "$out" | tail -20 >&2
    exit 1
fi
