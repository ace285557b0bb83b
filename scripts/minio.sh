#!/usr/bin/env bash
# Build and run a real MinIO server on loopback for the Assetlens test suite and CI.
#
# Usage: scripts/minio.sh build|start|stop|status|url|env
#
#   build   go install the pinned MinIO into the cache (no-op if the binary is already there)
#   start   build if needed, start MinIO in the background, wait until /minio/health/ready,
#           write $ASSETLENS_SERVICES_DIR/minio.env; idempotent when already running
#   stop    SIGTERM, then SIGKILL after ASSETLENS_MINIO_STOP_TIMEOUT seconds (default 15)
#   status  exit 0 if the server answers /minio/health/ready, 1 otherwise
#   url     print the S3 endpoint (http://127.0.0.1:PORT)
#   env     print the contents of minio.env (after start)
#
# Environment (all optional):
#   ASSETLENS_CACHE_DIR            binary cache root     (default $HOME/.cache/assetlens)
#   ASSETLENS_SERVICES_DIR         pid/log/data/env root (default $HOME/.cache/assetlens/services)
#   ASSETLENS_MINIO_PORT           S3 API port           (default 9000)
#   ASSETLENS_MINIO_CONSOLE_PORT   console port          (default 9001)
#   ASSETLENS_MINIO_ACCESS_KEY     root user             (default assetlens)
#   ASSETLENS_MINIO_SECRET_KEY     root password         (default assetlens-secret, >= 8 chars)
#   MINIO_ROOT_USER / MINIO_ROOT_PASSWORD are honoured as fallbacks for the two above.
#   ASSETLENS_MINIO_KEEP_DATA=1    keep the data dir between starts (default: wiped each start)
#   ASSETLENS_MINIO_START_TIMEOUT  seconds to wait for readiness (default 60)
#   ASSETLENS_MINIO_STOP_TIMEOUT   seconds between SIGTERM and SIGKILL (default 15)
#   GO                             go binary to use (default: `go` on PATH, else /usr/local/go/bin/go)
#
# GOMODCACHE / GOCACHE are left to Go's defaults (or whatever the caller exports), so CI can
# cache them alongside $ASSETLENS_CACHE_DIR.
set -euo pipefail

# MINIO_VERSION: MinIO's release tags (RELEASE.2025-...) are not semver, so the Go module proxy
# only knows pseudo-versions. Chosen once with
#     go list -m github.com/minio/minio@latest
# which resolved to the newest commit on the default branch (2026-02-12, 7aac2a2c5b7c).
# Its go.mod has no replace/exclude/retract directives (required for `go install pkg@version`)
# and needs go >= 1.24. Bump deliberately: re-run the command above, check the go.mod, update here.
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
MINIO_MODULE="github.com/minio/minio"
GO_MIN_MAJOR=1
GO_MIN_MINOR=24

CACHE_DIR="${ASSETLENS_CACHE_DIR:-$HOME/.cache/assetlens}"
SERVICES_DIR="${ASSETLENS_SERVICES_DIR:-$HOME/.cache/assetlens/services}"
PORT="${ASSETLENS_MINIO_PORT:-9000}"
CONSOLE_PORT="${ASSETLENS_MINIO_CONSOLE_PORT:-9001}"
ACCESS_KEY="${ASSETLENS_MINIO_ACCESS_KEY:-${MINIO_ROOT_USER:-assetlens}}"
SECRET_KEY="${ASSETLENS_MINIO_SECRET_KEY:-${MINIO_ROOT_PASSWORD:-assetlens-secret}}"
START_TIMEOUT="${ASSETLENS_MINIO_START_TIMEOUT:-60}"
STOP_TIMEOUT="${ASSETLENS_MINIO_STOP_TIMEOUT:-15}"

BIN_DIR="$CACHE_DIR/minio/$MINIO_VERSION/bin"
MINIO_BIN="$BIN_DIR/minio"
RUN_DIR="$SERVICES_DIR/minio"
DATA_DIR="$RUN_DIR/data"
PID_FILE="$RUN_DIR/minio.pid"
LOG_FILE="$RUN_DIR/minio.log"
ENV_FILE="$SERVICES_DIR/minio.env"
HOST="127.0.0.1"
ENDPOINT="http://$HOST:$PORT"

log() { echo "minio.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

find_go() {
    if [[ -n "${GO:-}" ]]; then
        command -v "$GO" >/dev/null 2>&1 || die "GO=$GO is not an executable"
        echo "$GO"
    elif command -v go >/dev/null 2>&1; then
        command -v go
    elif [[ -x /usr/local/go/bin/go ]]; then
        echo /usr/local/go/bin/go
    else
        die "'go' not found (need Go >= $GO_MIN_MAJOR.$GO_MIN_MINOR to build MinIO); install it from https://go.dev/dl/ or set GO=/path/to/go"
    fi
}

check_go_version() {
    local go_bin="$1" ver major minor
    ver="$("$go_bin" env GOVERSION 2>/dev/null || true)"      # e.g. go1.26.8
    [[ "$ver" =~ ^go([0-9]+)\.([0-9]+) ]] || die "cannot determine Go version from '$go_bin' (got '$ver')"
    major="${BASH_REMATCH[1]}"; minor="${BASH_REMATCH[2]}"
    if (( major < GO_MIN_MAJOR || (major == GO_MIN_MAJOR && minor < GO_MIN_MINOR) )); then
        die "$ver is too old: building MinIO $MINIO_VERSION needs Go >= $GO_MIN_MAJOR.$GO_MIN_MINOR ($go_bin)"
    fi
}

# curl or python3 or bash /dev/tcp, whichever exists; prints the HTTP status code (000 on failure).
http_status() {
    local url="$1"
    if command -v curl >/dev/null 2>&1; then
        curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" 2>/dev/null || true
    elif command -v python3 >/dev/null 2>&1; then
        python3 - "$url" <<'PY' 2>/dev/null || echo 000
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=2).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print("000")
PY
    else
        die "need curl or python3 for the readiness probe"
    fi
}

is_ready() { [[ "$(http_status "$ENDPOINT/minio/health/ready")" == 200 ]]; }

read_pid() { [[ -f "$PID_FILE" ]] && cat "$PID_FILE" 2>/dev/null || true; }

# Alive = signalable and not a zombie (a killed server whose parent has not reaped it yet).
pid_alive() {
    local pid="$1" state=""
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    if [[ -r "/proc/$pid/stat" ]]; then
        state="$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null || true)"
        [[ "$state" != Z ]] || return 1
    fi
    return 0
}

cmd_build() {
    if [[ -x "$MINIO_BIN" ]]; then
        log "using cached $MINIO_BIN ($MINIO_VERSION)"
        return 0
    fi
    local go_bin start
    go_bin="$(find_go)"
    check_go_version "$go_bin"
    mkdir -p "$BIN_DIR"
    log "building $MINIO_MODULE@$MINIO_VERSION with $("$go_bin" env GOVERSION) (several minutes on 2 cores)..."
    start=$SECONDS
    # Run outside any module so the caller's go.mod/go.work cannot interfere.
    (cd / && GOBIN="$BIN_DIR" GOWORK=off GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
        "$go_bin" install "$MINIO_MODULE@$MINIO_VERSION") \
        || { rm -f "$MINIO_BIN"; die "go install $MINIO_MODULE@$MINIO_VERSION failed"; }
    [[ -x "$MINIO_BIN" ]] || die "go install succeeded but $MINIO_BIN is missing"
    log "built $MINIO_BIN in $((SECONDS - start)) s"
}

write_env() {
    mkdir -p "$SERVICES_DIR"
    local tmp="$ENV_FILE.tmp.$$"
    {
        echo "ASSETLENS_S3_ENDPOINT=$ENDPOINT"
        echo "ASSETLENS_S3_ACCESS_KEY=$ACCESS_KEY"
        echo "ASSETLENS_S3_SECRET_KEY=$SECRET_KEY"
    } > "$tmp"
    chmod 600 "$tmp"
    mv -f "$tmp" "$ENV_FILE"
}

cmd_start() {
    local pid
    pid="$(read_pid)"
    if pid_alive "$pid" && is_ready; then
        log "already running (pid $pid) at $ENDPOINT"
        write_env
        return 0
    fi
    if pid_alive "$pid"; then
        # Our process exists but is not ready (still starting, or wedged): wait for it once.
        log "pid $pid exists but is not ready yet; waiting"
    else
        if is_ready; then
            die "something else already answers on $ENDPOINT (not started by this script); set ASSETLENS_MINIO_PORT"
        fi
        (( ${#SECRET_KEY} >= 8 )) || die "secret key must be at least 8 characters"
        (( ${#ACCESS_KEY} >= 3 )) || die "access key must be at least 3 characters"
        cmd_build
        mkdir -p "$RUN_DIR"
        rm -f "$PID_FILE"
        if [[ "${ASSETLENS_MINIO_KEEP_DATA:-0}" != 1 ]]; then
            rm -rf "$DATA_DIR"
        fi
        mkdir -p "$DATA_DIR"
        : > "$LOG_FILE"
        log "starting MinIO $MINIO_VERSION on $ENDPOINT (console $HOST:$CONSOLE_PORT, data $DATA_DIR)"
        # setsid (when available) detaches it from our process group so Ctrl-C in the caller
        # or the job control of a CI step does not take it down.
        local launcher=()
        command -v setsid >/dev/null 2>&1 && launcher=(setsid)
        MINIO_ROOT_USER="$ACCESS_KEY" MINIO_ROOT_PASSWORD="$SECRET_KEY" \
        MINIO_BROWSER="${MINIO_BROWSER:-on}" MINIO_UPDATE=off \
            nohup "${launcher[@]}" "$MINIO_BIN" server "$DATA_DIR" \
                --address "$HOST:$PORT" --console-address "$HOST:$CONSOLE_PORT" \
                </dev/null >>"$LOG_FILE" 2>&1 &
        pid=$!
        echo "$pid" > "$PID_FILE"
    fi

    local deadline=$((SECONDS + START_TIMEOUT))
    until is_ready; do
        if ! pid_alive "$pid"; then
            log "MinIO (pid $pid) exited during startup; last lines of $LOG_FILE:"
            tail -n 40 "$LOG_FILE" >&2 || true
            rm -f "$PID_FILE"
            exit 1
        fi
        if (( SECONDS >= deadline )); then
            log "MinIO not ready after ${START_TIMEOUT}s; last lines of $LOG_FILE:"
            tail -n 40 "$LOG_FILE" >&2 || true
            cmd_stop || true
            exit 1
        fi
        sleep 0.3
    done
    write_env
    log "ready (pid $pid); env in $ENV_FILE"
}

cmd_stop() {
    local pid
    pid="$(read_pid)"
    if ! pid_alive "$pid"; then
        [[ -n "$pid" ]] && log "not running (stale pid $pid)" || log "not running"
        rm -f "$PID_FILE"
        return 0
    fi
    # Guard against pid reuse: only signal it if it really is our minio binary.
    if [[ -r "/proc/$pid/cmdline" ]] && ! tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "minio server"; then
        log "pid $pid is not a MinIO server any more; removing stale pid file"
        rm -f "$PID_FILE"
        return 0
    fi
    log "stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while pid_alive "$pid" && (( SECONDS < deadline )); do
        sleep 0.2
    done
    if pid_alive "$pid"; then
        log "still alive after ${STOP_TIMEOUT}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
    fi
    rm -f "$PID_FILE" "$ENV_FILE"
    log "stopped"
}

cmd_status() {
    local pid
    pid="$(read_pid)"
    if is_ready; then
        echo "running: $ENDPOINT (pid ${pid:-unknown}, $MINIO_VERSION)"
        return 0
    fi
    if pid_alive "$pid"; then
        echo "starting or unhealthy: pid $pid, $ENDPOINT not ready"
    else
        echo "stopped"
    fi
    return 1
}

cmd_url() { echo "$ENDPOINT"; }

cmd_env() {
    [[ -f "$ENV_FILE" ]] || die "$ENV_FILE not found; run '$0 start' first"
    cat "$ENV_FILE"
}

case "${1:-}" in
    build)  cmd_build ;;
    start)  cmd_start ;;
    stop)   cmd_stop ;;
    status) cmd_status ;;
    url)    cmd_url ;;
    env)    cmd_env ;;
    version) echo "$MINIO_VERSION" ;;
    *) echo "usage: $0 build|start|stop|status|url|env|version" >&2; exit 2 ;;
esac
