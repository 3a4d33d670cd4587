#!/usr/bin/env bash
# Installs the "real VS Code" test harness in test/vscode-harness/ (code-server = VS Code server + web workbench,
# playwright-core, @vscode/vsce, mocha), using only the npm registry and Debian's apt repositories.
#
# Idempotent and cheap to repeat: apt runs only when a package is missing, and `npm ci` runs only when the lockfile,
# package.json or the node version changed since the last successful install (a hash stamp in node_modules/).
#
#   bash .ci/install-vscode-harness.sh          # as root on Debian 12 (CI); a non-root user needs sudo for the apt step
#   FORCE=1 bash .ci/install-vscode-harness.sh  # reinstall node_modules even if the stamp matches
#   SKIP_APT=1 ...                              # never touch apt (packages provided some other way)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
harness="$repo/test/vscode-harness"
now_ms() { date +%s%3N; }
t_all=$(now_ms)
lap() { echo "[install-vscode-harness] $1 ($(( ($(now_ms) - $2) ))ms)"; }

# ---------------------------------------------------------------------------------------------------------------
# 1. Debian packages
#    chromium      the browser playwright-core drives (playwright's own browser download cannot work offline)
#    ripgrep       seeds @vscode/ripgrep's download cache (see step 3); VS Code's search also uses an rg binary
#    libkrb5-dev, pkg-config, python3, make, g++
#                  code-server's VS Code has native modules (kerberos, node-pty, @vscode/spdlog, argon2, ...) that
#                  node-gyp compiles locally, because prebuilt binaries would come from GitHub
# ---------------------------------------------------------------------------------------------------------------
t=$(now_ms)
apt_pkgs=(chromium ripgrep libkrb5-dev pkg-config python3 make g++)
missing=()
for p in "${apt_pkgs[@]}"; do
  # dpkg -s also succeeds for removed-but-not-purged packages, so look at the status itself
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
for c in chromium rg; do command -v "$c" >/dev/null 2>&1 || missing+=("$([ "$c" = rg ] && echo ripgrep || echo "$c")"); done
if [ "${#missing[@]}" -gt 0 ] && [ "${SKIP_APT:-}" != 1 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "missing apt packages (${missing[*]}) and not root" >&2; exit 1; }
    sudo=sudo
  fi
  echo "[install-vscode-harness] apt packages missing: ${missing[*]}"
  $sudo apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${apt_pkgs[@]}"
  lap "apt-get install done" "$t"
else
  lap "apt packages present" "$t"
fi

# ---------------------------------------------------------------------------------------------------------------
# 2. node: code-server 4.100.3 (VS Code 1.100.3) declares engines.node "20" and its postinstall refuses other majors;
#    its native modules are built for the ABI of the node that runs npm ci (hence node's version is in the stamp).
# ---------------------------------------------------------------------------------------------------------------
node_ver="$(node -p process.versions.node)"
if [ "${node_ver%%.*}" != 20 ]; then
  echo "[install-vscode-harness] node $node_ver found; code-server 4.100.3 needs node 20 (see test/vscode-harness/README.md)" >&2
  exit 1
fi

# ---------------------------------------------------------------------------------------------------------------
# 3. npm ci in test/vscode-harness, skipped when the stamp says node_modules matches lockfile + package.json + node
# ---------------------------------------------------------------------------------------------------------------
t=$(now_ms)
stamp_file="$harness/node_modules/.gatescope-harness-stamp"
stamp="$(cat "$harness/package-lock.json" "$harness/package.json" <(echo "node $node_ver $(uname -m) stamp-v1") | sha256sum | cut -d' ' -f1)"
key_files=(
  "$harness/node_modules/code-server/out/node/entry.js"
  "$harness/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg"
  "$harness/node_modules/playwright-core/package.json"
  "$harness/node_modules/mocha/package.json"
  "$harness/node_modules/.bin/vsce"
)
up_to_date=1
[ "${FORCE:-}" = 1 ] && up_to_date=0
[ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ] || up_to_date=0
for f in "${key_files[@]}"; do [ -e "$f" ] || up_to_date=0; done

if [ "$up_to_date" = 1 ]; then
  lap "node_modules up to date with package-lock.json (stamp ${stamp:0:12}), npm ci skipped" "$t"
else
  work="$(mktemp -d /tmp/vsh-install-XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  # @vscode/ripgrep 1.15.11 (installed by code-server's postinstall into lib/vscode) downloads rg from GitHub unless
  # $TMPDIR/vscode-ripgrep-cache-1.15.11/<asset> exists; seed that cache with Debian's rg. Both names are fixed by
  # the pinned code-server 4.100.3: re-check them when bumping code-server (its log says "Using cached download").
  export TMPDIR="$work"
  mkdir -p "$work/vscode-ripgrep-cache-1.15.11" "$work/rgseed"
  cp "$(command -v rg)" "$work/rgseed/rg"
  tar czf "$work/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$work/rgseed" rg
  # unsafe_perm:        code-server's postinstall refuses to run as root without it (npm 11 warns "Unknown env
  #                     config", but the postinstall reads the variable itself)
  # yes:                node-pty's postinstall runs `npx node-gyp ...`; a `yes=false` in ~/.npmrc makes npx cancel
  # build_from_source:  argon2 (node-pre-gyp) and kerberos (prebuild-install) compile locally right away instead of
  #                     first trying GitHub release downloads, which fail offline
  export npm_config_unsafe_perm=true npm_config_yes=true npm_config_build_from_source=true
  mkdir -p "$harness/.state"
  log="$harness/.state/npm-ci.log"
  echo "[install-vscode-harness] npm ci in test/vscode-harness (compiles native modules: 1-2 min), log: $log"
  if ! (cd "$harness" && npm ci --no-audit --no-fund) >"$log" 2>&1; then
    tail -n 80 "$log" >&2
    echo "[install-vscode-harness] npm ci FAILED (full log: $log)" >&2
    exit 1
  fi
  for f in "${key_files[@]}"; do
    [ -e "$f" ] || { echo "[install-vscode-harness] npm ci finished but $f is missing (log: $log)" >&2; exit 1; }
  done
  echo "$stamp" > "$stamp_file"
  lap "npm ci done" "$t"
fi

lap "all done" "$t_all"
