#!/usr/bin/env bash
# Builds the club's live page (web/, on the TypeScript SDK in sdk-ts/) into web/dist, which the
# server serves at `/` and picks up at once, even while it runs. Does nothing when none of the files
# the page is built from changed since its last build here, so the README's first command costs
# nothing the second time; npm packages are installed from the lock files when they changed.
#
# Needs Node 20+ with npm. Usage: scripts/build-web.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "the live page needs Node 20+ with npm (https://nodejs.org/), which this machine lacks" >&2
  exit 2
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "the live page needs Node 20+; this machine has $(node --version)" >&2
  exit 2
fi

# Everything the built page depends on, hashed in a stable order.
sources_hash() {
  find sdk-ts/src sdk-ts/package.json sdk-ts/package-lock.json sdk-ts/tsconfig.json \
       web/src web/index.html web/package.json web/package-lock.json web/tsconfig.json web/vite.config.ts \
       -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}
# The stamp lives beside the packages, not in web/dist: the server serves every file of web/dist.
stamp_file=web/node_modules/.cyberhub-page-stamp
wanted=$(sources_hash)
if [ "${1:-}" != "--force" ] && [ -f web/dist/index.html ] && [ -f "$stamp_file" ] \
   && [ "$(cat "$stamp_file")" = "$wanted" ]; then
  echo "the live page in web/dist is current"
  exit 0
fi

# npm ci wipes node_modules, so it runs only when the lock file changed since the last install.
install() {
  local dir=$1 lock
  lock=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$dir/node_modules/.cyberhub-lock" ] || [ "$(cat "$dir/node_modules/.cyberhub-lock")" != "$lock" ]; then
    echo "installing the npm packages of $dir/"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock" > "$dir/node_modules/.cyberhub-lock"
  fi
}
started=$(date +%s)
install sdk-ts
(cd sdk-ts && npm run --silent build)
install web
(cd web && npm run --silent build >/dev/null)
echo "$wanted" > "$stamp_file"
echo "built the live page into web/dist in $(( $(date +%s) - started )) s"
