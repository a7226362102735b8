#!/usr/bin/env bash
# The Debian packages the tests and the demo use: a real OpenSSH server, nginx, certbot with Pebble
# (Let's Encrypt's test server), Postgres (to prove the md5 setup), shellcheck and systemd-analyze for
# the stack's files, and the tools the test host is built with. Idempotent: installs only what is
# missing, and says what it installs.
set -euo pipefail

packages=(openssh-server openssh-client nginx-light certbot pebble shellcheck systemd iproute2 util-linux sudo openssl curl procps postgresql)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The tests run their own sshd, nginx and Postgres in namespaces: keep the packages from starting
  # the machine's (Debian's policy-rc.d convention), unless the machine has a policy of its own.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
  fi
  trap '[[ $own_policy == 1 ]] && rm -f "$policy"' EXIT
  # A new machine may still be busy with its own first apt run (the dpkg lock), or meet a mirror that
  # drops a connection: wait for the lock, retry downloads.
  apt_options=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
  apt-get "${apt_options[@]}" update -qq
  apt-get "${apt_options[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Where they were started anyway (installed before), stop them: the tests need ports 22, 80 and 443 free
# in their own namespaces only, but a machine-wide nginx on :80 would confuse a person reading the demo.
for service in nginx ssh postgresql; do
  if command -v service >/dev/null 2>&1; then service "$service" stop >/dev/null 2>&1 || true; fi
done
