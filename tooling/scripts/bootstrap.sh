#!/usr/bin/env bash
# One idempotent set-up for `npm start` and `npm test` on a fresh Debian machine with only
# Node 20 and npm: pnpm, the workspace's dependencies, and the real servers the tests use.
# Quiet when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  echo "bootstrap: installing pnpm@$PNPM_VERSION with npm (corepack's download fails its signature check here)"
  npm install --global --silent "pnpm@$PNPM_VERSION" >/dev/null
fi

SYSTEM_PACKAGES=(redis-server redis-tools etcd-server etcd-client nutcracker)
REQUIRED_BINARIES=(redis-server redis-cli redis-benchmark etcd nutcracker)
missing=()
for binary in "${REQUIRED_BINARIES[@]}"; do
  command -v "$binary" >/dev/null 2>&1 || missing+=("$binary")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "bootstrap: missing ${missing[*]}; installing ${SYSTEM_PACKAGES[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${SYSTEM_PACKAGES[@]}" >/dev/null
  else
    echo "bootstrap: missing ${missing[*]}. Run as root:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${SYSTEM_PACKAGES[*]}" >&2
    exit 1
  fi
fi
# Debian starts the packaged services on install; tests start their own on free ports.
for service in redis-server etcd nutcracker; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then
    systemctl stop "$service" >/dev/null 2>&1 || true
  fi
done

if [ ! -f node_modules/.modules.yaml ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  # Silent when it works; when it fails (most often a package.json changed without pnpm-lock.yaml)
  # say so instead of ending the run without a word.
  if ! install_output=$(pnpm install --frozen-lockfile 2>&1); then
    printf '%s\n' "$install_output" | tail -n 20 >&2
    echo "bootstrap: pnpm install --frozen-lockfile failed (is pnpm-lock.yaml up to date? run pnpm install)" >&2
    exit 1
  fi
fi
