#!/usr/bin/env bash
# Starts, stops and reports the services that the services test suite (npm run test:services)
# needs, on loopback only. Installs them from Debian's packages when they are missing.
#
#   scripts/services.sh start    install if needed, start, create the test role and database,
#                                wait until ready and print the environment variables to export
#   scripts/services.sh stop     stop every service this script starts
#   scripts/services.sh status   print whether each service is installed and running
#   scripts/services.sh restart SERVICE
#                                stop and start one service of SERVICES (for example mosquitto)
#                                and print its environment variables
#   scripts/services.sh stop-one SERVICE, start-one SERVICE
#                                stop or start one service only (outage tests)
#
# Runs as root, non-interactively (CI and development containers). Each service has its own
# <service>_start, <service>_stop and <service>_status functions; add a service by writing
# those three, either here or in a file of scripts/services/, and listing it in SERVICES.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

SERVICES=(postgres)

# PostgreSQL role, password and database of the tests. The password only guards a server that
# listens on 127.0.0.1 of a test machine; set UL_PG_PASSWORD to use another one.
PG_ROLE="${UL_PG_ROLE:-upstream}"
PG_PASSWORD="${UL_PG_PASSWORD:-upstream-test}"
PG_DATABASE="${UL_PG_DATABASE:-upstream_test}"
PG_CLUSTER="main"
PG_READY_TIMEOUT_S=60

APT_UPDATED=0

log() {
    echo "services: $*" >&2
}

die() {
    echo "services: $*" >&2
    exit 1
}

apt_install() {
    if [ "$(id -u)" -ne 0 ]; then
        die "installing $* needs root; run this script as root or install the packages first."
    fi
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install -y $*"
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Sends SIGTERM to a background service and waits up to TIMEOUT seconds for it to exit, then
# sends SIGKILL with a warning that ends with HINT.
#   stop_process NAME PID TIMEOUT HINT
stop_process() {
    local name="$1" pid="$2" timeout="$3" hint="$4"
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local started=$SECONDS
    while kill -0 "$pid" 2>/dev/null; do
        if [ $((SECONDS - started)) -ge "$timeout" ]; then
            log "warning: $name (pid $pid) did not exit within ${timeout} s of SIGTERM; sending SIGKILL. $hint"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 1
            return 0
        fi
        sleep 0.2
    done
}

# --- PostgreSQL -------------------------------------------------------------------------------

# Prints the newest installed PostgreSQL major version, or nothing.
postgres_version() {
    if [ -d /usr/lib/postgresql ]; then
        find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null \
            | sed -E 's|/usr/lib/postgresql/([^/]+)/bin/postgres|\1|' | sort -V | tail -n 1
    fi
}

postgres_installed() {
    [ -n "$(postgres_version)" ] && command -v pg_ctlcluster >/dev/null 2>&1
}

# Prints the port of the cluster from pg_lsclusters.
postgres_port() {
    pg_lsclusters --no-header | awk -v v="$1" -v c="$PG_CLUSTER" '$1 == v && $2 == c { print $3 }'
}

postgres_running() {
    pg_lsclusters --no-header | awk -v v="$1" -v c="$PG_CLUSTER" '$1 == v && $2 == c { print $4 }' | grep -q '^online'
}

# Runs psql as the postgres superuser over the Unix socket (peer authentication).
postgres_psql() {
    local port="$1"
    shift
    runuser -u postgres -- psql --no-psqlrc -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres "$@"
}

# Set by postgres_configure when it changed the server settings, so a running server restarts.
PG_CONFIG_CHANGED=0

postgres_configure() {
    local version="$1"
    local conf_dir="/etc/postgresql/$version/$PG_CLUSTER"
    local conf="$conf_dir/conf.d/upstream-live.conf"
    # The store writes many small keyed rows: a buffer cache large enough for the busy part of the
    # readings index (an eighth of the memory, at most 2 GB, at least Debian's 128 MB) and fewer
    # checkpoints during bulk loads. On this project's 2-core test machine these settings raised
    # the store writer from 85,000 to 108,000-115,000 rows/s (npm run bench:store). After each
    # checkpoint, the first write to every hot index page logs the whole page. lz4 compression
    # makes those page images smaller. Once the cache is full, each new page evicts an old one,
    # and a backend that must write a dirty page out itself first flushes the WAL up to it. The
    # background writer's defaults clean at most 500 pages/s. At 40,000 readings/s, 1,900 to
    # 4,700 pages/s were written out, so it runs every 50 ms and cleans up to 1,000 pages per
    # round. Backends still wrote about half of those pages themselves (BENCHMARKS.md).
    local memory_kb buffers_mb
    memory_kb="$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
    buffers_mb=$((memory_kb / 8 / 1024))
    [ "$buffers_mb" -gt 2048 ] && buffers_mb=2048
    [ "$buffers_mb" -lt 128 ] && buffers_mb=128
    local wanted
    wanted="$(printf '%s\n' \
        "# Written by scripts/services.sh. Loopback only: the tests never need another address." \
        "listen_addresses = '127.0.0.1'" \
        "shared_buffers = ${buffers_mb}MB" \
        "max_wal_size = 8GB" \
        "checkpoint_timeout = 30min" \
        "wal_buffers = 64MB" \
        "wal_compression = lz4" \
        "bgwriter_delay = 50ms" \
        "bgwriter_lru_maxpages = 1000" \
        "bgwriter_lru_multiplier = 4.0")"
    if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$wanted" ]; then
        mkdir -p "$conf_dir/conf.d"
        printf '%s\n' "$wanted" >"$conf"
        PG_CONFIG_CHANGED=1
    fi
    # Password authentication for TCP connections from 127.0.0.1, which Debian's default
    # pg_hba.conf already has; added only when a changed file lacks it.
    local hba="$conf_dir/pg_hba.conf"
    if ! grep -Eq '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+(scram-sha-256|md5)' "$hba"; then
        printf 'host all all 127.0.0.1/32 scram-sha-256\n' >>"$hba"
    fi
}

postgres_wait_ready() {
    local port="$1"
    local waited=0
    until pg_isready -q -h 127.0.0.1 -p "$port"; do
        if [ "$waited" -ge "$PG_READY_TIMEOUT_S" ]; then
            die "PostgreSQL did not accept connections on 127.0.0.1:$port within ${PG_READY_TIMEOUT_S} s; see /var/log/postgresql/."
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

postgres_create_role_and_database() {
    local port="$1"
    # Idempotent: creates the role or resets its password, then creates the database if missing.
    # CREATEDB lets each test run create and drop a database of its own.
    postgres_psql "$port" -v role="$PG_ROLE" -v password="$PG_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'role', :'password')
    WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', :'role', :'password') \gexec
SQL
    postgres_psql "$port" -v role="$PG_ROLE" -v db="$PG_DATABASE" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
    WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
}

postgres_url() {
    local port="$1"
    echo "postgres://$PG_ROLE:$PG_PASSWORD@127.0.0.1:$port/$PG_DATABASE"
}

postgres_start() {
    if ! postgres_installed; then
        apt_install postgresql
    fi
    local version
    version="$(postgres_version)"
    [ -n "$version" ] || die "PostgreSQL is not installed after apt-get install postgresql; check the apt output above."
    if [ -z "$(postgres_port "$version")" ]; then
        log "creating cluster $version/$PG_CLUSTER"
        pg_createcluster "$version" "$PG_CLUSTER" >/dev/null
    fi
    postgres_configure "$version"
    local port
    port="$(postgres_port "$version")"
    if postgres_running "$version" && [ "$PG_CONFIG_CHANGED" = 1 ]; then
        log "restarting PostgreSQL $version/$PG_CLUSTER on port $port for its new settings"
        pg_ctlcluster "$version" "$PG_CLUSTER" restart
    elif postgres_running "$version"; then
        log "PostgreSQL $version/$PG_CLUSTER already running on port $port"
    else
        log "starting PostgreSQL $version/$PG_CLUSTER on 127.0.0.1:$port"
        pg_ctlcluster "$version" "$PG_CLUSTER" start
    fi
    postgres_wait_ready "$port"
    postgres_create_role_and_database "$port"
    echo "UL_TEST_DATABASE_URL=$(postgres_url "$port")"
}

postgres_stop() {
    postgres_installed || return 0
    local version
    version="$(postgres_version)"
    if postgres_running "$version"; then
        log "stopping PostgreSQL $version/$PG_CLUSTER"
        pg_ctlcluster "$version" "$PG_CLUSTER" stop
    else
        log "PostgreSQL $version/$PG_CLUSTER is not running"
    fi
}

postgres_status() {
    if ! postgres_installed; then
        echo "postgres: not installed"
        return 0
    fi
    local version port
    version="$(postgres_version)"
    port="$(postgres_port "$version")"
    if [ -n "$port" ] && postgres_running "$version"; then
        echo "postgres: $version/$PG_CLUSTER running on 127.0.0.1:$port"
        echo "UL_TEST_DATABASE_URL=$(postgres_url "$port")"
    else
        echo "postgres: $version/$PG_CLUSTER installed, not running"
    fi
}

# --- further services -------------------------------------------------------------------------

# Each file in scripts/services/ defines the three functions of one more service and appends its
# name to SERVICES.
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for service_file in "$SCRIPT_DIR"/services/*.sh; do
    [ -e "$service_file" ] || continue
    # shellcheck source=/dev/null
    . "$service_file"
done

# --- main -------------------------------------------------------------------------------------

usage() {
    echo "usage: $0 start|stop|status, or $0 restart|stop-one|start-one SERVICE (one of: ${SERVICES[*]})" >&2
    exit 2
}

case "${1:-}" in
    start | stop | status)
        [ $# -eq 1 ] || usage
        for service in "${SERVICES[@]}"; do
            # A service may drop state left by earlier runs before a full start.
            if [ "$1" = start ] && declare -F "${service}_forget_sessions" >/dev/null; then
                "${service}_forget_sessions"
            fi
            "${service}_$1"
        done
        ;;
    restart)
        [ $# -eq 2 ] || usage
        [[ " ${SERVICES[*]} " == *" $2 "* ]] || usage
        "${2}_stop"
        "${2}_start"
        ;;
    stop-one | start-one)
        [ $# -eq 2 ] || usage
        [[ " ${SERVICES[*]} " == *" $2 "* ]] || usage
        "${2}_${1%-one}"
        ;;
    *) usage ;;
esac
