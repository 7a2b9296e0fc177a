#!/usr/bin/env bash
# Run once, when the official postgres image initialises an empty data directory: its
# docker-entrypoint.sh sources this file (it is not executable), so the entrypoint's helpers
# (docker_temp_server_stop/start) and settings (POSTGRES_USER, PGDATA) are in scope.
#
# DocumentDB's libraries must be preloaded, and shared_preload_libraries only takes effect
# when the server starts: append the settings, restart the entrypoint's temporary
# (socket-only) server, then create the extension in the database FerretDB uses.
# No `exit` here: in a sourced file it would end the entrypoint itself.

if ! declare -F docker_temp_server_start >/dev/null; then
  # Executed rather than sourced (someone made it executable): load the helpers ourselves.
  set -Eeo pipefail
  # shellcheck source=/dev/null
  source /usr/local/bin/docker-entrypoint.sh
  docker_setup_env
fi

cat >>"$PGDATA/postgresql.conf" <<'CONF'

# DocumentDB, the engine of FerretDB v2 (added by /docker-entrypoint-initdb.d/10-documentdb.sh)
shared_preload_libraries = 'pg_cron,pg_documentdb_core,pg_documentdb'
cron.database_name = 'postgres'
documentdb.enableSchemaValidation = true
documentdb.enableBypassDocumentValidation = true
documentdb.enableUserCrud = true
documentdb.maxUserLimit = 100
# DocumentDB schedules pg_cron jobs every 2 seconds. Neither log each run: otherwise the server
# log gets 2 lines a second and cron.job_run_details ~90,000 rows a day, never purged.
cron.log_statement = off
cron.log_run = off
CONF

docker_temp_server_stop
docker_temp_server_start

# Over the Unix socket (the temporary server listens on no TCP port), like docker_process_sql.
PGHOST= PGHOSTADDR= psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password \
  --username "$POSTGRES_USER" --dbname postgres \
  --command 'CREATE EXTENSION IF NOT EXISTS documentdb CASCADE'
