/**
 * A PostgreSQL image built from Debian's own packages in the official
 * image's pattern: a root entrypoint creates and `chown`s `$PGDATA`, then
 * re-executes itself as `postgres` through `gosu`, runs `initdb` when the data
 * directory is empty, and execs `postgres` listening on every address.
 * Shared by the volumes tests and `npm run bench:volumes`.
 */
import type { DebianImageSpec } from "../../support/debianImages.js"

export const POSTGRES_PASSWORD = "denia-test-password"
export const PGDATA = "/var/lib/postgresql/data"

const entrypoint = `#!/bin/sh
set -e
if [ "$(id -u)" = "0" ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec gosu postgres "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s\\n' "$POSTGRES_PASSWORD" > /tmp/pwfile
  initdb -D "$PGDATA" --username=postgres --pwfile=/tmp/pwfile --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f /tmp/pwfile
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/var/run/postgresql
`

export const postgresImage: DebianImageSpec = {
  packages: ["postgresql", "gosu"],
  files: { "docker-entrypoint.sh": { content: entrypoint, mode: 0o755 } },
  containerfile: [
    "COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh",
    "ENV PGDATA=/var/lib/postgresql/data",
    "ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    `ENV POSTGRES_PASSWORD=${POSTGRES_PASSWORD}`,
    "EXPOSE 5432",
    "STOPSIGNAL SIGINT",
    `ENTRYPOINT ["docker-entrypoint.sh"]`,
    `CMD ["postgres"]`
  ]
}
