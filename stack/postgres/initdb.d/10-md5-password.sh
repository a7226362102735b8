#!/bin/sh
# Runs once, when the postgres image initialises an empty data volume (/docker-entrypoint-initdb.d),
# against its temporary socket-only server.
#
# initdb stores the superuser's password hashed with the server's default, SCRAM-SHA-256 since
# Postgres 14, whatever password_encryption the server later runs with. Upstream Commento v1.8.0's
# Postgres driver (2018) cannot do SCRAM: store the same password again, hashed with md5, so that the
# md5 rule in pg_hba.conf (POSTGRES_HOST_AUTH_METHOD=md5) asks for md5. Commento++ logs in either way.
set -eu

psql --no-psqlrc --no-password --set=ON_ERROR_STOP=1 --username="$POSTGRES_USER" --dbname=postgres \
  --set=role="$POSTGRES_USER" --set=password="$POSTGRES_PASSWORD" <<'SQL'
SET password_encryption = 'md5';
ALTER ROLE :"role" WITH PASSWORD :'password';
SQL
printf 'commento: stored the password of role %s as md5, for Commento v1.8.0\n' "$POSTGRES_USER"
