#!/usr/bin/env bash
# A real Apache Kafka 3.9 broker in KRaft mode (combined broker+controller, replication factor 1),
# from Maven Central jars. Listeners: PLAINTEXT 127.0.0.1:${TRIBUTARY_KAFKA_PORT:-19092},
# SASL_PLAINTEXT (SCRAM-SHA-256/512, PLAIN) on port+2, controller on port+1.
# Usage: kafka.sh install|up|down|status|reset. Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT="${TRIBUTARY_KAFKA_PORT:-19092}"
CPORT=$((PORT + 1))
SPORT=$((PORT + 2))
# A second, private broker (own port, data, log and pid file; same jars) for tests that stop it:
# TRIBUTARY_KAFKA_INSTANCE=fault TRIBUTARY_KAFKA_PORT=19192 kafka.sh up|down.
INSTANCE="${TRIBUTARY_KAFKA_INSTANCE:-}"
# Behind a TCP proxy (the fault harness): TRIBUTARY_KAFKA_PROXY_PORT=<port> adds a PLAINTEXT listener on
# port+3 that advertises 127.0.0.1:<port>, so clients bootstrapped through the proxy stay behind it;
# clients of PORT keep talking to the broker directly.
PROXY_PORT="${TRIBUTARY_KAFKA_PROXY_PORT:-}"
XPORT=$((PORT + 3))
SUFFIX="${INSTANCE:+-$INSTANCE}"
LIBS="$CACHE/kafka/libs"
HOME_DIR="$CACHE/kafka$SUFFIX"
DATA="$HOME_DIR/data"
CONF="$HOME_DIR/server.properties"
LOGFILE="$LOGS/kafka$SUFFIX.log"
PIDFILE="$RUN/kafka$SUFFIX.pid"
CLUSTER_ID="tRiBuTaRyTeStClUsTeR0A"   # 22 chars, base64url: a fixed id keeps `up` idempotent
SASL_USER="${TRIBUTARY_KAFKA_SASL_USER:-tributary}"
SASL_PASSWORD="${TRIBUTARY_KAFKA_SASL_PASSWORD:-tributary-secret}"
JAVA="${JAVA:-java}"

install() {
  need_apt kcat
  command -v mvn >/dev/null || need_apt maven
  command -v "$JAVA" >/dev/null || need_apt default-jre-headless
  if [ ! -f "$LIBS/.complete" ]; then
    log "fetching Kafka jars from Maven Central into $LIBS"
    rm -rf "$LIBS"
    mvn -q -B dependency:copy-dependencies -f "$ROOT/scripts/kafka/pom.xml" \
      -DoutputDirectory="$LIBS" -DincludeScope=runtime >&2
    touch "$LIBS/.complete"
  fi
}

write_config() {
  mkdir -p "$HOME_DIR"
  cat >"$CONF" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT,SASL_PLAINTEXT://127.0.0.1:$SPORT${PROXY_PORT:+,PROXIED://127.0.0.1:$XPORT}
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,SASL_PLAINTEXT://127.0.0.1:$SPORT${PROXY_PORT:+,PROXIED://127.0.0.1:$PROXY_PORT}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT${PROXY_PORT:+,PROXIED:PLAINTEXT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SASL_USER="$SASL_PASSWORD";
log.dirs=$DATA
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
message.max.bytes=10485760
replica.fetch.max.bytes=10485760
log.retention.hours=24
log.segment.bytes=268435456
CONF
  cat >"$HOME_DIR/log4j.properties" <<L4J
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$LOGFILE
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.controller=WARN
log4j.logger.kafka.log=WARN
L4J
}

run_java() { # run_java MAINCLASS ARGS...
  "$JAVA" -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$HOME_DIR/log4j.properties" -cp "$LIBS/*" "$@"
}

up() {
  install
  if port_open 127.0.0.1 "$PORT"; then log "Kafka already listening on 127.0.0.1:$PORT"; return 0; fi
  write_config
  if [ ! -f "$DATA/meta.properties" ]; then
    log "formatting KRaft storage in $DATA"
    run_java kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$CONF" --ignore-formatted \
      --add-scram "SCRAM-SHA-256=[name=$SASL_USER,password=$SASL_PASSWORD]" \
      --add-scram "SCRAM-SHA-512=[name=$SASL_USER,password=$SASL_PASSWORD]" >>"$LOGFILE" 2>&1 \
      || { tail -n 20 "$LOGFILE" >&2; die "kafka storage format failed"; }
  fi
  nohup "$JAVA" -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$HOME_DIR/log4j.properties" -cp "$LIBS/*" kafka.Kafka "$CONF" \
    >>"$LOGS/kafka$SUFFIX.stdout" 2>&1 &
  echo $! >"$PIDFILE"
  wait_port 127.0.0.1 "$PORT" 90 Kafka "$LOGFILE" || die "Kafka failed to start"
  log "Kafka started on 127.0.0.1:$PORT (SASL on $SPORT; log $LOGFILE)"
}

down() { stop_pidfile "$PIDFILE" Kafka; }
reset() { down; rm -rf "$DATA"; log "Kafka data removed"; }
status() { port_open 127.0.0.1 "$PORT" && echo "kafka up 127.0.0.1:$PORT" || { echo "kafka down"; return 1; }; }

"${1:-up}"
