#!/bin/sh
# Entrypoint of the Commento stack's certbot image: the first certificate for DOMAIN, then renewals.
#
# What to do is decided from the certificate itself, at every start and every round of the loop:
#   - a certbot lineage for DOMAIN holding a certificate a CA issued: nothing is issued; `certbot renew`
#     renews it when it is due (never --force-renewal), twice a day;
#   - no lineage: issue one. certbot creates a lineage only on success, so a failed first issuance
#     leaves nothing behind, and the next attempt (after a back-off, or at the next start) issues again;
#   - something in live/DOMAIN that certbot did not issue (the 2019 setup's dummy certificate, a
#     half-deleted lineage): moved aside, never deleted, then issue;
#   - a staging lineage while STAGING is false: deleted (a staging certificate is worth nothing, and
#     certbot would keep it until it is due), then issue a trusted one.
# After every certificate it actually obtains, certbot runs DEPLOY_HOOK, which asks nginx to reload.
#
# Every path and the ACME directory are environment variables whose defaults are the container's, so
# the tests run this script natively with real certbot against Pebble.
set -u

DOMAIN=${DOMAIN:-}
EMAIL=${EMAIL:-}
STAGING=${STAGING:-false}
LETSENCRYPT_DIR=${LETSENCRYPT_DIR:-/etc/letsencrypt}
CERTBOT_WORK_DIR=${CERTBOT_WORK_DIR:-/var/lib/letsencrypt}
CERTBOT_LOGS_DIR=${CERTBOT_LOGS_DIR:-/var/log/letsencrypt}
WEBROOT=${WEBROOT:-/var/www/certbot}
# Empty: Let's Encrypt (its staging environment when STAGING is true).
ACME_SERVER=${ACME_SERVER:-}
DEPLOY_HOOK=${DEPLOY_HOOK:-/usr/local/bin/commento-certbot-deploy-hook}
# Seconds between renewal checks (Let's Encrypt suggests twice a day).
RENEW_INTERVAL=${RENEW_INTERVAL:-43200}
# After a failed issuance: wait ISSUE_RETRY_MIN seconds, doubling up to ISSUE_RETRY_MAX. Let's Encrypt
# allows 5 failed validations per name and hour; this stays below that.
ISSUE_RETRY_MIN=${ISSUE_RETRY_MIN:-300}
ISSUE_RETRY_MAX=${ISSUE_RETRY_MAX:-21600}
# Must match stack/nginx/entrypoint.sh and src/release/placeholder.ts.
PLACEHOLDER_NAME='commento-deploy placeholder'

log() { printf 'commento-certbot: %s\n' "$*"; }
die() {
  log "$*" >&2
  exit 2
}

validate() {
  case $DOMAIN in
  '') die "DOMAIN is empty: set it to the site's DNS name, e.g. comments.example.com (commento-deploy writes it to .env)." ;;
  *[!a-z0-9.-]* | .* | *. | *..*) die "DOMAIN '$DOMAIN' is not a lower-case ASCII DNS name such as comments.example.com." ;;
  esac
  case $STAGING in true | false) ;; *) die "STAGING is '$STAGING'; expected true or false." ;; esac
  for name in RENEW_INTERVAL ISSUE_RETRY_MIN ISSUE_RETRY_MAX; do
    eval "value=\$$name"
    # shellcheck disable=SC2154 # assigned by the eval above
    case $value in '' | 0 | *[!0-9]*) die "$name is '$value'; expected a whole number of seconds above 0." ;; esac
  done
  command -v certbot >/dev/null || die "certbot is not installed."
  command -v python3 >/dev/null || die "python3 is not installed; it reads the certificate."
  [ -x "$DEPLOY_HOOK" ] || die "the deploy hook $DEPLOY_HOOK is missing or not executable (DEPLOY_HOOK)."
}

# Signals: stop the running certbot or sleep, then leave.
child=
stopping=false
on_signal() {
  stopping=true
  if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; fi
}
trap on_signal TERM INT

# Runs a command as a child the signal handler can stop; returns its status.
supervised() {
  "$@" &
  child=$!
  wait "$child"
  status=$?
  while kill -0 "$child" 2>/dev/null; do
    wait "$child"
    status=$?
  done
  child=
  return "$status"
}

run_certbot() {
  supervised certbot --non-interactive --config-dir "$LETSENCRYPT_DIR" --work-dir "$CERTBOT_WORK_DIR" \
    --logs-dir "$CERTBOT_LOGS_DIR" "$@"
}

# Prints the issuer, a line break and the subject of the first certificate in a PEM file.
certificate_names() {
  python3 -c '
import sys
from cryptography import x509
with open(sys.argv[1], "rb") as f:
    cert = x509.load_pem_x509_certificate(f.read())
print(cert.issuer.rfc4514_string())
print(cert.subject.rfc4514_string())
' "$1" 2>/dev/null
}

# none | valid | staging | staging-unwanted | foreign
lineage_state() {
  live=$LETSENCRYPT_DIR/live/$DOMAIN
  conf=$LETSENCRYPT_DIR/renewal/$DOMAIN.conf
  if [ ! -e "$live" ] && [ ! -e "$conf" ]; then
    echo none
    return
  fi
  if [ ! -f "$conf" ] || [ ! -s "$live/fullchain.pem" ] || [ ! -s "$live/privkey.pem" ]; then
    echo foreign
    return
  fi
  names=$(certificate_names "$live/fullchain.pem") || {
    echo foreign
    return
  }
  issuer=$(printf '%s\n' "$names" | sed -n 1p)
  subject=$(printf '%s\n' "$names" | sed -n 2p)
  case $issuer in *"$PLACEHOLDER_NAME"*)
    echo foreign
    return
    ;;
  esac
  if [ "$issuer" = "$subject" ]; then
    echo foreign
    return
  fi
  if grep -Eq '^[[:space:]]*server[[:space:]]*=.*acme-staging' "$conf"; then
    if [ "$STAGING" = true ]; then echo staging; else echo staging-unwanted; fi
    return
  fi
  echo valid
}

# Moves what certbot did not make for DOMAIN out of its way, keeping it for inspection.
move_aside() {
  aside=$LETSENCRYPT_DIR/commento-deploy-aside/$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$aside" || return 1
  for path in "live/$DOMAIN" "archive/$DOMAIN" "renewal/$DOMAIN.conf"; do
    if [ -e "$LETSENCRYPT_DIR/$path" ] || [ -L "$LETSENCRYPT_DIR/$path" ]; then
      mkdir -p "$aside/$(dirname "$path")" && mv "$LETSENCRYPT_DIR/$path" "$aside/$path" || return 1
    fi
  done
  log "moved files for $DOMAIN that certbot did not issue (or that are incomplete) to $aside"
}

issue() {
  set -- certonly --webroot --webroot-path "$WEBROOT" --cert-name "$DOMAIN" --domain "$DOMAIN" \
    --agree-tos --keep-until-expiring --deploy-hook "$DEPLOY_HOOK"
  if [ -n "$EMAIL" ]; then
    set -- "$@" --email "$EMAIL" --no-eff-email
  else
    set -- "$@" --register-unsafely-without-email
  fi
  if [ -n "$ACME_SERVER" ]; then
    set -- "$@" --server "$ACME_SERVER"
  elif [ "$STAGING" = true ]; then
    set -- "$@" --test-cert
  fi
  run_certbot "$@"
}

renew() {
  run_certbot renew --cert-name "$DOMAIN" --deploy-hook "$DEPLOY_HOOK"
}

ca_name() {
  if [ -n "$ACME_SERVER" ]; then
    echo "the ACME server $ACME_SERVER"
  elif [ "$STAGING" = true ]; then
    echo "Let's Encrypt's staging environment"
  else
    echo "Let's Encrypt"
  fi
}

main() {
  validate
  mkdir -p "$LETSENCRYPT_DIR" "$CERTBOT_WORK_DIR" "$CERTBOT_LOGS_DIR" "$WEBROOT" || die "cannot create certbot's directories."
  failures=0
  while :; do
    delay=$RENEW_INTERVAL
    state=$(lineage_state)
    case $state in
    valid | staging)
      log "a certificate for $DOMAIN is in place ($state lineage); no issuance, checking whether it is due for renewal"
      renew || log "the renewal check failed (see certbot's message above); trying again in $delay s"
      ;;
    *)
      if [ "$state" = foreign ]; then move_aside || die "cannot move the files in $LETSENCRYPT_DIR aside."; fi
      if [ "$state" = staging-unwanted ]; then
        log "the certificate for $DOMAIN comes from Let's Encrypt's staging environment and STAGING is false: replacing it"
        run_certbot delete --cert-name "$DOMAIN" || die "certbot could not delete the staging certificate for $DOMAIN."
      fi
      log "no certificate for $DOMAIN yet: asking $(ca_name) for one"
      if issue; then
        failures=0
        log "obtained a certificate for $DOMAIN"
      else
        failures=$((failures + 1))
        delay=$ISSUE_RETRY_MIN
        i=1
        while [ "$i" -lt "$failures" ] && [ "$delay" -lt "$ISSUE_RETRY_MAX" ]; do
          delay=$((delay * 2))
          i=$((i + 1))
        done
        if [ "$delay" -gt "$ISSUE_RETRY_MAX" ]; then delay=$ISSUE_RETRY_MAX; fi
        log "issuance failed (attempt $failures, see certbot's message above); trying again in $delay s, or at the next start"
      fi
      ;;
    esac
    if $stopping; then break; fi
    log "next check in $delay s"
    supervised sleep "$delay"
    if $stopping; then break; fi
  done
  log "stopped"
}

main "$@"
