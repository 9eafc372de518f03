#!/usr/bin/env bash
# Starts RunTools from this checkout on a fresh Debian machine (as root): the README's first command.
#
#   bash scripts/start.sh
#
# 1. `bash scripts/setup.sh`: every host prerequisite (idempotent; a fast no-op the second time);
# 2. builds the dashboard (Vite) when it is missing or its sources changed;
# 3. installs `runtools` and `create-runtools-app` into /usr/local/bin (wrappers that run this
#    checkout's CLI with its Node 24);
# 4. scaffolds a demo project in /var/lib/runtools/demo unless one is there (`runtools init`);
# 5. serves it with `runtools dev`: the API, the dashboard at /, and the `code-assistant` agent at
#    POST /v1/run/code-assistant, printing the URLs and a curl line. Ctrl-C stops it.
#
# It works without any model key (the scripted demo model answers); set ANTHROPIC_API_KEY,
# OPENAI_API_KEY or GOOGLE_GENERATIVE_AI_API_KEY before starting it to use a real model.
#
# Environment: PORT (default 3000), HOST (default 127.0.0.1; 0.0.0.0 for every interface),
# RUNTOOLS_API_KEY (default: the demo project's own key, kept in .runtools/dev-api-key and
# printed), RUNTOOLS_DEMO_DIR (default /var/lib/runtools/demo), RUNTOOLS_BIN_DIR (where the
# wrappers go, default /usr/local/bin).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PORT=${PORT:-3000}
HOST=${HOST:-127.0.0.1}
DEMO_DIR=${RUNTOOLS_DEMO_DIR:-/var/lib/runtools/demo}
BIN_DIR=${RUNTOOLS_BIN_DIR:-/usr/local/bin}
NODE=$REPO_ROOT/node_modules/.bin/node

if ((EUID != 0)); then
  echo "start.sh: must run as root (sandboxes need it); try: sudo bash scripts/start.sh" >&2
  exit 1
fi
if ! [[ $PORT =~ ^[0-9]+$ ]] || ((PORT > 65535)); then
  echo "start.sh: PORT must be a port number, not '$PORT'" >&2
  exit 2
fi

bash "$REPO_ROOT/scripts/setup.sh"

if ! [[ -x $NODE ]]; then
  echo "start.sh: $NODE is missing after setup.sh (it comes with npm ci in $REPO_ROOT)" >&2
  exit 1
fi

# The dashboard is the one part that needs a build (Vite): only when its sources are newer.
DASHBOARD=$REPO_ROOT/packages/dashboard
if ! [[ -f $DASHBOARD/dist/index.html ]] ||
  [[ -n $(find "$DASHBOARD/src" "$DASHBOARD/index.html" "$DASHBOARD/vite.config.ts" "$REPO_ROOT/packages/sdk/src" \
    -newer "$DASHBOARD/dist/index.html" -print -quit) ]]; then
  echo "==> building the dashboard (vite)"
  (cd "$REPO_ROOT" && PATH="$REPO_ROOT/node_modules/.bin:$PATH" npm run --silent build -w @runtools/dashboard >/dev/null)
fi

# Writes a wrapper only when it differs, through a rename so a running one is never half-written.
install_wrapper() {
  local script=$2 target=$BIN_DIR/$1 text
  # The checkout runs from its TypeScript sources: the packages' "@runtools/source" export.
  text=$(printf '#!/bin/sh\n# Installed by %s/scripts/start.sh: this checkout'"'"'s CLI under its Node 24.\nNODE_OPTIONS="--conditions=@runtools/source${NODE_OPTIONS:+ $NODE_OPTIONS}" exec "%s" "%s" "$@"\n' \
    "$REPO_ROOT" "$NODE" "$REPO_ROOT/packages/cli/src/bin/$script")
  if [[ -f $target ]] && [[ $(cat "$target") == "$text" ]]; then return; fi
  mkdir -p "$BIN_DIR"
  printf '%s\n' "$text" >"$target.tmp.$$"
  chmod 755 "$target.tmp.$$"
  mv -f "$target.tmp.$$" "$target"
  echo "==> installed $target"
}
install_wrapper runtools runtools.ts
install_wrapper create-runtools-app create-runtools-app.ts

if [[ -e $DEMO_DIR/runtools.config.ts || -d $DEMO_DIR/agents ]]; then
  echo "==> demo project: $DEMO_DIR (exists; kept as it is)"
else
  echo "==> demo project: creating $DEMO_DIR"
  "$BIN_DIR/runtools" init "$DEMO_DIR" --yes --name runtools-demo
fi

cd "$DEMO_DIR"
echo "==> runtools dev --port $PORT --host $HOST (in $DEMO_DIR)"
exec "$BIN_DIR/runtools" dev --port "$PORT" --host "$HOST"
