# Apache Kafka for the services tests: one KRaft node that is both broker and controller, on
# 127.0.0.1 only. Sourced by scripts/services.sh, which provides log, die and apt_install.
#
# The broker runs from the Maven Central jars of org.apache.kafka:kafka_2.13 and its runtime
# dependencies, which Maven copies once into $UL_SERVICES_CACHE/kafka-<version>/libs. Kafka 4
# runs only in KRaft mode and needs Java 17 or newer.
#
# Environment: UL_KAFKA_VERSION (default 4.1.1), UL_KAFKA_PORT (client listener, default 19092),
# UL_KAFKA_CONTROLLER_PORT (default 19093), UL_KAFKA_HEAP (maximum Java heap, default 768m),
# UL_SERVICES_CACHE (default /var/cache/upstream-live).

SERVICES+=(kafka)

KAFKA_VERSION="${UL_KAFKA_VERSION:-4.1.1}"
KAFKA_PORT="${UL_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${UL_KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_HEAP="${UL_KAFKA_HEAP:-768m}"
KAFKA_CACHE_DIR="${UL_SERVICES_CACHE:-/var/cache/upstream-live}/kafka-$KAFKA_VERSION"
KAFKA_LIBS_DIR="$KAFKA_CACHE_DIR/libs"
KAFKA_STATE_DIR="/var/lib/upstream-live/kafka"
KAFKA_DATA_DIR="$KAFKA_STATE_DIR/data"
KAFKA_LOG_FILE="$KAFKA_STATE_DIR/kafka.log"
KAFKA_PID_FILE="$KAFKA_STATE_DIR/kafka.pid"
KAFKA_CLUSTER_ID_FILE="$KAFKA_STATE_DIR/cluster-id"
KAFKA_CONFIG_FILE="$KAFKA_STATE_DIR/server.properties"
KAFKA_LOG4J_FILE="$KAFKA_STATE_DIR/log4j2.properties"
KAFKA_READY_TIMEOUT_S=90
KAFKA_STOP_TIMEOUT_S=60
# Pinned so that the download does not depend on which plugin version Maven picks by default.
KAFKA_DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
# Root of the repository, whose node_modules provides kafkajs for the readiness check.
KAFKA_REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Prints the major Java version of the java command $1 (17 for Java 17), or nothing.
kafka_java_major() {
    "$1" -XshowSettings:properties -version 2>&1 \
        | awk -F' = ' '/java.specification.version/ { print $2 }' | sed -E 's/^1\.//; s/\..*//'
}

# Prints the java command to run Kafka with: $UL_KAFKA_JAVA if set, else Java 17 from Debian's
# package, else the java on PATH if it is version 17 or newer.
kafka_java() {
    local candidate
    for candidate in "${UL_KAFKA_JAVA:-}" /usr/lib/jvm/java-17-openjdk-amd64/bin/java "$(command -v java || true)"; do
        [ -n "$candidate" ] && [ -x "$candidate" ] || continue
        local major
        major="$(kafka_java_major "$candidate")"
        if [ -n "$major" ] && [ "$major" -ge 17 ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

kafka_install_tools() {
    if ! kafka_java >/dev/null; then
        apt_install openjdk-17-jre-headless
        kafka_java >/dev/null || die "no Java 17 or newer found after installing openjdk-17-jre-headless; set UL_KAFKA_JAVA to a java command."
    fi
    if [ ! -f "$KAFKA_LIBS_DIR/.complete" ] && ! command -v mvn >/dev/null 2>&1; then
        apt_install maven
    fi
}

# Downloads kafka_2.13 with its runtime dependencies into $KAFKA_LIBS_DIR, once. The file
# .complete marks a finished download, so an interrupted one starts again from the beginning.
kafka_fetch() {
    if [ -f "$KAFKA_LIBS_DIR/.complete" ]; then
        return 0
    fi
    log "downloading Kafka $KAFKA_VERSION (org.apache.kafka:kafka_2.13) and its dependencies with Maven into $KAFKA_LIBS_DIR"
    mkdir -p "$KAFKA_CACHE_DIR"
    local partial="$KAFKA_CACHE_DIR/libs.partial"
    rm -rf "$partial" "$KAFKA_LIBS_DIR"
    # A pom with the broker as its only dependency, so that copy-dependencies resolves the
    # broker's whole runtime classpath.
    cat >"$KAFKA_CACHE_DIR/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by scripts/services/kafka.sh to download the Kafka broker's jars. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
    <modelVersion>4.0.0</modelVersion>
    <groupId>local.upstream-live</groupId>
    <artifactId>kafka-broker-libs</artifactId>
    <version>1</version>
    <packaging>pom</packaging>
    <dependencies>
        <dependency>
            <groupId>org.apache.kafka</groupId>
            <artifactId>kafka_2.13</artifactId>
            <version>$KAFKA_VERSION</version>
        </dependency>
    </dependencies>
</project>
EOF
    # Maven's output goes to a file: on stdout it would mix with the variables that start prints.
    local maven_log="$KAFKA_CACHE_DIR/maven.log"
    local mvn_options=(-B -ntp -Dstyle.color=never -f "$KAFKA_CACHE_DIR/pom.xml")
    mvn "${mvn_options[@]}" "$KAFKA_DEPENDENCY_PLUGIN:copy-dependencies" \
        -DincludeScope=runtime -DoutputDirectory="$partial" >"$maven_log" 2>&1 \
        || die "Maven could not download org.apache.kafka:kafka_2.13:$KAFKA_VERSION (is UL_KAFKA_VERSION a released version?); see $maven_log. Its last lines:
$(tail -n 20 "$maven_log")"
    # The broker logs through SLF4J 1.7 and brings log4j-core, but no binding between them, and
    # without a binding SLF4J drops every log line. Take log4j's SLF4J 1.x binding of the same
    # log4j version.
    local log4j_version
    log4j_version="$(find "$partial" -name 'log4j-core-*.jar' -printf '%f\n' | sed -E 's/^log4j-core-(.*)\.jar$/\1/' | head -n 1)"
    [ -n "$log4j_version" ] || die "the Kafka $KAFKA_VERSION dependencies contain no log4j-core jar in $partial, so the broker would log nothing; pick another UL_KAFKA_VERSION."
    mvn "${mvn_options[@]}" "$KAFKA_DEPENDENCY_PLUGIN:copy" \
        -Dartifact="org.apache.logging.log4j:log4j-slf4j-impl:$log4j_version" -DoutputDirectory="$partial" >>"$maven_log" 2>&1 \
        || die "Maven could not download org.apache.logging.log4j:log4j-slf4j-impl:$log4j_version; see $maven_log. Its last lines:
$(tail -n 20 "$maven_log")"
    [ -f "$partial/kafka_2.13-$KAFKA_VERSION.jar" ] || die "Maven finished but $partial has no kafka_2.13-$KAFKA_VERSION.jar."
    touch "$partial/.complete"
    mv "$partial" "$KAFKA_LIBS_DIR"
}

# Runs a class of the Kafka jars with the broker's Java.
kafka_run_class() {
    local java
    java="$(kafka_java)" || die "no Java 17 or newer found; set UL_KAFKA_JAVA to a java command."
    "$java" -cp "$KAFKA_LIBS_DIR/*" "$@"
}

kafka_write_config() {
    mkdir -p "$KAFKA_DATA_DIR"
    cat >"$KAFKA_CONFIG_FILE" <<EOF
# Written by scripts/services/kafka.sh on every start; edit that script instead.
# One node that is both broker and controller (KRaft), listening on 127.0.0.1 only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DATA_DIR

# With one broker every internal topic can have only one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
# Fewer partitions than the defaults (50) for the internal topics, so a test's first consumer
# group or transaction does not wait for 50 partitions to be created.
offsets.topic.num.partitions=8
transaction.state.log.num.partitions=8

# Tests: a consumer group starts consuming at once instead of waiting 3 s for more members, and
# the product creates its own topics, so a typo in a topic name fails instead of creating one.
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.partitions=4

# The machine has 2 cores shared with other services.
num.network.threads=2
num.io.threads=4
# A 10-minute run of npm run bench:bus writes about 6 GB to the bus topics. Each partition keeps
# at most 256 MB in segments of 64 MB, and nothing older than 2 hours, so repeated runs cannot
# fill the disk. The broker checks once a minute.
log.retention.hours=2
log.retention.bytes=268435456
log.segment.bytes=67108864
log.retention.check.interval.ms=60000
EOF
    # Kafka's output goes to stdout, which the start redirects to $KAFKA_LOG_FILE.
    cat >"$KAFKA_LOG4J_FILE" <<'EOF'
# Written by scripts/services/kafka.sh on every start.
status = warn
appender.stdout.type = Console
appender.stdout.name = stdout
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = stdout
logger.state-change.name = state.change.logger
logger.state-change.level = WARN
EOF
}

# Formats the data folder once. StorageTool itself also rejects an already formatted folder,
# so a formatted folder is never wiped. The cluster id is stored beside it on the first format.
kafka_format() {
    if [ -f "$KAFKA_DATA_DIR/meta.properties" ]; then
        return 0
    fi
    if [ ! -s "$KAFKA_CLUSTER_ID_FILE" ]; then
        local cluster_id
        cluster_id="$(kafka_run_class kafka.tools.StorageTool random-uuid)" \
            || die "kafka.tools.StorageTool random-uuid failed; see the Java output above."
        echo "$cluster_id" >"$KAFKA_CLUSTER_ID_FILE"
    fi
    log "formatting $KAFKA_DATA_DIR with cluster id $(cat "$KAFKA_CLUSTER_ID_FILE")"
    kafka_run_class kafka.tools.StorageTool format --cluster-id "$(cat "$KAFKA_CLUSTER_ID_FILE")" \
        --config "$KAFKA_CONFIG_FILE" >>"$KAFKA_LOG_FILE" 2>&1 \
        || die "formatting the Kafka data folder $KAFKA_DATA_DIR failed; see $KAFKA_LOG_FILE."
}

# Prints the pid of the broker this script started, if that process is still running.
kafka_pid() {
    [ -f "$KAFKA_PID_FILE" ] || return 1
    local pid
    pid="$(cat "$KAFKA_PID_FILE")"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    # A pid file left by a crash may name a pid that another program reuses.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' || return 1
    echo "$pid"
}

# Returns 0 when something accepts TCP connections on 127.0.0.1:$1.
kafka_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Connects with kafkajs and lists the topics, so the check passes only when the broker serves
# metadata requests, not merely when its port is open. Prints the error on failure.
KAFKA_READY_CHECK_JS='
const { Kafka, logLevel } = require("kafkajs");
const kafka = new Kafka({
    clientId: "services-ready-check",
    brokers: [process.env.KAFKA_BROKER],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    requestTimeout: 5000,
    retry: { retries: 0 },
});
const admin = kafka.admin();
admin.connect()
    .then(() => admin.listTopics())
    .then(() => admin.disconnect())
    .then(() => process.exit(0), (error) => {
        console.error(error.message);
        process.exit(1);
    });
'

kafka_wait_ready() {
    local pid="$1"
    if ! (cd "$KAFKA_REPO_DIR" && node -e 'require.resolve("kafkajs")') >/dev/null 2>&1; then
        die "the Kafka readiness check needs node and kafkajs from $KAFKA_REPO_DIR/node_modules; run npm ci there first."
    fi
    local started=$SECONDS error=""
    while true; do
        if ! kill -0 "$pid" 2>/dev/null; then
            die "Kafka (pid $pid) exited during start-up; see $KAFKA_LOG_FILE. Its last lines:
$(tail -n 15 "$KAFKA_LOG_FILE")"
        fi
        if error="$(cd "$KAFKA_REPO_DIR" && KAFKA_BROKER="127.0.0.1:$KAFKA_PORT" node -e "$KAFKA_READY_CHECK_JS" 2>&1)"; then
            return 0
        fi
        if [ $((SECONDS - started)) -ge "$KAFKA_READY_TIMEOUT_S" ]; then
            die "Kafka (pid $pid) did not accept clients on 127.0.0.1:$KAFKA_PORT within ${KAFKA_READY_TIMEOUT_S} s (last error: $error); see $KAFKA_LOG_FILE. Stop it with scripts/services.sh stop."
        fi
        sleep 1
    done
}

kafka_start() {
    kafka_install_tools
    kafka_fetch
    mkdir -p "$KAFKA_STATE_DIR"
    local pid
    if pid="$(kafka_pid)"; then
        log "Kafka $KAFKA_VERSION already running (pid $pid) on 127.0.0.1:$KAFKA_PORT"
    else
        local port
        for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
            if kafka_port_open "$port"; then
                die "port 127.0.0.1:$port is in use by another process, so Kafka cannot listen on it; stop that process or set UL_KAFKA_PORT and UL_KAFKA_CONTROLLER_PORT."
            fi
        done
        kafka_write_config
        # Keep the log of the previous run only.
        if [ -f "$KAFKA_LOG_FILE" ]; then
            mv "$KAFKA_LOG_FILE" "$KAFKA_LOG_FILE.1"
        fi
        kafka_format
        local java
        java="$(kafka_java)"
        log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT (controller 127.0.0.1:$KAFKA_CONTROLLER_PORT), log $KAFKA_LOG_FILE"
        # G1 with a 20 ms pause goal and a bounded heap. ExitOnOutOfMemoryError ends the process
        # on an OutOfMemoryError, so a broker that no longer works does not keep its ports.
        # setsid: a new session, so that the broker outlives the shell or job that started it.
        setsid nohup "$java" "-Xmx$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
            -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
            "-Dlog4j2.configurationFile=$KAFKA_LOG4J_FILE" \
            -cp "$KAFKA_LIBS_DIR/*" kafka.Kafka "$KAFKA_CONFIG_FILE" \
            </dev/null >>"$KAFKA_LOG_FILE" 2>&1 &
        pid=$!
        echo "$pid" >"$KAFKA_PID_FILE"
    fi
    kafka_wait_ready "$pid"
    echo "UL_TEST_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
}

kafka_stop() {
    local pid
    if ! pid="$(kafka_pid)"; then
        log "Kafka is not running"
        rm -f "$KAFKA_PID_FILE"
        return 0
    fi
    stop_process Kafka "$pid" "$KAFKA_STOP_TIMEOUT_S" "See $KAFKA_LOG_FILE."
    rm -f "$KAFKA_PID_FILE"
}

kafka_status() {
    if [ ! -f "$KAFKA_LIBS_DIR/.complete" ]; then
        echo "kafka: $KAFKA_VERSION not downloaded (no $KAFKA_LIBS_DIR)"
        return 0
    fi
    local pid
    if pid="$(kafka_pid)"; then
        echo "kafka: $KAFKA_VERSION running (pid $pid) on 127.0.0.1:$KAFKA_PORT, log $KAFKA_LOG_FILE"
        echo "UL_TEST_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
    else
        echo "kafka: $KAFKA_VERSION downloaded, not running"
    fi
}
