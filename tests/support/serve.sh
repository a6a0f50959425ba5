# Sourced by the scripts under tests/ that need a live service (fuzz, clients, browser):
# builds the debug binary, creates a database of its own on the PostgreSQL server
# (DATABASE_URL, default postgres://postgres@127.0.0.1:5432), creates a write key,
# serves the binary on a free port with the sample meeting loaded, and on exit stops it
# and drops the database. After `serve_chancery NAME [VAR=value ...]`:
#   $base        the service's URL, e.g. http://127.0.0.1:40123
#   $key         a write key's secret
#   $workdir     a scratch directory, removed on exit; the log is $workdir/server.log
# Extra VAR=value arguments are set in the service's environment.

log() { printf '\n== %s\n' "$*"; }

serve_chancery() {
    local name=$1
    shift
    log "cargo build"
    cargo build --quiet
    local binary="${CARGO_TARGET_DIR:-target}/debug/chancery"

    local server_url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
    database="chancery_${name}_$(date +%s)_$$"
    admin_url=$(with_database "$server_url" postgres)
    local database_url
    database_url=$(with_database "$server_url" "$database")

    workdir=$(mktemp -d)
    server_pid=""
    trap stop_chancery EXIT

    # Creating the key creates and migrates the database.
    key=$(DATABASE_URL="$database_url" RUST_LOG=error "$binary" keys create --scope write --name "$name" | tail -n 1)
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    base="http://127.0.0.1:$port"

    log "serving on $base with the database $database"
    env DATABASE_URL="$database_url" CHANCERY_LISTEN="127.0.0.1:$port" CHANCERY_SEED=true \
        RUST_LOG="${RUST_LOG:-warn}" "$@" "$binary" serve >"$workdir/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        if python3 -c 'import sys, urllib.request as r; r.urlopen(sys.argv[1], timeout=1)' "$base/ready" 2>/dev/null; then
            return 0
        fi
        kill -0 "$server_pid" 2>/dev/null || { echo "the service exited" >&2; cat "$workdir/server.log" >&2; exit 1; }
        sleep 0.2
    done
    echo "the service did not get ready" >&2
    exit 1
}

# The URL $1 with its database name replaced by $2.
with_database() {
    python3 -c 'import sys, urllib.parse as u
url = u.urlsplit(sys.argv[1])
print(u.urlunsplit(url._replace(path="/" + sys.argv[2])))' "$1" "$2"
}

stop_chancery() {
    local status=$?
    if [ -n "${server_pid:-}" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 ||
        echo "could not drop the database $database" >&2
    if [ "$status" -ne 0 ] && [ -s "$workdir/server.log" ]; then
        echo "--- last lines of the service's log ---" >&2
        tail -n 40 "$workdir/server.log" >&2
    fi
    rm -rf "$workdir"
    exit "$status"
}
