#!/usr/bin/env bash
# The first process of a test host, run by test-host.mjs as
#   unshare --mount --net --fork --kill-child -- bash namespace-init.sh DIR OWNER_PID
# It runs inside the host's own mount and network namespaces (mount propagation private), so every
# mount below is seen by the namespace only; the machine's files are never written. It builds the
# private trees, starts sshd (and the delaying proxy), prints "ready PID" and then watches the owner
# process: when the owner dies without stopping the host (SIGKILL, a crashed test runner), it stops
# everything in the namespace itself and removes DIR.
set -euo pipefail

dir=$1
owner_pid=$2
# shellcheck source=/dev/null
source "$dir/init.env" # DOMAIN SSH_PORT SYSTEMD DOCKER COMPOSE MNT NODE_SRC_DIR REPO_SRC_DIR NODE PROXY_ENTRY HOME_DIRS

# Kills every other process in this network namespace (all of them belong to this host).
stop_namespace() {
  local me proc pid
  me=$(readlink /proc/self/ns/net)
  for proc in /proc/[0-9]*; do
    pid=${proc#/proc/}
    [[ $pid == "$$" || $pid == "$PPID" ]] && continue
    if [[ $(readlink "$proc/ns/net" 2>/dev/null) == "$me" ]]; then kill -9 "$pid" 2>/dev/null || true; fi
  done
}

fail() {
  echo "test host namespace: $*" >&2
  stop_namespace
  exit 1
}

ip link set lo up || fail "ip link set lo up failed (is iproute2 installed?)"

private_tmpfs() { # PATH MODE
  mount -t tmpfs -o "mode=$2,size=512m" test-host "$1" || fail "cannot mount a tmpfs over $1"
}

# This repository and the node binary, read-only, where the stand-ins find them once the tmpfs below hide
# the folders a checkout may live in (test-host.mjs, mountsFor).
for pair in "$NODE_SRC_DIR:$MNT/node" "$REPO_SRC_DIR:$MNT/repo"; do
  mount --bind "${pair%%:*}" "${pair#*:}" || fail "cannot bind ${pair%%:*} to ${pair#*:}"
  mount -o remount,bind,ro "${pair#*:}" || fail "cannot make ${pair#*:} read-only"
done

private_tmpfs /run 0755
mkdir -m 0755 /run/sshd /run/lock
chmod 1777 /run/lock
if [[ $SYSTEMD == 1 ]]; then mkdir -p /run/systemd/system; fi
private_tmpfs /opt 0755
private_tmpfs /etc/systemd/system 0755
private_tmpfs /home 0755
private_tmpfs /root 0700
private_tmpfs /tmp 1777
private_tmpfs /var/tmp 1777
private_tmpfs /var/log 0755
private_tmpfs /usr/local/bin 0755
private_tmpfs /etc/sudoers.d 0755
private_tmpfs /var/lib/sudo 0700
mkdir -p /var/log/nginx

for file in passwd group shadow sudoers hosts; do
  mount --bind "$dir/etc/$file" "/etc/$file" || fail "cannot bind $dir/etc/$file over /etc/$file"
done
# The stand-ins' wrappers run from the namespace's own tmpfs: DIR may be on a noexec mount (/dev/shm
# in a container).
mkdir -m 0755 /run/test-host-bin
cp "$dir"/bin/* /run/test-host-bin/
for program in systemctl journalctl; do
  if [[ -e /usr/bin/$program ]]; then
    mount --bind "/run/test-host-bin/$program" "/usr/bin/$program" || fail "cannot bind the $program stand-in"
  else
    cp "/run/test-host-bin/$program" "/usr/local/bin/$program"
  fi
done
if [[ $DOCKER == present ]]; then cp /run/test-host-bin/docker /usr/local/bin/docker; fi
if [[ $COMPOSE == v1 ]]; then cp /run/test-host-bin/docker-compose /usr/local/bin/docker-compose; fi

# Homes with the users' authorized keys (sshd's StrictModes wants them owned by the user, not writable
# by others).
for entry in $HOME_DIRS; do # user:uid:gid:home
  IFS=: read -r user uid gid home <<<"$entry"
  mkdir -p "$home/.ssh"
  cp "$dir/keys/$user.pub" "$home/.ssh/authorized_keys"
  chmod 0700 "$home/.ssh"
  chmod 0600 "$home/.ssh/authorized_keys"
  if [[ $user != root ]]; then chmod 0750 "$home"; fi
  chown -R "$uid:$gid" "$home"
done

/usr/sbin/sshd -D -f "$dir/sshd/sshd_config" -E "$dir/state/sshd.log" </dev/null >>"$dir/state/init.log" 2>&1 &
sshd_pid=$!
for _ in $(seq 1 500); do
  grep -q 'Server listening on' "$dir/state/sshd.log" 2>/dev/null && break
  kill -0 "$sshd_pid" 2>/dev/null || fail "sshd exited at start: $(tail -5 "$dir/state/sshd.log" 2>/dev/null)"
  sleep 0.01
done
grep -q 'Server listening on' "$dir/state/sshd.log" || fail 'sshd did not start listening within 5 s'

if [[ -n $PROXY_ENTRY ]]; then
  "$NODE" "$PROXY_ENTRY" "$dir/proxy.json" </dev/null >>"$dir/state/proxy.log" 2>&1 &
  proxy_pid=$!
  for _ in $(seq 1 500); do
    [[ -e $dir/state/proxy.ready ]] && break
    kill -0 "$proxy_pid" 2>/dev/null || fail "the delaying proxy exited at start: $(tail -5 "$dir/state/proxy.log")"
    sleep 0.01
  done
  [[ -e $dir/state/proxy.ready ]] || fail 'the delaying proxy did not start within 5 s'
fi

echo "$sshd_pid" >"$dir/state/sshd.pid"
echo "ready $$"
exec >>"$dir/state/init.log" 2>&1 </dev/null

# The watchdog: stop the namespace when its owner is gone.
while kill -0 "$owner_pid" 2>/dev/null; do sleep 1; done
stop_namespace
rm -rf "$dir"
# The read-only binds first, then their (now empty) mount points: rmdir never removes content.
umount "$MNT/node" "$MNT/repo" 2>/dev/null || true
rmdir "$MNT/node" "$MNT/repo" "$MNT" 2>/dev/null || true
