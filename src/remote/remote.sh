# commento-deploy: the server side of one deploy, plan, rollback or diagnosis.
#
# Runs as root (directly or through `sudo -n`) over ONE SSH channel, so that a deploy costs one round trip
# per exchange instead of one per command. It talks to the runner through stdout lines that start with
# "@@cd " (events: phase, fact, warning, need-upload, await-verdict, fail, result, ...); every other line is
# plain output. The runner answers on stdin: the release tar (exactly CD_TAR_SIZE bytes) after
# "need-upload", and one verdict line after "await-verdict".
#
# The parameters (CD_*) are set by the lines the runner puts before this text (src/remote/remote-script.ts).
#
# Safety rules this script keeps:
# - nothing ever removes a Docker volume; releases are new directories; `current` is switched by one
#   atomic rename, so an interruption leaves the server on the old release or the new one;
# - one deploy at a time: a lock directory created by an atomic rename, with who/when inside; a lock whose
#   owner is dead (or from another boot) is recovered;
# - the database is dumped before a restart that changes something, and a failed dump stops the deploy
#   before anything restarts;
# - if the runner goes away (the SSH connection is cut), the script does not die half-way: it ignores
#   SIGHUP/SIGPIPE and finishes or cleans up on its own.
# shellcheck shell=sh

trap '' HUP PIPE
umask 022
export LC_ALL=C
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

OUT=$(mktemp) || exit 70
UPGRADE_FROM=
UPGRADING=0
ROLLED_BACK=0
WAITED=0
PHASE=start
LOCK="$CD_DIR/.deploy.lock"
LOCK_OWNED=0
LOGGED=0
RESULT=
CURRENT=
PREVIOUS=
RUNNING=
CHANGED=0
UNIT_CHANGED=0
UNIT_PATH="/etc/systemd/system/$CD_UNIT"

emit() {
  # The runner may be gone: a failed write must not stop the script.
  printf '@@cd %s\n' "$*" 2>/dev/null || :
}

phase() {
  PHASE=$1
  emit phase "$1"
}

# fail MESSAGE [COMMAND [EXIT-CODE]]: reports the failure with the output of the last command, then exits.
fail() {
  emit fail "$PHASE" "${3:-1}"
  [ -n "${2:-}" ] && emit command "$2"
  if [ -s "$OUT" ]; then
    tail -n 40 "$OUT" | while IFS= read -r line; do emit output "$line"; done
  fi
  emit message "$1"
  RESULT="failed:$PHASE"
  # The audit log keeps that the server went back to the release it had.
  [ "$ROLLED_BACK" = 1 ] && RESULT="$RESULT,rolled-back"
  exit 1
}

# step WHAT COMMAND...: runs a command with its output kept for the failure report.
step() {
  what=$1
  shift
  "$@" >"$OUT" 2>&1 && return 0
  code=$?
  fail "$what failed" "$*" "$code"
}

log_deploy() {
  [ "$LOGGED" = 1 ] && return 0
  [ -d "$CD_DIR" ] || return 0
  LOGGED=1
  printf '%s actor=%s run=%s mode=%s release=%s previous=%s changed=%s result=%s\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$CD_ACTOR" "${CD_RUN_URL:--}" "$CD_MODE" "${CD_RELEASE:--}" \
    "${CURRENT:--}" "$CHANGED" "${RESULT:-unknown}" >>"$CD_DIR/deploy.log" 2>/dev/null || :
  chmod 640 "$CD_DIR/deploy.log" 2>/dev/null || :
}

on_exit() {
  code=$?
  [ "$CD_MODE" = plan ] || [ "$CD_MODE" = diagnose ] || log_deploy
  # Only our own lock: were it ever displaced, the one now there belongs to another deploy.
  [ "$LOCK_OWNED" = 1 ] && [ "$(sed -n 's/^pid=//p' "$LOCK/info" 2>/dev/null)" = "$$" ] && rm -rf "$LOCK"
  rm -rf "$OUT" "$OUT.restart" "$OUT.pull" "$OUT.build" "$CD_DIR/releases/.incoming-$$" "$CD_DIR/releases/.incoming-$$.tar" 2>/dev/null
  exit "$code"
}
trap on_exit EXIT

release_of() {
  # The release id a link (current, previous) points at, or nothing.
  target=$(readlink "$CD_DIR/$1" 2>/dev/null) || return 0
  basename "$target"
}

switch_link() {
  # switch_link NAME RELEASE: atomic (rename over the old link).
  ln -sfn "releases/$2" "$CD_DIR/.$1.new" && mv -Tf "$CD_DIR/.$1.new" "$CD_DIR/$1"
}

# ---------------------------------------------------------------------------------------------------
preflight() {
  phase preflight
  [ "$(id -u)" = 0 ] || fail "the remote script is not running as root (user $(id -un)); log in as root or as a user with passwordless sudo"
  command -v docker >/dev/null 2>&1 ||
    fail "Docker is not installed on the server: install Docker Engine with the compose plugin (https://docs.docker.com/engine/install/), then deploy again"
  docker_version=$(docker version --format '{{.Server.Version}}' 2>"$OUT") ||
    fail "the Docker engine does not answer: is docker.service running? (systemctl status docker)" "docker version"
  emit fact docker "$docker_version"
  if compose_version=$(docker compose version --short 2>/dev/null); then
    COMPOSE="docker compose"
    UNIT_SOURCE=$CD_UNIT_V2
  elif command -v docker-compose >/dev/null 2>&1; then
    compose_version=$(docker-compose version --short 2>/dev/null)
    COMPOSE=docker-compose
    UNIT_SOURCE=$CD_UNIT_V1
    emit warning "only Docker Compose v1 (docker-compose $compose_version) is installed; it is end-of-life since 2023: install the compose plugin (docker-compose-plugin) to get detached, reload-in-place deploys"
  else
    fail "Docker Compose is not installed: install the compose plugin (package docker-compose-plugin), then deploy again"
  fi
  emit fact compose "$COMPOSE" "$compose_version"
  { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; } ||
    fail "systemd is not the init system on this server; commento-deploy supervises the stack with a systemd unit"
  # Free space where the releases go (the deploy dir or the nearest parent that exists).
  probe=$CD_DIR
  while [ ! -d "$probe" ]; do probe=$(dirname "$probe"); done
  free_kb=$(df -Pk "$probe" | awk 'NR==2 {print $4}')
  emit fact disk-free-kb "$free_kb"
  [ "$CD_MODE" = deploy ] && [ "$free_kb" -lt "$CD_DISK_NEEDED_KB" ] &&
    fail "not enough free disk space on $probe: $free_kb KiB free, at least $CD_DISK_NEEDED_KB KiB needed for the release and a database dump"
  PG_VOLUME=$(cat "$CD_DIR/state/postgres-volume" 2>/dev/null || :)
  [ -n "$PG_VOLUME" ] || PG_VOLUME=$CD_PG_VOLUME
  TARGET_PG_VOLUME=$PG_VOLUME
  # One inspect per volume (each command is a process start on the server): which are missing, and
  # where the database's data lies.
  MISSING_VOLUMES=
  PG_MOUNTPOINT=
  for volume in $CD_VOLUMES; do
    if mountpoint=$(docker volume inspect --format '{{ .Mountpoint }}' "$volume" 2>/dev/null); then
      [ "$volume" = "$PG_VOLUME" ] && PG_MOUNTPOINT=$mountpoint
    else
      MISSING_VOLUMES="$MISSING_VOLUMES $volume"
    fi
  done
  case " $CD_VOLUMES " in
  *" $PG_VOLUME "*) ;;
  *) PG_MOUNTPOINT=$(docker volume inspect --format '{{ .Mountpoint }}' "$PG_VOLUME" 2>/dev/null || :) ;;
  esac
  check_postgres_major
  CURRENT=$(release_of current)
  PREVIOUS=$(release_of previous)
  RUNNING=$(cat "$CD_DIR/state/running" 2>/dev/null || :)
  ACTIVE=$(systemctl is-active "$CD_UNIT" 2>/dev/null || :)
  emit state current="${CURRENT:--}" previous="${PREVIOUS:--}" running="${RUNNING:--}" active="${ACTIVE:-unknown}"
  for volume in $MISSING_VOLUMES; do emit fact volume-missing "$volume"; done
  if [ -f "$UNIT_PATH" ]; then
    emit fact unit-installed "$(sha256sum "$UNIT_PATH" | cut -d' ' -f1)"
  else
    emit fact unit-installed none
  fi
  LEGACY=0
  if legacy_install; then
    LEGACY=1
    emit fact legacy-install "$CD_DIR"
  fi
  return 0
}

# The data volume written by another Postgres major does not start: stop before touching anything.
check_postgres_major() {
  [ -n "$CD_PG_MAJOR" ] && [ -n "$PG_MOUNTPOINT" ] || return 0
  mountpoint=$PG_MOUNTPOINT
  found=
  for f in "$mountpoint/PG_VERSION" "$mountpoint/data/PG_VERSION" "$mountpoint"/*/docker/PG_VERSION; do
    if [ -f "$f" ]; then
      found=$(tr -dc '0-9' <"$f")
      break
    fi
  done
  [ -n "$found" ] || return 0
  emit fact postgres-data-major "$found"
  [ "$found" = "$CD_PG_MAJOR" ] && return 0
  if [ "$CD_PG_UPGRADE" = 1 ]; then
    UPGRADE_FROM=$found
    TARGET_PG_VOLUME="${CD_PG_VOLUME}_pg$CD_PG_MAJOR"
    emit fact postgres-upgrade "$found" "$CD_PG_MAJOR" "$TARGET_PG_VOLUME"
    return 0
  fi
  message="the database volume $PG_VOLUME was written by Postgres $found, but postgres-image runs Postgres $CD_PG_MAJOR, which cannot open it. Nothing was changed. Either keep Postgres $found (set postgres-image to postgres:$found, the Debian-based image the article used: moving data to the Alpine image changes the C library under its text indexes), or upgrade with a dump and restore: set postgres-upgrade: true and the deploy does it, keeping the old volume (docs/postgres-upgrade.md)"
  if [ "$CD_MODE" = plan ]; then
    emit warning "$message"
    return 0
  fi
  fail "$message"
}

# An install made by hand from the 2019 article: files in the deploy dir, but no releases/ of ours.
legacy_install() {
  [ -d "$CD_DIR" ] && [ ! -d "$CD_DIR/releases" ] && [ -n "$(ls -A "$CD_DIR" 2>/dev/null)" ]
}

# The value of NAME in a .env file as src/release/dotenv.ts writes it: 'literal', or "escaped" (\\ \" \$).
# Only builtins and fixed programs touch the value: it never appears on a command line.
env_value() {
  line=$(grep "^$1=" "$2" | tail -n 1)
  value=${line#"$1"=}
  case $value in
  \'*\') value=${value#\'} && printf '%s' "${value%\'}" ;;
  \"*\") value=${value#\"} && printf '%s' "${value%\"}" | sed 's/\\\(.\)/\1/g' ;;
  *) printf '%s' "$value" ;;
  esac
}

# Adopts an install made by hand from the 2019 article (its files in the deploy dir, its Compose
# project "commento" running from there): dump its database first, hand its database the password
# this deploy uses, and move its files aside (never delete them). Its data volumes are kept as they are.
adopt_legacy() {
  phase adopt
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$CD_DIR/backups" && chmod 700 "$CD_DIR/backups"
  legacy_compose="$COMPOSE -p commento"
  dump="$CD_DIR/backups/$stamp-legacy.sql"
  if (cd "$CD_DIR" && $legacy_compose exec -T "$CD_DB_SERVICE" pg_dumpall -U "$CD_DB_USER") >"$dump.partial" 2>"$OUT" && [ -s "$dump.partial" ]; then
    { gzip -c "$dump.partial" >"$dump.gz" && chmod 600 "$dump.gz"; } ||
      fail "cannot write the dump of the existing install to $dump.gz (is the disk full?)"
    rm -f "$dump.partial"
    emit fact backup "$dump.gz" "$(wc -c <"$dump.gz")"
    # The article's database has the password "postgres"; from now on it has the one in the release's
    # .env (given as postgres-password, or generated). Quoted for SQL by doubling single quotes.
    password=$(env_value POSTGRES_PASSWORD "$REL/.env" | sed "s/'/''/g")
    [ -n "$password" ] || fail "the release's .env has no POSTGRES_PASSWORD; nothing was changed but the dump"
    printf "ALTER USER %s WITH PASSWORD '%s';\n" "$CD_DB_USER" "$password" |
      (cd "$CD_DIR" && $legacy_compose exec -T "$CD_DB_SERVICE" psql -v ON_ERROR_STOP=1 -U "$CD_DB_USER") >"$OUT" 2>&1 ||
      fail "cannot set the database password of the existing install; nothing was changed but the dump" "$legacy_compose exec -T $CD_DB_SERVICE psql"
    emit fact postgres-password adopted
  else
    rm -f "$dump.partial"
    if [ "$ACTIVE" = active ]; then
      fail "the existing install runs, but dumping its database failed; nothing was changed" "$legacy_compose exec -T $CD_DB_SERVICE pg_dumpall -U $CD_DB_USER"
    fi
    emit warning "the existing install in $CD_DIR is not running: no database dump was taken; its data volume $CD_PG_VOLUME is kept as it is"
  fi
  aside="$CD_DIR/legacy-$stamp"
  mkdir -m 700 "$aside" || fail "cannot create $aside"
  for entry in "$CD_DIR"/* "$CD_DIR"/.[!.]*; do
    [ -e "$entry" ] || [ -L "$entry" ] || continue
    case ${entry##*/} in
    .deploy.lock | .lock-new.* | deploy.log | backups | legacy-* | releases | state | secrets) continue ;;
    esac
    mv "$entry" "$aside/" || fail "cannot move $entry aside into $aside"
  done
  emit fact legacy-moved "$aside"
}

# The release's .env names the data volume when it is not the default one (after a Postgres upgrade).
pin_postgres_volume() {
  env_file="$1/.env"
  [ "$TARGET_PG_VOLUME" = "$CD_PG_VOLUME" ] && ! grep -q '^POSTGRES_VOLUME=' "$env_file" 2>/dev/null && return 0
  grep -v '^POSTGRES_VOLUME=' "$env_file" >"$env_file.new"
  printf 'POSTGRES_VOLUME=%s\n' "$TARGET_PG_VOLUME" >>"$env_file.new"
  { chmod 600 "$env_file.new" && mv -f "$env_file.new" "$env_file"; } || fail "cannot write $env_file"
}

# A Postgres major upgrade, first half: dump the running database and create the new, empty volume.
# The old volume is never touched: rolling back means using it again.
prepare_postgres_upgrade() {
  phase upgrade
  [ "$COMPOSE" = "docker compose" ] || fail "postgres-upgrade needs the Docker Compose v2 plugin (docker compose); install it, or keep postgres-image at Postgres $UPGRADE_FROM"
  { [ "$ACTIVE" = active ] && [ -n "$RUNNING" ] && [ -d "$CD_DIR/releases/$RUNNING" ]; } ||
    fail "the Postgres upgrade dumps the running database, but the stack is not running: start it with the old postgres-image (systemctl start $CD_UNIT), then deploy again"
  if mountpoint=$(docker volume inspect --format '{{ .Mountpoint }}' "$TARGET_PG_VOLUME" 2>/dev/null) && [ -n "$(ls -A "$mountpoint" 2>/dev/null)" ]; then
    fail "the volume $TARGET_PG_VOLUME for Postgres $CD_PG_MAJOR already holds data; nothing was changed. Look at it (docker volume inspect $TARGET_PG_VOLUME); the upgrade only restores into an empty volume"
  fi
  mkdir -p "$CD_DIR/backups" && chmod 700 "$CD_DIR/backups"
  UPGRADE_DUMP="$CD_DIR/backups/$(date -u +%Y%m%dT%H%M%SZ)-postgres$UPGRADE_FROM-upgrade.sql.gz"
  { (cd "$CD_DIR/releases/$RUNNING" && $COMPOSE exec -T "$CD_DB_SERVICE" pg_dumpall -U "$CD_DB_USER") >"$UPGRADE_DUMP.sql" 2>"$OUT" && [ -s "$UPGRADE_DUMP.sql" ]; } ||
    { rm -f "$UPGRADE_DUMP.sql"; fail "dumping the Postgres $UPGRADE_FROM database failed; nothing was changed" "$COMPOSE exec -T $CD_DB_SERVICE pg_dumpall -U $CD_DB_USER"; }
  { gzip -c "$UPGRADE_DUMP.sql" >"$UPGRADE_DUMP" && chmod 600 "$UPGRADE_DUMP"; } || fail "cannot write $UPGRADE_DUMP (is the disk full?)"
  rm -f "$UPGRADE_DUMP.sql"
  emit fact backup "$UPGRADE_DUMP" "$(wc -c <"$UPGRADE_DUMP")"
  docker volume inspect "$TARGET_PG_VOLUME" >/dev/null 2>&1 || step "creating volume $TARGET_PG_VOLUME" docker volume create "$TARGET_PG_VOLUME"
  UPGRADING=1
}

# Second half, with the new release current: the old stack stopped, the new Postgres started alone on
# the empty volume, the dump restored into it, then the whole stack started.
restore_for_upgrade() {
  systemctl stop "$CD_UNIT" >"$OUT" 2>&1 || return 1
  (cd "$CD_DIR/current/" && docker compose up --detach --wait "$CD_DB_SERVICE") >"$OUT" 2>&1 || return 1
  gzip -dc "$UPGRADE_DUMP" | (cd "$CD_DIR/current/" && docker compose exec -T "$CD_DB_SERVICE" psql -q -U "$CD_DB_USER" -d postgres) >"$OUT" 2>&1 || return 1
  emit fact postgres-restored "$TARGET_PG_VOLUME"
  printf '%s\n' "$TARGET_PG_VOLUME" >"$CD_DIR/state/postgres-volume"
  return 0
}

# ---------------------------------------------------------------------------------------------------
acquire_lock() {
  phase lock
  # The deploy dir is root's alone: a folder another user owns or may write lets them swap what root runs,
  # or read the dumps and the generated password.
  mkdir -p "$CD_DIR" && chown root:root "$CD_DIR" && chmod 755 "$CD_DIR"
  for sub in releases:755 state:700 backups:700 secrets:700; do
    [ -d "$CD_DIR/${sub%:*}" ] || continue
    chown root:root "$CD_DIR/${sub%:*}" && chmod "${sub#*:}" "$CD_DIR/${sub%:*}"
  done
  info=$(mktemp -d "$CD_DIR/.lock-new.XXXXXX") || fail "cannot create the lock in $CD_DIR"
  boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
  printf 'pid=%s\nboot=%s\nactor=%s\nrun=%s\nsince=%s\nrelease=%s\n' "$$" "$boot" "$CD_ACTOR" \
    "${CD_RUN_URL:--}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${CD_RELEASE:--}" >"$info/info"
  waited=0
  announced=0
  # A rename of a non-empty directory onto an existing one fails: exactly one deploy gets the lock.
  until mv -T "$info" "$LOCK" 2>/dev/null; do
    holder() { sed -n "s/^$1=//p" "$LOCK/info" 2>/dev/null; }
    pid=$(holder pid)
    if [ -n "$pid" ] && lock_is_stale "$pid" "$(holder boot)"; then
      seen=$(cat "$LOCK/info" 2>/dev/null)
      stale="$LOCK.stale.$$"
      if mv -T "$LOCK" "$stale" 2>/dev/null; then
        if [ "$(cat "$stale/info" 2>/dev/null)" = "$seen" ]; then
          emit warning "recovered a stale deploy lock left by $(sed -n 's/^actor=//p' "$stale/info") (run $(sed -n 's/^run=//p' "$stale/info"), since $(sed -n 's/^since=//p' "$stale/info")): its process $pid is gone"
          rm -rf "$stale"
        # Otherwise another deploy recovered the stale lock and took the name between our look and our
        # move: what we moved is its live lock. Put it back; only if a third deploy took the free name
        # in that instant does it stay aside, named, for a person to look at.
        elif ! mv -T "$stale" "$LOCK" 2>/dev/null; then
          emit warning "moved a live deploy lock aside by mistake and could not put it back: $stale"
        fi
      fi
      continue
    fi
    if [ "$waited" -ge "$CD_LOCK_WAIT" ]; then
      rm -rf "$info"
      fail "another deploy holds the lock on $CD_DIR: $(holder actor) (run $(holder run), release $(holder release), since $(holder since)); waited ${CD_LOCK_WAIT}s (lock-wait). If no deploy is running, the lock is recovered automatically once its process is gone"
    fi
    if [ "$announced" = 0 ]; then
      emit waiting-lock "$(holder actor)" "$(holder run)" "$(holder since)"
      announced=1
      WAITED=1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  LOCK_OWNED=1
}

lock_is_stale() {
  # Stale when the owner is from another boot, or its process is gone or is not a deploy any more.
  this_boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
  [ "$2" != "$this_boot" ] && return 0
  [ -r "/proc/$1/cmdline" ] || return 0
  tr '\0' ' ' <"/proc/$1/cmdline" | grep -q commento-deploy && return 1
  return 0
}

# ---------------------------------------------------------------------------------------------------
receive_release() {
  phase upload
  REL="$CD_DIR/releases/$CD_RELEASE"
  mkdir -p "$CD_DIR/releases" "$CD_DIR/state"
  chmod 755 "$CD_DIR/releases"
  chmod 700 "$CD_DIR/state"
  # Left over from an interrupted deploy (we hold the lock: none is in progress).
  rm -rf "$CD_DIR"/releases/.incoming-*
  if [ -f "$REL/.complete" ]; then
    emit fact upload skipped
    return 0
  fi
  incoming="$CD_DIR/releases/.incoming-$$"
  mkdir -m 700 "$incoming" || fail "cannot create $incoming"
  emit need-upload "$CD_TAR_SIZE"
  head -c "$CD_TAR_SIZE" >"$incoming.tar" 2>"$OUT" || fail "receiving the release failed (is the disk full?)" "head -c $CD_TAR_SIZE"
  got=$(wc -c <"$incoming.tar")
  [ "$got" = "$CD_TAR_SIZE" ] || fail "the upload was cut short: $got of $CD_TAR_SIZE bytes arrived"
  sum=$(sha256sum "$incoming.tar" | cut -d' ' -f1)
  [ "$sum" = "$CD_TAR_SHA256" ] || fail "the uploaded release is corrupt (sha256 $sum, expected $CD_TAR_SHA256)"
  step "unpacking the release" tar -xf "$incoming.tar" -C "$incoming" --no-same-owner
  rm -f "$incoming.tar"
  if [ -n "$CD_PG_ENV_TEMPLATE" ]; then
    secret="$CD_DIR/secrets/postgres-password"
    if [ ! -s "$secret" ]; then
      (umask 077 && mkdir -p "$CD_DIR/secrets" && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$secret.new" && mv -f "$secret.new" "$secret") ||
        fail "cannot store the generated Postgres password in $secret"
      emit fact postgres-password generated
    fi
    password=$(cat "$secret")
    # Substituted by the shell itself (builtins only): a password on a command line shows in `ps`.
    printf '%s\n' "$CD_PG_ENV_TEMPLATE" | while IFS= read -r line; do
      case $line in
      *__CD_GENERATED_PASSWORD__*) printf '%s%s%s\n' "${line%%__CD_GENERATED_PASSWORD__*}" "$password" "${line#*__CD_GENERATED_PASSWORD__}" ;;
      *) printf '%s\n' "$line" ;;
      esac
    done >>"$incoming/.env"
  fi
  [ -f "$incoming/.env" ] && chmod 600 "$incoming/.env"
  chmod 755 "$incoming"
  : >"$incoming/.complete"
  rm -rf "$REL"
  mv -T "$incoming" "$REL" || fail "cannot move the release into $REL"
  emit fact upload complete
}

ensure_volumes() {
  phase volumes
  # What preflight found missing; after waiting for the lock, another deploy may have created them.
  for volume in $MISSING_VOLUMES; do
    [ "$WAITED" = 1 ] && docker volume inspect "$volume" >/dev/null 2>&1 && continue
    step "creating volume $volume" docker volume create "$volume"
    emit fact volume-created "$volume"
  done
}

install_unit() {
  # install_unit RELEASE: the unit of that release, if it differs from the installed one.
  source_file="$CD_DIR/releases/$1/$UNIT_SOURCE"
  [ -f "$source_file" ] || fail "the release has no unit file $UNIT_SOURCE"
  if ! cmp -s "$source_file" "$UNIT_PATH"; then
    step "installing $UNIT_PATH" install -m 644 "$source_file" "$UNIT_PATH.new"
    step "installing $UNIT_PATH" mv -f "$UNIT_PATH.new" "$UNIT_PATH"
    step "systemctl daemon-reload" systemctl daemon-reload
    UNIT_CHANGED=1
    emit fact unit-installed-new "$UNIT_PATH"
  fi
  systemctl is-enabled --quiet "$CD_UNIT" 2>/dev/null || step "enabling $CD_UNIT" systemctl enable "$CD_UNIT"
}

# bounded COMMAND...: a pull or a build, ended after CD_IMAGES_TIMEOUT seconds (KILL 10 s later) so that
# a registry that stops answering cannot hold the deploy and its lock forever. --foreground keeps the
# command in the script's process group, so a deploy that is killed takes it along.
bounded() {
  timeout --foreground -k 10 "$CD_IMAGES_TIMEOUT" "$@"
}

# images_outcome WHAT EXIT-CODE OUTPUT-FILE COMMAND: fails the deploy with that command's output, unless it
# succeeded.
images_outcome() {
  [ "$2" = 0 ] && return 0
  cp "$3" "$OUT"
  case $2 in
  124 | 137) fail "$1 did not finish within ${CD_IMAGES_TIMEOUT}s, so nothing was restarted: is the registry reachable from the server?" "$4" "$2" ;;
  esac
  fail "$1 failed" "$4" "$2"
}

prepare_images() {
  phase images
  cd "$REL" || fail "cannot enter $REL"
  if [ "$COMPOSE" = "docker compose" ]; then
    pull="docker compose pull --quiet --ignore-buildable"
    build="docker compose build --pull --quiet"
  else
    pull="docker-compose pull"
    build="docker-compose build --pull"
  fi
  # The pull (the registry's images) and the build (nginx and certbot from their pinned bases) need nothing
  # from each other, and each can take minutes on a real server: they run side by side. Neither touches
  # what is running. The commands are words without spaces or patterns, split on purpose.
  # shellcheck disable=SC2086
  bounded $pull >"$OUT.pull" 2>&1 &
  pull_pid=$!
  # shellcheck disable=SC2086
  bounded $build >"$OUT.build" 2>&1 &
  build_pid=$!
  wait "$pull_pid"
  pull_code=$?
  wait "$build_pid"
  build_code=$?
  cd / || :
  images_outcome "pulling images" "$pull_code" "$OUT.pull" "$pull"
  images_outcome "building images" "$build_code" "$OUT.build" "$build"
}

backup_database() {
  phase backup
  if [ "$CD_BACKUP" != 1 ]; then
    emit fact backup disabled
    return 0
  fi
  if [ -z "$RUNNING" ] || [ "$ACTIVE" != active ] || [ ! -d "$CD_DIR/releases/$RUNNING" ]; then
    emit fact backup "nothing-running"
    return 0
  fi
  mkdir -p "$CD_DIR/backups" && chmod 700 "$CD_DIR/backups"
  dump="$CD_DIR/backups/$(date -u +%Y%m%dT%H%M%SZ)-$RUNNING.sql"
  (cd "$CD_DIR/releases/$RUNNING" && $COMPOSE exec -T "$CD_DB_SERVICE" pg_dumpall -U "$CD_DB_USER") >"$dump.partial" 2>"$OUT" ||
    { rm -f "$dump.partial"; fail "the database dump failed, so nothing was restarted" "$COMPOSE exec -T $CD_DB_SERVICE pg_dumpall -U $CD_DB_USER"; }
  [ -s "$dump.partial" ] || { rm -f "$dump.partial"; fail "the database dump is empty, so nothing was restarted"; }
  if ! { gzip -c "$dump.partial" >"$dump.gz.partial" && mv -f "$dump.gz.partial" "$dump.gz"; }; then
    rm -f "$dump.partial" "$dump.gz.partial"
    fail "cannot write the dump to $dump.gz (is the disk full?)"
  fi
  rm -f "$dump.partial"
  chmod 600 "$dump.gz"
  emit fact backup "$dump.gz" "$(wc -c <"$dump.gz")"
  # Keep the newest dumps only (our own file names: no spaces).
  # shellcheck disable=SC2012
  ls -1t "$CD_DIR"/backups/*.sql.gz 2>/dev/null | tail -n +"$((CD_KEEP + 1))" | while read -r old; do rm -f "$old"; done
}

compose_ps() {
  # Only Compose v2 prints JSON (the runner compares container ids to tell which services were recreated).
  [ "$COMPOSE" = "docker compose" ] || return 0
  (cd "$CD_DIR/current" 2>/dev/null && $COMPOSE ps --format json 2>/dev/null) | while IFS= read -r line; do emit "$1" "$line"; done
}

apply_release() {
  # apply_release RELEASE: point current at it and bring it up with the least disruption.
  phase switch
  install_unit "$1"
  switch_link current "$1"
  emit fact current "$1"
  phase restart
  compose_ps ps-before
  if [ "$UPGRADING" = 1 ]; then
    action=start
    restore_for_upgrade || return 1
  elif [ "$ACTIVE" != active ]; then action=start; elif [ "$UNIT_CHANGED" = 1 ]; then action=restart; else action=reload; fi
  emit fact unit-action "$action"
  if ! systemctl "$action" "$CD_UNIT" >"$OUT" 2>&1; then
    return 1
  fi
  ACTIVE=active
  printf '%s\n' "$1" >"$CD_DIR/state/running"
  RUNNING=$1
  compose_ps ps-after
  return 0
}

# Back to the release that was current when this run started.
roll_back() {
  phase rollback
  if [ -z "$CURRENT" ] || [ ! -d "$CD_DIR/releases/$CURRENT" ]; then
    emit fact rollback impossible
    return 1
  fi
  # What the failed action left: still active after a failed reload (reload the old release), failed or
  # inactive after a failed start or restart (start it again).
  ACTIVE=$(systemctl is-active "$CD_UNIT" 2>/dev/null || :)
  if [ "$UPGRADING" = 1 ]; then
    # Back to the old volume, which the upgrade never touched.
    UPGRADING=0
    if [ "$PG_VOLUME" = "$CD_PG_VOLUME" ]; then rm -f "$CD_DIR/state/postgres-volume"; else printf '%s\n' "$PG_VOLUME" >"$CD_DIR/state/postgres-volume"; fi
    systemctl stop "$CD_UNIT" >/dev/null 2>&1
    ACTIVE=inactive
  fi
  if ! apply_release "$CURRENT"; then
    emit fact rollback failed
    return 1
  fi
  if [ -n "$PREVIOUS" ]; then switch_link previous "$PREVIOUS"; else rm -f "$CD_DIR/previous"; fi
  ROLLED_BACK=1
  emit fact rolled-back "$CURRENT"
  return 0
}

await_verdict() {
  phase verify
  emit await-verdict
  verdict=
  IFS= read -r verdict || verdict=
  case "$verdict" in
  healthy) RESULT=healthy ;;
  rollback)
    if roll_back; then RESULT=rolled-back; else RESULT=unhealthy-rollback-failed; fi
    ;;
  unhealthy) RESULT=unhealthy ;;
  *)
    # No verdict: the runner is gone (the connection was cut). A new release nobody saw healthy is not
    # kept: a rerun would find it unchanged and check it with no rollback to fall back on.
    if [ "$CD_MODE" = deploy ] && [ "$CHANGED" = 1 ] && [ "$CD_ROLLBACK" = 1 ] && roll_back; then
      RESULT=unverified-rolled-back
    else
      RESULT=unverified
    fi
    ;;
  esac
  emit verdict "$RESULT"
}

remove_old_releases() {
  phase cleanup
  keep_current=$(release_of current)
  keep_previous=$(release_of previous)
  # shellcheck disable=SC2010,SC2012
  ls -1t "$CD_DIR/releases" | grep '^r[0-9a-f]*$' | tail -n +"$((CD_KEEP + 1))" | while read -r old; do
    [ "$old" = "$keep_current" ] || [ "$old" = "$keep_previous" ] && continue
    rm -rf "${CD_DIR:?}/releases/$old" && emit fact removed-release "$old"
  done
}

# ---------------------------------------------------------------------------------------------------
# The .env is written as Compose v2 reads it. docker-compose v1 reads a `\\` inside a single-quoted value
# as one backslash where v2 keeps both, so on a v1 host such a value would reach the stack changed.
check_env_for_compose_v1() {
  [ "$COMPOSE" = docker-compose ] || return 0
  names=$(grep -o "^[A-Za-z_][A-Za-z0-9_]*='[^']*[\\][\\]" "$REL/.env" | cut -d= -f1 | tr '\n' ' ')
  [ -z "$names" ] ||
    fail "docker-compose v1 would read the backslashes in ${names% } differently from how they were written: install the compose plugin (docker-compose-plugin), or leave out the double backslashes"
}

deploy() {
  preflight
  acquire_lock
  if [ "$WAITED" = 1 ]; then
    # Re-read under the lock: another deploy finished while we waited.
    CURRENT=$(release_of current)
    PREVIOUS=$(release_of previous)
    RUNNING=$(cat "$CD_DIR/state/running" 2>/dev/null || :)
    ACTIVE=$(systemctl is-active "$CD_UNIT" 2>/dev/null || :)
  fi
  receive_release
  check_env_for_compose_v1
  pin_postgres_volume "$REL"
  ensure_volumes
  [ "$LEGACY" = 1 ] && adopt_legacy
  if [ "$CURRENT" = "$CD_RELEASE" ] && [ "$RUNNING" = "$CD_RELEASE" ] && [ "$ACTIVE" = active ] &&
    [ "$CD_FORCE" != 1 ] && cmp -s "$REL/$UNIT_SOURCE" "$UNIT_PATH"; then
    CHANGED=0
    emit changed 0
  else
    CHANGED=1
    emit changed 1
    prepare_images
    if [ -n "$UPGRADE_FROM" ]; then prepare_postgres_upgrade; else backup_database; fi
    if ! apply_release "$CD_RELEASE"; then
      # The failed command and its output, kept for the report while the rollback runs commands of its own.
      failed_action=$action
      cp "$OUT" "$OUT.restart"
      if [ "$CD_ROLLBACK" = 1 ] && roll_back; then
        cp "$OUT.restart" "$OUT"
        PHASE=restart
        fail "systemctl $failed_action $CD_UNIT failed; rolled back to $CURRENT" "systemctl $failed_action $CD_UNIT"
      fi
      cp "$OUT.restart" "$OUT"
      PHASE=restart
      fail "systemctl $failed_action $CD_UNIT failed" "systemctl $failed_action $CD_UNIT"
    fi
    [ -n "$CURRENT" ] && [ "$CURRENT" != "$CD_RELEASE" ] && switch_link previous "$CURRENT"
  fi
  if [ "$CD_AWAIT_VERDICT" = 1 ]; then await_verdict; else RESULT=applied; fi
  [ "$RESULT" = healthy ] || [ "$RESULT" = applied ] && remove_old_releases
  log_deploy
  emit result "$RESULT"
}

rollback() {
  preflight
  acquire_lock
  CURRENT=$(release_of current)
  PREVIOUS=$(release_of previous)
  RUNNING=$(cat "$CD_DIR/state/running" 2>/dev/null || :)
  { [ -n "$PREVIOUS" ] && [ -f "$CD_DIR/releases/$PREVIOUS/.complete" ]; } ||
    fail "there is no previous release to roll back to in $CD_DIR (current: ${CURRENT:-none})"
  CD_RELEASE=$PREVIOUS
  REL="$CD_DIR/releases/$PREVIOUS"
  CHANGED=1
  emit changed 1
  backup_database
  apply_release "$PREVIOUS" || fail "systemctl $action $CD_UNIT failed" "systemctl $action $CD_UNIT"
  switch_link previous "$CURRENT"
  if [ "$CD_AWAIT_VERDICT" = 1 ]; then
    await_verdict
    # A failed check after a rollback is reported; rolling back the rollback would only flap.
    [ "$RESULT" = rolled-back ] && RESULT=unhealthy
  else
    RESULT=applied
  fi
  log_deploy
  emit result "$RESULT"
}

plan() {
  preflight
  emit fact release-exists "$([ -f "$CD_DIR/releases/$CD_RELEASE/.complete" ] && echo yes || echo no)"
  # The current release's files, for the runner to diff against the new one (it redacts secrets).
  if [ -n "$CURRENT" ] && [ -d "$CD_DIR/current/" ]; then
    emit begin-tar
    (cd "$CD_DIR/current/" && tar -cf - --exclude=./.complete . | base64 -w 76) | while IFS= read -r line; do emit tar "$line"; done
    emit end-tar
  fi
  emit result planned
}

diagnose() {
  phase diagnose
  printf '$ systemctl status %s\n' "$CD_UNIT"
  systemctl status --no-pager "$CD_UNIT" 2>&1 | tail -n 20
  if [ -d "$CD_DIR/current/" ]; then
    cd "$CD_DIR/current/" || exit 1
    if docker compose version >/dev/null 2>&1; then COMPOSE="docker compose"; else COMPOSE=docker-compose; fi
    printf '$ %s ps\n' "$COMPOSE"
    $COMPOSE ps 2>&1 | tail -n 20
    printf '$ %s logs --tail 30\n' "$COMPOSE"
    $COMPOSE logs --tail 30 --no-color 2>&1 | tail -n 120
  else
    printf 'no current release in %s\n' "$CD_DIR"
  fi
  printf '$ df -h %s\n' "$CD_DIR"
  df -h "$CD_DIR" 2>&1 | tail -n 2
  emit result diagnosed
}

case "$CD_MODE" in
deploy) deploy ;;
rollback) rollback ;;
plan) plan ;;
diagnose) diagnose ;;
*) fail "unknown mode $CD_MODE" ;;
esac
