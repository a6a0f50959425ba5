#!/usr/bin/env bash
# The replica's entrypoint. On first start it copies the primary with pg_basebackup;
# `--write-recovery-conf` makes the copy a hot standby that streams the primary's WAL
# from then on. Then it runs PostgreSQL.
set -euo pipefail
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_basebackup --host="$PRIMARY_HOST" --username=replicator --pgdata="$PGDATA" \
        --write-recovery-conf --wal-method=stream --checkpoint=fast; do
        echo "replica: waiting for the primary at $PRIMARY_HOST" >&2
        rm -rf "${PGDATA:?}"/*
        sleep 2
    done
    chmod 0700 "$PGDATA"
fi
exec postgres -c shared_buffers="${PG_SHARED_BUFFERS:-2GB}"
