#!/usr/bin/env bash
# A local single-node Elasticsearch for development and integration tests, built from the
# artifacts Elasticsearch publishes on Maven Central (see docs/ELASTICSEARCH.md).
#
# Usage: scripts/es-node.sh build|start|stop|status|url
#
#   build   compile tools/es-node and cache it with its dependency jars under
#           ${ASSETLENS_CACHE_DIR:-~/.cache/assetlens}/es-node/<es-version>-<source hash>/
#   start   build if needed, start the node in the background, wait until it is healthy,
#           write ${ASSETLENS_SERVICES_DIR}/es.env (ASSETLENS_ES_URL=...)
#   stop    SIGTERM, then SIGKILL after ASSETLENS_ES_STOP_TIMEOUT seconds (default 30)
#   status  exit 0 when the node started by this script is running and healthy
#   url     print the node's URL
#
# Environment: ASSETLENS_ES_PORT (9200), ASSETLENS_ES_TRANSPORT_PORT (9300),
# ASSETLENS_SERVICES_DIR (~/.cache/assetlens/services), ASSETLENS_CACHE_DIR (~/.cache/assetlens),
# ASSETLENS_ES_KEEP_DATA=1 (keep the index data between starts), ASSETLENS_ES_START_TIMEOUT (120),
# ASSETLENS_ES_JAVA_OPTS ("-Xms512m -Xmx1g"), ASSETLENS_ES_JAVA_HOME (a JDK 21+; else JAVA_HOME,
# /usr/lib/jvm/*, /Library/Java/JavaVirtualMachines/* or java on PATH, newest first).
# For a node of a cluster (scripts/es-cluster.sh): ASSETLENS_ES_NODE_ARGS (more launcher
# arguments: --node-name, -Esetting=value…) and ASSETLENS_ES_WAIT=0 (start returns once the
# process runs; one node of a new cluster is not healthy before the others join).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/tools/es-node"
CACHE_ROOT="${ASSETLENS_CACHE_DIR:-$HOME/.cache/assetlens}/es-node"
SERVICES_DIR="${ASSETLENS_SERVICES_DIR:-$HOME/.cache/assetlens/services}"
DATA_DIR="$SERVICES_DIR/es"
PID_FILE="$SERVICES_DIR/es.pid"
LOG_FILE="$SERVICES_DIR/es.log"
ENV_FILE="$SERVICES_DIR/es.env"
PORT="${ASSETLENS_ES_PORT:-9200}"
TRANSPORT_PORT="${ASSETLENS_ES_TRANSPORT_PORT:-9300}"
URL="http://127.0.0.1:$PORT"
MIN_JAVA=21
MAIN_CLASS="io.assetlens.esnode.Main"

die() {
    echo "es-node: $*" >&2
    exit 1
}

say() {
    echo "es-node: $*"
}

# --- JDK and build ----------------------------------------------------------------------------

# Prints the feature version (e.g. 25) of the JDK at $1, or nothing.
jdk_version() {
    local home="$1" version=""
    [[ -x "$home/bin/java" && -x "$home/bin/javac" ]] || return 0
    if [[ -f "$home/release" ]]; then
        version="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release")"
    fi
    if [[ -z "$version" ]]; then
        version="$("$home/bin/java" -XshowSettings:properties -version 2>&1 |
            sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')"
    fi
    echo "$version"
}

# Prints the home of a JDK >= MIN_JAVA, preferring an explicit choice, then the newest found.
find_jdk() {
    local candidates=() home best="" best_version=0 version
    [[ -n "${ASSETLENS_ES_JAVA_HOME:-}" ]] && candidates+=("$ASSETLENS_ES_JAVA_HOME")
    [[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME")
    for home in /usr/lib/jvm/* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
        [[ -d "$home" ]] && candidates+=("$home")
    done
    if command -v javac >/dev/null 2>&1; then
        home="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
        candidates+=("$home")
    fi
    if [[ -n "${ASSETLENS_ES_JAVA_HOME:-}" ]]; then
        version="$(jdk_version "$ASSETLENS_ES_JAVA_HOME")"
        [[ -n "$version" && "$version" -ge "$MIN_JAVA" ]] ||
            die "ASSETLENS_ES_JAVA_HOME=$ASSETLENS_ES_JAVA_HOME is not a JDK $MIN_JAVA or newer"
        echo "$ASSETLENS_ES_JAVA_HOME"
        return 0
    fi
    for home in "${candidates[@]}"; do
        version="$(jdk_version "$home")"
        if [[ -n "$version" && "$version" -ge "$MIN_JAVA" && "$version" -gt "$best_version" ]]; then
            best="$home"
            best_version="$version"
        fi
    done
    [[ -n "$best" ]] || die "no JDK $MIN_JAVA or newer found (Elasticsearch 9 needs Java $MIN_JAVA+);" \
        "install one (e.g. Temurin 21/25) or set ASSETLENS_ES_JAVA_HOME"
    echo "$best"
}

es_version() {
    sed -n 's:.*<elasticsearch.version>\(.*\)</elasticsearch.version>.*:\1:p' "$SRC/pom.xml" | head -n 1
}

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum | cut -c1-64
    else
        shasum -a 256 | cut -c1-64
    fi
}

# Hash of pom.xml and every Java source, by path and content.
source_hash() {
    (
        cd "$SRC"
        find pom.xml src/main/java -type f \( -name pom.xml -o -name '*.java' \) | LC_ALL=C sort |
            while IFS= read -r file; do
                printf '%s\n' "$file"
                cat "$file"
            done
    ) | sha256 | cut -c1-16
}

build_dir() {
    echo "$CACHE_ROOT/$(es_version)-$(source_hash)"
}

# Serialises builds and starts across processes (tests may start the node in parallel).
# Each caller opens its own fd (8 or 9) on the lock file first; no-op without flock (macOS).
wait_lock() {
    if command -v flock >/dev/null 2>&1; then
        flock -w 600 "$1" || die "timed out waiting for another es-node.sh"
    fi
}

cmd_build() {
    local dir jdk work started
    dir="$(build_dir)"
    if [[ -f "$dir/es-node.jar" ]]; then
        say "launcher up to date: $dir"
        return 0
    fi
    command -v mvn >/dev/null 2>&1 || die "mvn (Apache Maven 3.8+) is needed to build the launcher; install it (apt-get install maven / brew install maven)"
    jdk="$(find_jdk)"
    mkdir -p "$CACHE_ROOT"
    exec 9>"$CACHE_ROOT/.build.lock"
    wait_lock 9
    if [[ -f "$dir/es-node.jar" ]]; then # built by another process while we waited
        say "launcher up to date: $dir"
        return 0
    fi
    say "building Elasticsearch $(es_version) launcher with $jdk (first build downloads ~80 MB into ~/.m2)"
    started=$SECONDS
    work="$(mktemp -d "$CACHE_ROOT/.build.XXXXXX")"
    # Build a copy so the repository gets no target/ folder.
    cp -R "$SRC/pom.xml" "$SRC/src" "$work/"
    if ! JAVA_HOME="$jdk" mvn -B -q -f "$work/pom.xml" package dependency:copy-dependencies >"$work/build.log" 2>&1; then
        tail -n 40 "$work/build.log" >&2
        rm -rf "$work"
        die "build failed (log above)"
    fi
    mkdir -p "$work/out"
    mv "$work/target/es-node.jar" "$work/target/lib" "$work/out/"
    echo "$jdk" >"$work/out/java-home"
    rm -rf "$dir"
    mv "$work/out" "$dir"
    rm -rf "$work"
    say "built in $((SECONDS - started)) s: $dir"
}

# --- process control --------------------------------------------------------------------------

# Prints the pid from the pid file when that process is our node.
node_pid() {
    local pid
    [[ -f "$PID_FILE" ]] || return 0
    pid="$(cat "$PID_FILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    if ps -p "$pid" -o command= 2>/dev/null | grep -q "$MAIN_CLASS"; then
        echo "$pid"
    fi
}

healthy() {
    curl -fsS --max-time 5 "$1/_cluster/health?wait_for_status=yellow&timeout=2s" >/dev/null 2>&1
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

write_env() {
    local tmp="$ENV_FILE.tmp.$$"
    echo "ASSETLENS_ES_URL=$URL" >"$tmp"
    mv "$tmp" "$ENV_FILE"
}

fail_start() {
    echo "es-node: $*" >&2
    if [[ -f "$LOG_FILE" ]]; then
        echo "--- last lines of $LOG_FILE ---" >&2
        tail -n 40 "$LOG_FILE" >&2
    fi
    exit 1
}

cmd_start() {
    local pid dir jdk jdk_major started deadline opts=() detach=() node_args=()
    command -v curl >/dev/null 2>&1 || die "curl is needed to check the node's health"
    exec 8>"$SERVICES_DIR/es.lock"
    wait_lock 8
    pid="$(node_pid)"
    if [[ -n "$pid" ]]; then
        URL="$(cmd_url)"
        deadline=$((SECONDS + ${ASSETLENS_ES_START_TIMEOUT:-120}))
        until [[ "${ASSETLENS_ES_WAIT:-1}" == "0" ]] || healthy "$URL"; do
            [[ -n "$(node_pid)" ]] || fail_start "node (pid $pid) exited while starting"
            ((SECONDS < deadline)) || fail_start "node (pid $pid) is running but not healthy at $URL"
            sleep 1
        done
        write_env
        say "already running (pid $pid) at $URL"
        return 0
    fi
    if port_in_use "$PORT"; then
        die "port $PORT is in use by a process this script did not start; stop it or set ASSETLENS_ES_PORT"
    fi
    if port_in_use "$TRANSPORT_PORT"; then
        die "transport port $TRANSPORT_PORT is in use; stop that process or set ASSETLENS_ES_TRANSPORT_PORT"
    fi

    cmd_build
    dir="$(build_dir)"
    jdk="$(cat "$dir/java-home")"
    [[ -x "$jdk/bin/java" ]] || jdk="$(find_jdk)"

    if [[ "${ASSETLENS_ES_KEEP_DATA:-0}" != "1" ]]; then
        rm -rf "$DATA_DIR"
    fi
    mkdir -p "$DATA_DIR/tmp"
    rm -f "$ENV_FILE"
    read -r -a opts <<<"${ASSETLENS_ES_JAVA_OPTS:--Xms512m -Xmx1g}"
    read -r -a node_args <<<"${ASSETLENS_ES_NODE_ARGS:-}"
    jdk_major="$(jdk_version "$jdk")"
    if ((${jdk_major:-0} >= 23)); then
        opts+=(--sun-misc-unsafe-memory-access=allow) # Netty uses sun.misc.Unsafe; quiets JDK 24+
    fi
    # setsid: the node must outlive the terminal (or test runner) that started it.
    if command -v setsid >/dev/null 2>&1; then
        detach=(nohup setsid)
    else
        detach=(nohup)
    fi
    started=$SECONDS
    # 8>&- 9>&-: the node must not inherit (and so hold) our lock files.
    "${detach[@]}" "$jdk/bin/java" "${opts[@]}" \
        --enable-native-access=ALL-UNNAMED \
        --add-modules jdk.incubator.vector \
        -XX:+ExitOnOutOfMemoryError \
        -Djava.io.tmpdir="$DATA_DIR/tmp" \
        -cp "$dir/es-node.jar:$dir/lib/*" "$MAIN_CLASS" \
        --http-port "$PORT" --transport-port "$TRANSPORT_PORT" --data-dir "$DATA_DIR" \
        ${node_args[@]+"${node_args[@]}"} \
        >"$LOG_FILE" 2>&1 </dev/null 8>&- 9>&- &
    pid=$!
    echo "$pid" >"$PID_FILE"
    if [[ "${ASSETLENS_ES_WAIT:-1}" == "0" ]]; then
        write_env
        say "launched (pid $pid) at $URL; log $LOG_FILE"
        return 0
    fi

    deadline=$((SECONDS + ${ASSETLENS_ES_START_TIMEOUT:-120}))
    until healthy "$URL"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PID_FILE"
            fail_start "node exited during startup"
        fi
        if ((SECONDS >= deadline)); then
            terminate "$pid" >/dev/null
            rm -f "$PID_FILE"
            fail_start "node not healthy after ${ASSETLENS_ES_START_TIMEOUT:-120} s; stopped it"
        fi
        sleep 1
    done
    write_env
    say "started (pid $pid) in $((SECONDS - started)) s at $URL; log $LOG_FILE"
}

# SIGTERM (the node closes cleanly), then SIGKILL after ASSETLENS_ES_STOP_TIMEOUT seconds.
terminate() {
    local pid="$1" deadline
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + ${ASSETLENS_ES_STOP_TIMEOUT:-30}))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "pid $pid did not stop after SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
}

cmd_stop() {
    local pid
    pid="$(node_pid)"
    rm -f "$ENV_FILE"
    if [[ -z "$pid" ]]; then
        rm -f "$PID_FILE"
        say "not running"
        return 0
    fi
    terminate "$pid"
    rm -f "$PID_FILE"
    say "stopped (pid $pid)"
}

cmd_status() {
    local pid url
    pid="$(node_pid)"
    url="$(cmd_url)"
    if [[ -n "$pid" ]] && healthy "$url"; then
        say "running (pid $pid) at $url"
        return 0
    fi
    if [[ -n "$pid" ]]; then
        say "running (pid $pid) but not healthy at $url"
    else
        say "not running"
    fi
    return 1
}

# The URL of the running node (from es.env), else the one a start would use.
cmd_url() {
    if [[ -f "$ENV_FILE" && -n "$(node_pid)" ]]; then
        sed -n 's/^ASSETLENS_ES_URL=//p' "$ENV_FILE"
    else
        echo "$URL"
    fi
}

main() {
    mkdir -p "$SERVICES_DIR"
    case "${1:-}" in
        build) cmd_build ;;
        start) cmd_start ;;
        stop) cmd_stop ;;
        status) cmd_status ;;
        url) cmd_url ;;
        *)
            echo "usage: $0 build|start|stop|status|url" >&2
            exit 2
            ;;
    esac
}

main "$@"
