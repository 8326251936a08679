#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine; safe to run any number of times.
#
# Installs Debian's docker.io when dockerd is missing, starts dockerd in the background
# (log in $IOTA_DOCKERD_LOG) when `docker info` does not answer, and waits until it does.
#
# Environment:
#   IOTA_DOCKERD_LOG            dockerd's log file            (default /var/log/dockerd.log)
#   IOTA_DOCKER_WAIT_SECONDS    how long to wait for answers  (default 60)
set -euo pipefail

readonly PROG="${0##*/}"
readonly DOCKERD_LOG="${IOTA_DOCKERD_LOG:-/var/log/dockerd.log}"
readonly WAIT_SECONDS="${IOTA_DOCKER_WAIT_SECONDS:-60}"

die() {
    echo "$PROG: error: $*" >&2
    exit 1
}

usage() {
    sed -n '2,9s/^# \{0,1\}//p' "$0"
    echo "Usage: $PROG [--help]"
}

engine_answers() {
    # `docker info` can hang on a half-started daemon; bound each probe.
    timeout 10 docker info >/dev/null 2>&1
}

require_root() {
    [[ $EUID -eq 0 ]] || die "$1 needs root; run: sudo $0"
}

install_docker() {
    require_root "installing docker.io"
    echo "$PROG: installing docker.io with apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || die "apt-get update failed"
    apt-get install -y -q --no-install-recommends docker.io >/dev/null \
        || die "apt-get install docker.io failed"
}

start_dockerd() {
    if pgrep -x dockerd >/dev/null 2>&1; then
        # A second dockerd would fight the first over /var/run/docker.pid: just wait.
        echo "$PROG: dockerd is running but not answering yet; waiting"
        return
    fi
    require_root "starting dockerd"
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    echo "$PROG: starting dockerd (log: $DOCKERD_LOG)"
    # setsid + nohup: the daemon must outlive this script and its terminal.
    setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
}

wait_for_engine() {
    local waited=0
    until engine_answers; do
        if ! pgrep -x dockerd >/dev/null 2>&1; then
            die "dockerd exited; last log line: $(tail -n 1 "$DOCKERD_LOG" 2>/dev/null || echo '(no log)')"
        fi
        if ((waited >= WAIT_SECONDS)); then
            die "dockerd did not answer within ${WAIT_SECONDS}s; see $DOCKERD_LOG"
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

main() {
    case "${1:-}" in
        -h | --help) usage; exit 0 ;;
        "") ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac

    if command -v docker >/dev/null 2>&1 && engine_answers; then
        echo "$PROG: Docker engine already answering"
        exit 0
    fi
    if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
        install_docker
    fi
    if ! engine_answers; then
        if [[ -S /var/run/docker.sock ]] && docker info 2>&1 | grep -qi 'permission denied'; then
            die "the Docker socket refuses this user; run as root or join the docker group"
        fi
        start_dockerd
        wait_for_engine
    fi
    echo "$PROG: Docker engine answering (server $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
}

main "$@"
