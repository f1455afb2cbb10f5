#!/bin/sh
# Installs the browser tests' npm dependencies (playwright-core and
# axe-core, pinned in package-lock.json) into t/e2e/node_modules.
# Idempotent and quiet: does nothing when the locked versions are installed
# already.  Runs outside the tests' network namespace (npm needs the
# network; the tests do not).
#
# usage: sh t/e2e/setup.sh      (exit 0: ready; else the reason on stderr)

set -eu

dir=$(cd "$(dirname "$0")" && pwd)

command -v node >/dev/null 2>&1 || { echo "setup: node is missing" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "setup: npm is missing" >&2; exit 1; }

# "name@version ..." of the lock file, and of what node_modules holds
locked() {
    node -e '
        const fs = require("fs");
        const lock = require(process.argv[1] + "/package-lock.json");
        const out = [];
        for (const [k, v] of Object.entries(lock.packages)) {
            if (!k) continue;
            let have = "";
            try {
                have = JSON.parse(fs.readFileSync(process.argv[1] + "/" + k
                                                  + "/package.json")).version;
            } catch (e) {}
            out.push(k + "@" + (process.argv[2] === "want" ? v.version : have));
        }
        process.stdout.write(out.join(" "));' "$dir" "$1"
}

want=$(locked want)
have=$(locked have)

if [ "$have" = "$want" ]; then
    exit 0
fi

# one install at a time (prove -j2 may start two wrappers together)
exec 9>"$dir/.setup.lock"
flock 9
have=$(locked have)
[ "$have" = "$want" ] && exit 0

cd "$dir"
if ! out=$(npm ci --no-audit --no-fund --loglevel=error 2>&1); then
    echo "setup: npm ci failed in $dir:" >&2
    echo "$out" | tail -20 >&2
    exit 1
fi
