#!/usr/bin/env bash
# Stop the daemons that tests/cluster/start_cluster.sh started (and only those:
# each by the pid it recorded in $REGSTUDY_SLURM_DIR/pids/). A site's cluster,
# or a munged that was already running, is left alone.
#
# Usage: tests/cluster/stop_cluster.sh [--purge]
#   --purge  also delete the cluster's state, logs and accounting database
#            ($REGSTUDY_SLURM_DIR) and the config files these scripts wrote.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

purge=0
[ "${1:-}" = "--purge" ] && purge=1

stop_one() {
    local name="$1" pidfile="$CLUSTER_DIR/pids/$1.pid" pid i
    [ -s "$pidfile" ] || return 0   # not started by start_cluster.sh
    pid="$(cat "$pidfile")"
    # a Slurm daemon restarted by hand since: its own pid file is current
    if [ -s "$CLUSTER_DIR/run/$name.pid" ]; then
        pid="$(cat "$CLUSTER_DIR/run/$name.pid")"
    fi
    if proc_is "$pid" "$name"; then
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 30; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name did not stop in 30s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile"
}

if [ -d "$CLUSTER_DIR/pids" ]; then
    # jobs first, so that slurmd has nothing left to clean up
    if [ -s "$CLUSTER_DIR/pids/slurmctld.pid" ] && command -v scancel >/dev/null; then
        scancel --cluster="$CLUSTER_NAME" --user="$(id -un)" >/dev/null 2>&1 || true
    fi
    for d in slurmd slurmctld slurmdbd mariadbd munged; do
        stop_one "$d"
    done
fi

if [ "$purge" = 1 ]; then
    for f in slurm.conf slurmdbd.conf; do
        if [ -e "$SLURM_ETC/$f" ] && ours_or_absent "$SLURM_ETC/$f"; then
            rm -f "$SLURM_ETC/$f"
        fi
    done
    case "$CLUSTER_DIR" in
        /|"") die "refusing to purge CLUSTER_DIR='$CLUSTER_DIR'" ;;
    esac
    rm -rf "$CLUSTER_DIR"
    log "purged $CLUSTER_DIR"
fi
log "stopped"
