#!/bin/sh
# Entrypoint of the Commento stack's nginx image.
#
#   run    (the default) render the site, point it at Let's Encrypt's certificate or, until there is
#          one, at a placeholder made here; start nginx; reload it whenever certbot's deploy hook asks.
#   check  render the site and run `nginx -t`, then exit.
#   other  run that command instead (`docker compose run nginx sh`).
#
# Reloads are driven by certbot, not by polling: its deploy hook (certbot/deploy-hook.sh), which
# certbot runs only after it actually obtained or renewed a certificate, writes a line into the named
# pipe RELOAD_FIFO on a volume both containers share; a reader here wakes up on that line, points the
# links at the current certificate and reloads nginx.
#
# Every path is an environment variable whose default is the container's path, so the tests run this
# script natively with real nginx against Pebble.
set -u

DOMAIN=${DOMAIN:-}
LETSENCRYPT_DIR=${LETSENCRYPT_DIR:-/etc/letsencrypt}
WEBROOT=${WEBROOT:-/var/www/certbot}
TLS_DIR=${TLS_DIR:-/etc/nginx/tls}
SITE_TEMPLATE=${SITE_TEMPLATE:-/etc/nginx/commento/site.conf.template}
TLS_PARAMS=${TLS_PARAMS:-/etc/nginx/commento/tls.conf}
SITE_CONF=${SITE_CONF:-/etc/nginx/conf.d/commento.conf}
NGINX_CONF=${NGINX_CONF:-/etc/nginx/nginx.conf}
RELOAD_FIFO=${RELOAD_FIFO:-/run/commento-reload/nginx-reload}
UPSTREAM=${UPSTREAM:-app:8080}
RESOLVER=${RESOLVER:-127.0.0.11}
# HSTS is off by default: a browser that has seen it refuses every certificate it does not trust for
# max-age seconds, with no click-through, so a placeholder or staging certificate would lock readers
# out, and turning HSTS off again takes max-age to reach them. Set a number of seconds to turn it on.
HSTS_MAX_AGE=${HSTS_MAX_AGE:-0}
PLACEHOLDER_DAYS=${PLACEHOLDER_DAYS:-14}
# The placeholder's issuer (and subject) organisation. src/release/placeholder.ts exports the same
# string, so that the HTTPS check can tell the placeholder from a real certificate.
PLACEHOLDER_NAME='commento-deploy placeholder'

log() { printf 'commento-nginx: %s\n' "$*"; }
die() {
  log "$*" >&2
  exit 2
}

validate() {
  case $DOMAIN in
  '') die "DOMAIN is empty: set it to the site's DNS name, e.g. comments.example.com (commento-deploy writes it to .env)." ;;
  *[!a-z0-9.-]* | .* | *. | *..*) die "DOMAIN '$DOMAIN' is not a lower-case ASCII DNS name such as comments.example.com." ;;
  esac
  case $HSTS_MAX_AGE in '' | *[!0-9]*) die "HSTS_MAX_AGE '$HSTS_MAX_AGE' is not a whole number of seconds (0 turns HSTS off)." ;; esac
  case $PLACEHOLDER_DAYS in '' | 0 | *[!0-9]*) die "PLACEHOLDER_DAYS '$PLACEHOLDER_DAYS' is not a whole number of days above 0." ;; esac
  [ -r "$SITE_TEMPLATE" ] || die "the site template $SITE_TEMPLATE is missing (SITE_TEMPLATE)."
  [ -r "$TLS_PARAMS" ] || die "the TLS settings $TLS_PARAMS are missing (TLS_PARAMS)."
  command -v openssl >/dev/null || die "openssl is not installed; it makes the placeholder certificate."
}

# Escapes a value for the replacement side of a sed s||| command.
sed_value() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

render_site() {
  if [ "$HSTS_MAX_AGE" -gt 0 ]; then
    hsts="add_header Strict-Transport-Security \"max-age=$HSTS_MAX_AGE\" always;"
  else
    hsts='# HSTS is off (HSTS_MAX_AGE=0).'
  fi
  mkdir -p "$(dirname "$SITE_CONF")" || return 1
  sed -e "s|{{DOMAIN}}|$(sed_value "$DOMAIN")|g" \
    -e "s|{{WEBROOT}}|$(sed_value "$WEBROOT")|g" \
    -e "s|{{TLS_DIR}}|$(sed_value "$TLS_DIR")|g" \
    -e "s|{{TLS_PARAMS}}|$(sed_value "$TLS_PARAMS")|g" \
    -e "s|{{RESOLVER}}|$(sed_value "$RESOLVER")|g" \
    -e "s|{{UPSTREAM}}|$(sed_value "$UPSTREAM")|g" \
    -e "s|{{HSTS}}|$(sed_value "$hsts")|g" \
    "$SITE_TEMPLATE" >"$SITE_CONF.new" && mv -f "$SITE_CONF.new" "$SITE_CONF"
}

# A self-signed EC P-256 certificate for DOMAIN, so that nginx can start (and serve the ACME challenge)
# before Let's Encrypt has issued anything. Kept while it is valid for another day.
ensure_placeholder() {
  dir=$TLS_DIR/placeholder
  if [ -s "$dir/privkey.pem" ] && openssl x509 -in "$dir/fullchain.pem" -noout -checkend 86400 >/dev/null 2>&1; then
    return 0
  fi
  mkdir -p "$dir" || return 1
  (
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$PLACEHOLDER_DAYS" \
      -subj "/O=$PLACEHOLDER_NAME/CN=$DOMAIN" \
      -addext "subjectAltName=DNS:$DOMAIN" -addext "basicConstraints=critical,CA:FALSE" \
      -keyout "$dir/privkey.pem.new" -out "$dir/fullchain.pem.new" >/dev/null 2>&1
  ) || {
    log "openssl could not make the placeholder certificate in $dir." >&2
    return 1
  }
  mv -f "$dir/privkey.pem.new" "$dir/privkey.pem" && mv -f "$dir/fullchain.pem.new" "$dir/fullchain.pem" || return 1
  log "made a placeholder certificate for $DOMAIN (self-signed, $PLACEHOLDER_DAYS days) to serve until Let's Encrypt's arrives"
}

use_certificate() {
  mkdir -p "$TLS_DIR" &&
    ln -sfn "$1/fullchain.pem" "$TLS_DIR/fullchain.pem" &&
    ln -sfn "$1/privkey.pem" "$TLS_DIR/privkey.pem"
}

use_placeholder() {
  ensure_placeholder && use_certificate "$TLS_DIR/placeholder" && CERTIFICATE='the placeholder certificate'
}

# Points the links at the certificate certbot keeps for DOMAIN, or at the placeholder while there is none.
select_certificate() {
  live=$LETSENCRYPT_DIR/live/$DOMAIN
  if [ -s "$live/fullchain.pem" ] && [ -s "$live/privkey.pem" ] &&
    openssl x509 -in "$live/fullchain.pem" -noout >/dev/null 2>&1; then
    use_certificate "$live" && CERTIFICATE="the certificate in $live"
  else
    use_placeholder
  fi
}

# Selects the certificate and checks the whole configuration; a certificate nginx cannot load (a
# damaged file, a key that does not match) falls back to the placeholder rather than a dead site.
prepare() {
  select_certificate || return 1
  if nginx -t -q -c "$NGINX_CONF"; then return 0; fi
  case $CERTIFICATE in
  'the placeholder certificate') return 1 ;;
  esac
  log "nginx cannot use $CERTIFICATE (see above); serving the placeholder instead" >&2
  use_placeholder && nginx -t -q -c "$NGINX_CONF"
}

make_fifo() {
  mkdir -p "$(dirname "$RELOAD_FIFO")" || return 1
  if [ -e "$RELOAD_FIFO" ] && [ ! -p "$RELOAD_FIFO" ]; then rm -f "$RELOAD_FIFO"; fi
  [ -p "$RELOAD_FIFO" ] || mkfifo -m 600 "$RELOAD_FIFO"
}

reload_nginx() {
  # Right after the start nginx may not have written its pid file yet: try for a few seconds.
  for _ in 1 2 3 4 5; do
    if nginx -c "$NGINX_CONF" -s reload 2>/dev/null; then return 0; fi
    sleep 1
  done
  nginx -c "$NGINX_CONF" -s reload
}

# Waits for lines on the pipe. It is opened read-write: the open never blocks, and the reader never
# sees end-of-file when a writer closes, so one open serves every request.
watch_reload_requests() {
  exec 3<>"$RELOAD_FIFO" || {
    log "cannot open $RELOAD_FIFO: renewed certificates reach nginx only when it restarts." >&2
    return 1
  }
  while read -r request <&3; do
    log "certbot asks for a reload (${request})"
    if prepare 3<&- && reload_nginx 3<&-; then
      log "nginx reloaded with $CERTIFICATE"
    else
      log "nginx kept its previous configuration: the reload failed (see above)." >&2
    fi
  done
}

nginx_pid=
stop_nginx() {
  if [ -n "$nginx_pid" ]; then kill "-$1" "$nginx_pid" 2>/dev/null; else exit 0; fi
}

run() {
  validate
  render_site || die "could not write the site configuration $SITE_CONF."
  prepare || die "nginx rejects the configuration (see its message above)."
  make_fifo || die "could not make the named pipe $RELOAD_FIFO."
  trap 'stop_nginx QUIT' QUIT
  trap 'stop_nginx TERM' TERM INT
  # The reader starts first, so that no request can arrive between nginx's start and its own.
  watch_reload_requests &
  watcher_pid=$!
  nginx -c "$NGINX_CONF" -g 'daemon off;' &
  nginx_pid=$!
  log "nginx serves $DOMAIN with $CERTIFICATE"
  status=0
  while kill -0 "$nginx_pid" 2>/dev/null; do
    wait "$nginx_pid"
    status=$?
  done
  kill "$watcher_pid" 2>/dev/null
  log "nginx stopped (status $status)"
  exit "$status"
}

check() {
  validate
  render_site || die "could not write the site configuration $SITE_CONF."
  prepare || die "nginx rejects the configuration (see its message above)."
  log "the configuration for $DOMAIN is valid, with $CERTIFICATE"
}

case ${1:-run} in
run) run ;;
check) check ;;
*) exec "$@" ;;
esac
