#!/usr/bin/env bash
# A single-node Apache Kafka broker (KRaft, combined broker + controller) on 127.0.0.1, for
# development and CI, run straight from the Maven Central jars: no Docker, no tarball download.
#
#   scripts/kafka.sh start    fetch the jars (first run), format the storage (first run), start the
#                             broker in the background and wait until it answers; prints exactly one
#                             line to stdout: MEDALLION_TEST_KAFKA=127.0.0.1:<port> (so `eval` works)
#   scripts/kafka.sh stop     SIGTERM, wait, SIGKILL after a bound
#   scripts/kafka.sh status   says whether it runs (exit 0 when it runs and answers, 1 otherwise)
#
# Environment:
#   MEDALLION_KAFKA_PORT             broker port (default 9092)
#   MEDALLION_KAFKA_CONTROLLER_PORT  KRaft controller port (default broker port + 1)
#   MEDALLION_KAFKA_DIR              state: config, data, logs, pid file (default $MEDALLION_CACHE/kafka-run)
#   MEDALLION_CACHE                  jar cache shared by clones (default $HOME/.cache/medallion)
#   MEDALLION_KAFKA_VERSION          Kafka release on Maven Central (default below)
#   MEDALLION_KAFKA_HEAP             JVM heap options (default -Xms256m -Xmx512m)
#   MEDALLION_KAFKA_START_TIMEOUT    seconds to wait for the broker to answer (default 120)
#   MEDALLION_KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL (default 30)
#
# Only the final `start` line goes to stdout; everything else goes to stderr.
set -euo pipefail

KAFKA_VERSION="${MEDALLION_KAFKA_VERSION:-4.4.0}"
# The slf4j 1.x binding for log4j2 that Kafka's own distribution ships; kafka_2.13's pom leaves it out,
# and without it the broker would log nothing at all.
LOG4J_VERSION="2.25.5"
DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.6.1"

CACHE="${MEDALLION_CACHE:-$HOME/.cache/medallion}"
LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
STATE="${MEDALLION_KAFKA_DIR:-$CACHE/kafka-run}"
PORT="${MEDALLION_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${MEDALLION_KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
HEAP="${MEDALLION_KAFKA_HEAP:--Xms256m -Xmx512m}"
START_TIMEOUT="${MEDALLION_KAFKA_START_TIMEOUT:-120}"
STOP_TIMEOUT="${MEDALLION_KAFKA_STOP_TIMEOUT:-30}"

PID_FILE="$STATE/kafka.pid"
PORT_FILE="$STATE/kafka.port"
CONFIG="$STATE/server.properties"
DATA="$STATE/data"
LOGS="$STATE/logs"

say() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

usage() {
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

java_bin() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    printf '%s\n' "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    command -v java
  else
    die "java not found: install a JDK 17 or newer (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
  fi
}

check_java() {
  local java major
  java="$(java_bin)"
  major="$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1)"
  major="${major#1.}"
  [[ "$major" =~ ^[0-9]+$ ]] || die "could not tell the Java version of $java"
  ((major >= 17)) || die "Kafka $KAFKA_VERSION needs Java 17 or newer; $java is Java $major"
}

# Sends a Kafka ApiVersions v0 request (api key 18, correlation id 1, client id "mdlk") over bash's
# /dev/tcp and checks that the reply carries correlation id 1: the broker accepts and answers
# requests, which is more than an open port.
probe() {
  timeout 5 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "\x00\x00\x00\x0e\x00\x12\x00\x00\x00\x00\x00\x01\x00\x04mdlk" >&3
    reply="$(head -c 8 <&3 | od -An -tx1 | tr -d " \n")"
    [[ "${reply:8:8}" == 00000001 ]]
  ' _ "$1" 2>/dev/null
}

port_open() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# The pid of the broker started from this state directory, when it still runs.
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against pid reuse: the process must be our broker, started with our config file.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "kafka.Kafka $CONFIG" || return 1
  printf '%s\n' "$pid"
}

log_tail() {
  local f
  for f in "$LOGS/server.log" "$LOGS/kafka.out"; do
    if [[ -s "$f" ]]; then
      say "last lines of $f:"
      tail -n 40 "$f" >&2
    fi
  done
}

fetch_jars() {
  [[ -f "$LIBS/.complete" ]] && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn not found: install Maven (e.g. apt-get install maven) to fetch Kafka's jars"
  mkdir -p "$(dirname "$LIBS")"
  exec 8>"$(dirname "$LIBS")/.fetch.lock"
  flock -w 900 8 || die "timed out waiting for another fetch of Kafka $KAFKA_VERSION"
  [[ -f "$LIBS/.complete" ]] && return 0
  say "fetching Apache Kafka $KAFKA_VERSION (org.apache.kafka:kafka_2.13 and its runtime dependencies) from Maven Central into $LIBS"
  local work
  work="$(mktemp -d "$(dirname "$LIBS")/.fetch.XXXXXX")"
  cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>medallion</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
  if ! mvn -B -ntp -f "$work/pom.xml" "$DEPENDENCY_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$work/libs" >"$work/mvn.log" 2>&1; then
    tail -n 30 "$work/mvn.log" >&2
    rm -rf "$work"
    die "mvn could not fetch Kafka $KAFKA_VERSION; check that Maven Central is reachable (see the lines above)"
  fi
  ls "$work/libs"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || die "mvn finished but kafka_2.13-$KAFKA_VERSION.jar is missing"
  touch "$work/libs/.complete"
  rm -rf "$LIBS"
  mv "$work/libs" "$LIBS"
  rm -rf "$work"
  say "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars"
}

write_config() {
  mkdir -p "$DATA" "$LOGS"
  cat >"$CONFIG" <<EOF
# Written by scripts/kafka.sh on every start; edits are lost.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$DATA
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
auto.create.topics.enable=false
delete.topic.enable=true
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.cleaner.dedupe.buffer.size=33554432
log.retention.hours=168
EOF
  cat >"$STATE/log4j2.properties" <<EOF
status = error
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $LOGS/server.log
appender.file.filePattern = $LOGS/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.controller.name = kafka.controller
logger.controller.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
EOF
}

java_cmd() {
  printf '%s\n' "$(java_bin)"
  # shellcheck disable=SC2086
  printf '%s\n' $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=$STATE/log4j2.properties" "-Dkafka.logs.dir=$LOGS" -cp "$LIBS/*"
}

format_storage() {
  [[ -f "$DATA/meta.properties" ]] && return 0
  say "formatting KRaft storage in $DATA"
  local -a cmd
  mapfile -t cmd < <(java_cmd)
  local cluster_id
  cluster_id="$("${cmd[@]}" kafka.tools.StorageTool random-uuid 2>>"$LOGS/format.log" | tail -n1)"
  [[ -n "$cluster_id" ]] || {
    tail -n 20 "$LOGS/format.log" >&2
    die "could not generate a cluster id"
  }
  if ! "${cmd[@]}" kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" -c "$CONFIG" >>"$LOGS/format.log" 2>&1; then
    tail -n 20 "$LOGS/format.log" >&2
    die "formatting the storage failed (log: $LOGS/format.log)"
  fi
}

lock_state() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w "$((START_TIMEOUT + STOP_TIMEOUT + 900))" 9 || die "timed out waiting for another kafka.sh on $STATE"
}

announce() {
  printf 'MEDALLION_TEST_KAFKA=127.0.0.1:%s\n' "$1"
}

cmd_start() {
  lock_state
  local pid
  if pid="$(running_pid)"; then
    local running_port
    running_port="$(cat "$PORT_FILE" 2>/dev/null || echo "$PORT")"
    [[ "$running_port" == "$PORT" ]] ||
      die "the broker from $STATE (pid $pid) runs on port $running_port, not $PORT: stop it first, or use another MEDALLION_KAFKA_DIR"
    if probe "$PORT"; then
      say "reusing the running broker (pid $pid) on 127.0.0.1:$PORT"
      announce "$PORT"
      return 0
    fi
    say "broker pid $pid runs but does not answer yet; waiting"
  else
    if probe "$PORT"; then
      say "a Kafka broker not started from $STATE already answers on 127.0.0.1:$PORT; reusing it"
      announce "$PORT"
      return 0
    fi
    port_open "$PORT" && die "port $PORT is taken by something that is not a Kafka broker; set MEDALLION_KAFKA_PORT"
    port_open "$CONTROLLER_PORT" && die "controller port $CONTROLLER_PORT is taken; set MEDALLION_KAFKA_CONTROLLER_PORT"
    rm -f "$PID_FILE"
    check_java
    fetch_jars
    write_config
    format_storage
    local -a cmd
    mapfile -t cmd < <(java_cmd)
    : >"$LOGS/kafka.out"
    say "starting Kafka $KAFKA_VERSION on 127.0.0.1:$PORT (controller :$CONTROLLER_PORT, state $STATE)"
    # setsid: the broker gets its own session, so it outlives this shell and its process group.
    # The inner shell writes its own pid and then execs java, so the pid file names the JVM itself.
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PID_FILE" "${cmd[@]}" kafka.Kafka "$CONFIG" \
      </dev/null >>"$LOGS/kafka.out" 2>&1 8>&- 9>&- &
    echo "$PORT" >"$PORT_FILE"
    local waited=0
    while [[ ! -s "$PID_FILE" ]] && ((waited < 50)); do
      sleep 0.1
      waited=$((waited + 1))
    done
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  fi
  local deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log_tail
      rm -f "$PID_FILE"
      die "the broker exited during startup (logs in $LOGS; delete $STATE to start from scratch)"
    fi
    if probe "$PORT"; then
      say "broker up (pid $pid) on 127.0.0.1:$PORT"
      announce "$PORT"
      return 0
    fi
    sleep 0.5
  done
  log_tail
  die "the broker (pid $pid) did not answer on 127.0.0.1:$PORT within ${START_TIMEOUT}s; it is left running: see $LOGS, or run '$0 stop'"
}

cmd_stop() {
  lock_state
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    say "not running (state $STATE)"
    return 0
  fi
  say "stopping the broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "still running after ${STOP_TIMEOUT}s: sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
  rm -f "$PID_FILE"
  say "stopped"
}

cmd_status() {
  local pid port
  port="$(cat "$PORT_FILE" 2>/dev/null || echo "$PORT")"
  if pid="$(running_pid)"; then
    if probe "$port"; then
      echo "kafka: running (pid $pid) on 127.0.0.1:$port, state $STATE"
      return 0
    fi
    echo "kafka: process $pid is up but does not answer on 127.0.0.1:$port (starting, or stuck: see $LOGS)"
    return 1
  fi
  if probe "$PORT"; then
    echo "kafka: not started from $STATE, but a Kafka broker answers on 127.0.0.1:$PORT"
    return 0
  fi
  echo "kafka: not running (state $STATE)"
  return 1
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) usage ;;
esac
