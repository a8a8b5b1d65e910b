# Mosquitto (Debian's package) for the services tests: its own instance on 127.0.0.1 with its own
# configuration and state under /var/lib/upstream-live/mosquitto, not Debian's system service.
# Sourced by scripts/services.sh, which provides log, die and apt_install.
#
# Two listeners:
#   - plain MQTT on UL_MQTT_PORT (default 18830), password authentication with the accounts
#     "edge" and "cloud". Both have the password UL_TEST_MQTT_PASSWORD (default
#     upstream-mqtt-test), which only guards a broker on 127.0.0.1 of a test machine.
#   - MQTT over TLS on UL_MQTTS_PORT (default 18883), which requires a client certificate signed
#     by the test CA and takes the certificate's CN as the user name.
# The test CA and certificates are made with openssl on the first start, in the tls folder of the
# state folder: ca.crt, server.crt, edge-01.crt (CN edge-01, signed by the CA) and rogue.crt
# (also CN edge-01, but self-signed, so the broker must reject it), each with its .key.

SERVICES+=(mosquitto)

MQTT_PORT="${UL_MQTT_PORT:-18830}"
MQTTS_PORT="${UL_MQTTS_PORT:-18883}"
MQTT_PASSWORD="${UL_TEST_MQTT_PASSWORD:-upstream-mqtt-test}"
MQTT_STATE_DIR="/var/lib/upstream-live/mosquitto"
MQTT_DATA_DIR="$MQTT_STATE_DIR/data"
MQTT_TLS_DIR="$MQTT_STATE_DIR/tls"
MQTT_CONFIG_FILE="$MQTT_STATE_DIR/mosquitto.conf"
MQTT_PASSWORD_FILE="$MQTT_STATE_DIR/passwd"
MQTT_LOG_FILE="$MQTT_STATE_DIR/mosquitto.log"
MQTT_PID_FILE="$MQTT_STATE_DIR/mosquitto.pid"
MQTT_READY_TIMEOUT_S=30
MQTT_STOP_TIMEOUT_S=30
# Days the test certificates are valid. They are made again only when a file is missing.
MQTT_CERT_DAYS=3650

mosquitto_installed() {
    command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]
}

mosquitto_binary() {
    command -v mosquitto 2>/dev/null || echo /usr/sbin/mosquitto
}

mosquitto_install() {
    local packages=()
    mosquitto_installed || packages+=(mosquitto)
    command -v mosquitto_pub >/dev/null 2>&1 || packages+=(mosquitto-clients)
    command -v openssl >/dev/null 2>&1 || packages+=(openssl)
    if [ "${#packages[@]}" -gt 0 ]; then
        apt_install "${packages[@]}"
    fi
    mosquitto_installed || die "mosquitto is not installed after apt-get install mosquitto; check the apt output above."
}

# Signs the request $2 for the certificate $1 with the test CA, or self-signs it with the key
# $4 when $3 is "self", using the extension section $5 of the openssl configuration.
mosquitto_sign() {
    local certificate="$1" request="$2" signer="$3" key="$4" extensions="$5"
    local signer_options=(-CA ca.crt -CAkey ca.key)
    if [ "$signer" = self ]; then
        signer_options=(-signkey "$key")
    fi
    openssl x509 -req -in "$request" "${signer_options[@]}" -days "$MQTT_CERT_DAYS" \
        -set_serial "0x$(openssl rand -hex 8)" -extfile openssl.cnf -extensions "$extensions" \
        -out "$certificate" 2>>openssl.log
}

# Makes a P-256 key $1.key and a request $1.csr with the subject $2.
mosquitto_key_and_request() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>>openssl.log \
        && openssl req -new -key "$1.key" -subj "$2" -config openssl.cnf -out "$1.csr" 2>>openssl.log
}

# Makes the test CA and certificates in a scratch folder, then moves it into place, so a failed
# run leaves no half-made set behind.
mosquitto_make_certificates() {
    local file missing=0
    for file in ca.crt server.crt server.key edge-01.crt edge-01.key rogue.crt rogue.key; do
        [ -f "$MQTT_TLS_DIR/$file" ] || missing=1
    done
    if [ "$missing" -eq 0 ]; then
        return 0
    fi
    log "making the test CA and certificates in $MQTT_TLS_DIR"
    local work="$MQTT_STATE_DIR/tls.partial"
    rm -rf "$work"
    mkdir -p "$work"
    # set -e does not apply inside a subshell followed by ||, hence the explicit exits.
    (
        cd "$work" || exit 1
        cat >openssl.cnf <<'EOF'
# Written by scripts/services/mosquitto.sh for the test certificates.
[req]
distinguished_name = subject
prompt = no
[subject]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
EOF
        mosquitto_key_and_request ca '/O=Upstream Live test/CN=Upstream Live test CA' || exit 1
        mosquitto_sign ca.crt ca.csr self ca.key ca || exit 1
        mosquitto_key_and_request server '/O=Upstream Live test/CN=localhost' || exit 1
        mosquitto_sign server.crt server.csr ca '' server || exit 1
        mosquitto_key_and_request edge-01 '/O=Upstream Live test/CN=edge-01' || exit 1
        mosquitto_sign edge-01.crt edge-01.csr ca '' client || exit 1
        # Same CN as the real edge certificate, so the broker can reject it only by its issuer.
        mosquitto_key_and_request rogue '/O=Rogue/CN=edge-01' || exit 1
        mosquitto_sign rogue.crt rogue.csr self rogue.key client || exit 1
        openssl verify -CAfile ca.crt server.crt edge-01.crt >>openssl.log 2>&1 || exit 1
        rm -f ./*.csr
        # The CA and server keys are for root only. The client keys stay readable, because the
        # tests read them.
        chmod 600 ca.key server.key && chmod 644 edge-01.key rogue.key
    ) || die "making the test certificates with openssl in $work failed; see $work/openssl.log."
    rm -rf "$MQTT_TLS_DIR"
    mv "$work" "$MQTT_TLS_DIR"
}

mosquitto_write_config() {
    mkdir -p "$MQTT_DATA_DIR"
    local passwords="$MQTT_PASSWORD_FILE.partial"
    rm -f "$passwords"
    mosquitto_passwd -b -c "$passwords" edge "$MQTT_PASSWORD" >/dev/null \
        && mosquitto_passwd -b "$passwords" cloud "$MQTT_PASSWORD" >/dev/null \
        || die "mosquitto_passwd could not write $passwords."
    chmod 600 "$passwords"
    mv "$passwords" "$MQTT_PASSWORD_FILE"
    cat >"$MQTT_CONFIG_FILE" <<EOF
# Written by scripts/services/mosquitto.sh on every start; edit that script instead.
# Mosquitto 2.0 reference: man mosquitto.conf.

# Authentication settings (allow_anonymous, password_file) apply to the listener above them.
per_listener_settings true
# Runs in the foreground as root: the script tracks the pid, so no pid_file, and no switch to
# the mosquitto user, which could not write to this folder.
user root

log_dest file $MQTT_LOG_FILE
log_type error
log_type warning
log_type notice
log_type information
log_timestamp_format %Y-%m-%dT%H:%M:%S

# Persistent sessions (clean session off) and the QoS 1 messages queued for them survive a
# restart: the broker writes them to mosquitto.db on a clean stop and every 30 s.
persistence true
persistence_location $MQTT_DATA_DIR/
autosave_interval 30
# Sessions of clients that stay away for an hour are dropped, so sessions of finished or killed
# test runs do not pile up.
persistent_client_expiration 1h

# With the default limit of 1,000 queued messages per client, the broker drops QoS 1 messages
# for a persistent subscriber that is offline or slower than its publishers, while the
# publishers still get every PUBACK. The higher limits let an offline ingestion subscriber
# catch up after a long outage. The queue is held in memory, so the byte limit caps it at
# 256 MiB per client.
max_queued_messages 1000000
max_queued_bytes 268435456

# The cloud's intake acknowledges a message only after the bus has stored it, so the number of
# unacknowledged messages the broker sends to one client bounds each runtime's throughput.
# The default of 20 lets about 20 messages wait for Kafka at a time; the intake itself holds at
# most 1,000 (its Max unacked setting).
max_inflight_messages 1000

listener $MQTT_PORT 127.0.0.1
allow_anonymous false
password_file $MQTT_PASSWORD_FILE

listener $MQTTS_PORT 127.0.0.1
allow_anonymous false
cafile $MQTT_TLS_DIR/ca.crt
certfile $MQTT_TLS_DIR/server.crt
keyfile $MQTT_TLS_DIR/server.key
require_certificate true
use_identity_as_username true
EOF
}

# Prints the pid of the broker this script started, if that process is still running.
mosquitto_pid() {
    [ -f "$MQTT_PID_FILE" ] || return 1
    local pid
    pid="$(cat "$MQTT_PID_FILE")"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    # A pid file left by a crash may name a pid that another program reuses.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$MQTT_CONFIG_FILE" || return 1
    echo "$pid"
}

# Returns 0 when something accepts TCP connections on 127.0.0.1:$1.
mosquitto_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Publishes one QoS 1 message on each listener (as "edge" with the password, then with the
# edge-01 certificate), so the check passes only when both listeners accept clients.
mosquitto_check() {
    local topic=upstream-live/services/ready-check
    mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -u edge -P "$MQTT_PASSWORD" -q 1 -t "$topic" -n 2>&1 \
        && mosquitto_pub -h 127.0.0.1 -p "$MQTTS_PORT" --cafile "$MQTT_TLS_DIR/ca.crt" \
            --cert "$MQTT_TLS_DIR/edge-01.crt" --key "$MQTT_TLS_DIR/edge-01.key" -q 1 -t "$topic" -n 2>&1
}

mosquitto_wait_ready() {
    local pid="$1"
    local started=$SECONDS error=""
    while true; do
        if ! kill -0 "$pid" 2>/dev/null; then
            die "Mosquitto (pid $pid) exited during start-up; see $MQTT_LOG_FILE. Its last lines:
$(tail -n 15 "$MQTT_LOG_FILE")"
        fi
        if error="$(mosquitto_check)"; then
            return 0
        fi
        if [ $((SECONDS - started)) -ge "$MQTT_READY_TIMEOUT_S" ]; then
            die "Mosquitto (pid $pid) did not accept clients on 127.0.0.1:$MQTT_PORT and 127.0.0.1:$MQTTS_PORT within ${MQTT_READY_TIMEOUT_S} s (last error: $error); see $MQTT_LOG_FILE. Stop it with scripts/services.sh stop."
        fi
        sleep 0.5
    done
}

mosquitto_print_env() {
    echo "UL_TEST_MQTT_URL=mqtt://127.0.0.1:$MQTT_PORT"
    echo "UL_TEST_MQTT_PASSWORD=$MQTT_PASSWORD"
    echo "UL_TEST_MQTTS_URL=mqtts://127.0.0.1:$MQTTS_PORT"
    echo "UL_TEST_MQTT_TLS_DIR=$MQTT_TLS_DIR"
}

mosquitto_start() {
    mosquitto_install
    mkdir -p "$MQTT_STATE_DIR"
    local pid
    if pid="$(mosquitto_pid)"; then
        log "Mosquitto already running (pid $pid) on 127.0.0.1:$MQTT_PORT and 127.0.0.1:$MQTTS_PORT"
    else
        local port
        for port in "$MQTT_PORT" "$MQTTS_PORT"; do
            if mosquitto_port_open "$port"; then
                die "port 127.0.0.1:$port is in use by another process, so Mosquitto cannot listen on it; stop that process or set UL_MQTT_PORT and UL_MQTTS_PORT."
            fi
        done
        mosquitto_make_certificates
        mosquitto_write_config
        # Keep the log of the previous run only.
        if [ -f "$MQTT_LOG_FILE" ]; then
            mv "$MQTT_LOG_FILE" "$MQTT_LOG_FILE.1"
        fi
        log "starting Mosquitto on 127.0.0.1:$MQTT_PORT (MQTT) and 127.0.0.1:$MQTTS_PORT (MQTT over TLS), log $MQTT_LOG_FILE"
        # In the foreground (no -d), so errors before the log file opens reach the same file.
        # setsid: a new session, so that the broker outlives the shell or job that started it.
        setsid nohup "$(mosquitto_binary)" -c "$MQTT_CONFIG_FILE" </dev/null >>"$MQTT_LOG_FILE" 2>&1 &
        pid=$!
        echo "$pid" >"$MQTT_PID_FILE"
    fi
    mosquitto_wait_ready "$pid"
    mosquitto_print_env
}

# Empties the store of a broker that is not running. `services.sh start` calls it first, but
# `restart mosquitto` does not, because the tests of a broker restart need the store. A session
# left by a killed test or benchmark run gets a copy of every message until it expires, and the
# broker writes its whole store at every autosave. Such sessions once grew the store here to
# 1 GB. The broker then used 6 to 8 % of a core, and a 60 s bus benchmark's p99 rose from 0.8
# to 3 s.
mosquitto_forget_sessions() {
    if mosquitto_pid >/dev/null; then
        return 0
    fi
    if [ -f "$MQTT_DATA_DIR/mosquitto.db" ]; then
        log "removing the stopped broker's sessions and queued messages ($MQTT_DATA_DIR/mosquitto.db)"
        rm -f "$MQTT_DATA_DIR/mosquitto.db"
    fi
}

mosquitto_stop() {
    local pid
    if ! pid="$(mosquitto_pid)"; then
        log "Mosquitto is not running"
        rm -f "$MQTT_PID_FILE"
        return 0
    fi
    # On SIGTERM Mosquitto writes its persistence file and exits.
    stop_process Mosquitto "$pid" "$MQTT_STOP_TIMEOUT_S" "Queued messages since its last autosave are lost. See $MQTT_LOG_FILE."
    rm -f "$MQTT_PID_FILE"
}

mosquitto_status() {
    if ! mosquitto_installed; then
        echo "mosquitto: not installed"
        return 0
    fi
    local pid
    if pid="$(mosquitto_pid)"; then
        echo "mosquitto: running (pid $pid) on 127.0.0.1:$MQTT_PORT and 127.0.0.1:$MQTTS_PORT, log $MQTT_LOG_FILE"
        mosquitto_print_env
    else
        echo "mosquitto: installed, not running"
    fi
}
