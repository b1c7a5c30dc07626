#!/bin/sh
# Creates Lailiao's two database roles when the postgres container initialises an empty data
# directory (the image runs /docker-entrypoint-initdb.d/*.sh once, as POSTGRES_USER, with the
# server on its Unix socket only). The SQL is deploy/postgres/lailiao-roles.psql, generated from
# backend/core/db_roles.py; on a database that already exists run `manage.py db_roles` instead.
# A subshell: the entrypoint sources a script that lost its executable bit.
(
    set -eu
    : "${LAILIAO_DB_OWNER:?set LAILIAO_DB_OWNER (the role that owns the schema and migrates)}"
    : "${LAILIAO_DB_OWNER_PASSWORD:?set LAILIAO_DB_OWNER_PASSWORD}"
    : "${LAILIAO_DB_APP:?set LAILIAO_DB_APP (the role web, worker and beat connect as)}"
    : "${LAILIAO_DB_APP_PASSWORD:?set LAILIAO_DB_APP_PASSWORD}"

    psql --no-psqlrc --single-transaction -v ON_ERROR_STOP=1 \
        --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
        -v owner="$LAILIAO_DB_OWNER" -v owner_password="$LAILIAO_DB_OWNER_PASSWORD" \
        -v app="$LAILIAO_DB_APP" -v app_password="$LAILIAO_DB_APP_PASSWORD" \
        -f "${LAILIAO_ROLES_SCRIPT:-/docker-entrypoint-initdb.d/lailiao-roles.psql}"
)
