#!/usr/bin/env bash
# Make sure Debian's headless-capable Chromium and its matching chromedriver are installed.
# The browser tests drive /usr/bin/chromium through /usr/bin/chromedriver (no driver download
# at test time, so the tests run offline). Installs with apt-get only when one is missing.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)

if [ ${#missing[@]} -eq 0 ]; then
    echo "ensure-chromium: chromium and chromedriver present"
    exit 0
fi

echo "ensure-chromium: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver
