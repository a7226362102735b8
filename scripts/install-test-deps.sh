#!/usr/bin/env bash
# The Debian packages the tests and the demo use: a real OpenSSH server, nginx, certbot with Pebble
# (Let's Encrypt's test server), shellcheck and systemd-analyze for the stack's files, and the tools
# the test host is built with. Idempotent: installs only what is missing, and says what it installs.
set -euo pipefail

packages=(openssh-server openssh-client nginx-light certbot pebble shellcheck systemd iproute2 util-linux sudo openssl curl procps postgresql)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts services it installs where it can; the tests run their own, in namespaces.
for service in nginx ssh; do
  if command -v service >/dev/null 2>&1; then service "$service" stop >/dev/null 2>&1 || true; fi
done
