#!/usr/bin/env bash
# Installs the real VS Code host used by `npm start` and the editor tests: code-server 4.100.3
# (= VS Code 1.100.3, the newest release that installs on Node 20), into a git-ignored cache
# folder, the way @vscode/test-electron caches VS Code in .vscode-test/. Does nothing when it is
# already there. Works with only the npm registry and Debian's packages reachable.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOST=${PROMPTLOOM_HOST_DIR:-$ROOT/.promptloom-cache/vscode-host}
VERSION=4.100.3
BIN=$HOST/node_modules/.bin/code-server

if [ -x "$BIN" ] && [ "$(cat "$HOST/.installed" 2>/dev/null)" = "$VERSION" ]; then
  exit 0
fi

# Debian packages: kerberos headers (a native module builds from source), ripgrep (its npm
# package would download rg from GitHub), chromium (the browser for the workbench tests).
missing=()
for pkg in libkrb5-dev ripgrep chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "promptloom: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "promptloom: run as root, or install them first: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "promptloom: installing code-server $VERSION into $HOST (about 80 s, 300 MB)"
mkdir -p "$HOST/tmp/vscode-ripgrep-cache-1.15.11" "$HOST/tmp/rg"
# @vscode/ripgrep's postinstall downloads rg; seed its download cache with Debian's rg instead.
cp "$(command -v rg)" "$HOST/tmp/rg/rg"
tar czf "$HOST/tmp/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$HOST/tmp/rg" rg
cd "$HOST"
[ -f package.json ] || echo '{"name":"promptloom-vscode-host","private":true}' > package.json
# --unsafe-perm: code-server's postinstall refuses root without it; npm_config_yes: node-pty's
# postinstall runs `npx node-gyp`, which would otherwise wait for a confirmation.
TMPDIR="$HOST/tmp" npm_config_yes=true npm install --unsafe-perm --no-audit --no-fund --loglevel=error "code-server@$VERSION" >/dev/null
XDG_CONFIG_HOME="$HOST/tmp/xdg" XDG_DATA_HOME="$HOST/tmp/xdg" "$BIN" --version --config "$HOST/tmp/config.yaml" | tail -1
echo "$VERSION" > "$HOST/.installed"
