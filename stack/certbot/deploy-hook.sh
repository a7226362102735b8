#!/bin/sh
# certbot's deploy hook: certbot runs it once for each certificate it has actually obtained or renewed
# (never after a renewal check that changed nothing). It asks nginx to reload by writing a line into
# the named pipe that nginx's entrypoint reads (nginx/entrypoint.sh).
set -u
RELOAD_FIFO=${RELOAD_FIFO:-/run/commento-reload/nginx-reload}

if [ -p "$RELOAD_FIFO" ]; then
  # Opened read-write, so the open never blocks: when nginx is not running the line is dropped, and
  # nginx picks up the new certificate when it starts.
  printf 'reload %s\n' "${RENEWED_LINEAGE:-}" 1<>"$RELOAD_FIFO"
  printf 'commento-certbot: asked nginx to reload the certificate for %s\n' "${RENEWED_DOMAINS:-}"
else
  printf 'commento-certbot: nginx has not made %s yet; it loads the new certificate when it starts\n' "$RELOAD_FIFO"
fi
