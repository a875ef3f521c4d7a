#!/usr/bin/env bash
# What the browser suites need from Debian: `chromium` (drives the inspector webview and code-server's
# workbench; playwright-core never downloads a browser here) and `libkrb5-dev` (code-server's native
# module builds against it). Installs what is missing with apt-get when run as root or with passwordless
# sudo; otherwise prints, in one line, what to install and fails. CHROMIUM_PATH may name another browser.
set -euo pipefail
missing=()
if ! { [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; } && [ ! -x /usr/bin/chromium ]; then missing+=(chromium); fi
if ! dpkg -s libkrb5-dev >/dev/null 2>&1; then missing+=(libkrb5-dev); fi
[ ${#missing[@]} -eq 0 ] && exit 0
fix="install them with \`sudo apt-get install ${missing[*]}\` (Debian/Ubuntu), or set CHROMIUM_PATH to a Chromium binary"
if ! command -v apt-get >/dev/null; then echo "test prerequisites missing: ${missing[*]}; $fix" >&2; exit 1; fi
if [ "$(id -u)" -eq 0 ]; then sudo=(); elif sudo -n true 2>/dev/null; then sudo=(sudo); else
  echo "test prerequisites missing: ${missing[*]}; $fix" >&2
  exit 1
fi
echo "installing ${missing[*]} from Debian (once)…"
if ! { "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "test prerequisites missing: apt-get could not install ${missing[*]}; $fix" >&2
  exit 1
fi
