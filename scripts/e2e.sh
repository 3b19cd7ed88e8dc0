#!/usr/bin/env bash
# make e2e: the compose cluster end to end with a real Docker engine.
#   1. build the image; up -d --scale node=5
#   2. within 90 s: 6 containers healthy, every node knows the 5 others, one tip
#   3. replicas keep their own data across restart and re-creation
#   4. docker kill a replica; with the seed paused, start it again: it rejoins
#      from its persisted peers and catches up; the nodes keep agreeing on new blocks
#   5. scale to 8 (newcomers join), then to 3 (the departed leave every peer book)
#   6. down -v leaves no container, volume or network behind
# Uses `docker compose` when available, else docker-compose (1.29 here).
# BENCH_OUT=file also writes the measured numbers there (make bench-docker).
# E2E_CPU_HOG=1 runs 2 busy loops per core beside the whole test (a loaded machine: the
# cluster must not flap under it); the load average is reported at the end either way.
set -uo pipefail
cd "$(dirname "$0")/.."

export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-cme2e$$}"
PROJECT=$COMPOSE_PROJECT_NAME
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
TMP=$(mktemp -d)
PASSED=0
FAILED=0
VOLUMES_SEEN="$TMP/volumes"
: >"$VOLUMES_SEEN"
T0=$(date +%s)

log() { printf '[%4ds] %s\n' "$(($(date +%s) - T0))" "$*"; }
pass() { PASSED=$((PASSED + 1)); log "PASS: $*"; }
fail() { FAILED=$((FAILED + 1)); log "FAIL: $*"; }
compose() { "${COMPOSE[@]}" "$@"; }
# quiet COMMAND...: output goes to a log, shown only when the command fails.
quiet() {
  "$@" >"$TMP/cmd.log" 2>&1 && return 0
  tail -20 "$TMP/cmd.log" | sed 's/^/  | /'
  return 1
}

HOG_PIDS=()
LOAD_SAMPLER=""
cleanup() {
  stop_cpu_hog
  [ -n "$LOAD_SAMPLER" ] && kill "$LOAD_SAMPLER" 2>/dev/null
  log "cleanup: ${COMPOSE[*]} down -v (project $PROJECT)"
  docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" | xargs -r docker unpause >/dev/null 2>&1
  compose --profile monitoring down -v --remove-orphans --timeout 5 >/dev/null 2>&1
  # Whatever `down` missed (it should be nothing; step 6 reports it) must not outlive the test.
  docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" | xargs -r docker rm -f >/dev/null 2>&1
  sort -u "$VOLUMES_SEEN" | xargs -r docker volume rm >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The hog: each loop is bounded by `timeout` too, so none outlives a killed test.
start_cpu_hog() {
  local n=$((2 * $(nproc))) i
  for i in $(seq 1 "$n"); do
    timeout "${E2E_CPU_HOG_SECONDS:-1200}" sh -c 'while :; do :; done' &
    HOG_PIDS+=($!)
  done
  log "CPU hog: $n busy loops (2 per core) beside the test, pids ${HOG_PIDS[*]}"
}
stop_cpu_hog() {
  [ "${#HOG_PIDS[@]}" -gt 0 ] || return 0
  kill "${HOG_PIDS[@]}" 2>/dev/null
  wait "${HOG_PIDS[@]}" 2>/dev/null
  HOG_PIDS=()
}
# The 1-minute load average every 10 s, for the summary (what "loaded" meant in this run).
sample_load() {
  while :; do cut -d' ' -f1 /proc/loadavg >>"$TMP/loadavg"; sleep 10; done
}
load_summary() {
  sort -n "$TMP/loadavg" 2>/dev/null | awk '{v[NR]=$1; s+=$1} END {if (NR) printf "load average (1 min) over the run: mean %.1f, median %.1f, max %.1f (%d samples, %d cores)", s/NR, v[int((NR+1)/2)], v[NR], NR, '"$(nproc)"'}'
}

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
export SEED_PORT="${SEED_PORT:-$(free_port)}"
export PROMETHEUS_PORT="${PROMETHEUS_PORT:-$(free_port)}"
PROM="http://127.0.0.1:$PROMETHEUS_PORT"

containers() { # containers [service]: running and stopped containers of the project, by name
  local filter=(--filter "label=com.docker.compose.project=$PROJECT")
  [ -n "${1:-}" ] && filter+=(--filter "label=com.docker.compose.service=$1")
  docker ps -a "${filter[@]}" --format '{{.Names}}' | sort
}
nodes_of_chain() { containers seed; containers node; } # every chainmesh container, not monitoring
ip_of() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
# inspect_chain: one `docker inspect` of every chainmesh container into $TMP/state, a line each:
# name running paused health ip. The checks below read it instead of one inspect per container and
# per pair: on a loaded host each inspect took about a second, so checking 9 nodes' peer books
# (72 address look-ups) took over a minute and a 90 s wait had time for two checks only.
inspect_chain() {
  local names
  names=$(nodes_of_chain)
  : >"$TMP/state"
  [ -n "$names" ] || return 0
  # shellcheck disable=SC2086
  docker inspect -f '{{.Name}} {{.State.Running}} {{.State.Paused}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' $names 2>/dev/null |
    sed 's|^/||' >"$TMP/state"
}
running_unpaused() { awk '$2 == "true" && $3 == "false" {print $1}' "$TMP/state"; }
state_ip() { awk -v n="$1" '$1 == n {print $5}' "$TMP/state"; }
record_volumes() {
  local c
  for c in $(containers); do
    docker inspect -f '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}}{{"\n"}}{{end}}{{end}}' "$c" >>"$VOLUMES_SEEN"
  done
}

# One line per node, probed from this host at the container's address: nodeId height tipHash peer,peer,...
# (Not `docker exec node -e ...` in each container: on a loaded host starting a Node.js runtime
# there took 8-18 s, past the probe's timeout, and the test read every peer book as empty.)
PROBE='
import { writeFileSync } from "node:fs";
const [dir, ...pairs] = process.argv.slice(1);
const get = (ip, path) => fetch(`http://${ip}:3000${path}`, { signal: AbortSignal.timeout(15000) }).then((r) => r.json());
await Promise.all(pairs.map(async (pair) => {
  const [name, ip] = pair.split("=");
  let line = "";
  try {
    const [i, k] = await Promise.all([get(ip, "/info"), get(ip, "/known_node_request")]);
    line = [i.nodeId, i.height, i.tipHash, k.map((p) => p.hostname).sort().join(",") || "-"].join(" ") + "\n";
  } catch {}
  writeFileSync(`${dir}/probe.${name}`, line);
}));'
snapshot() { # snapshot NAME...: probes all in parallel into $TMP/probe.<name> (addresses from the last inspect_chain)
  local c ip args=()
  for c in "$@"; do
    ip=$(state_ip "$c" 2>/dev/null)
    args+=("$c=${ip:-$(ip_of "$c")}")
  done
  [ ${#args[@]} -gt 0 ] || return 0
  timeout 60 node --input-type=module -e "$PROBE" "$TMP" "${args[@]}" || true
}
field() { # field NAME INDEX(1=nodeId 2=height 3=tip 4=peers)
  cut -d' ' -f"$2" "$TMP/probe.$1" 2>/dev/null
}

# wait_until SECONDS DESCRIPTION FUNCTION: polls FUNCTION (silent) until it succeeds.
wait_until() {
  local limit=$1 what=$2 fn=$3 start
  start=$(date +%s)
  while ! "$fn"; do
    if [ $(($(date +%s) - start)) -ge "$limit" ]; then
      log "timed out after ${limit}s waiting for: $what"
      [ -n "${LAST_DETAIL:-}" ] && printf '%s\n' "$LAST_DETAIL"
      return 1
    fi
    sleep 2
  done
  WAITED=$(($(date +%s) - start))
  return 0
}

all_healthy() {
  local c n=0 bad="" health
  inspect_chain
  while read -r c _ _ health _; do
    n=$((n + 1))
    [ "$health" = healthy ] || bad="$bad $c=$health"
  done <"$TMP/state"
  LAST_DETAIL="  containers: $n, not healthy:${bad:- none}"
  [ "$n" -eq "$EXPECT" ] && [ -z "$bad" ]
}

# Every running node lists every other running node (by container address) and not itself.
all_know_each_other() {
  local names c o peers missing=""
  inspect_chain
  names=$(running_unpaused)
  # shellcheck disable=SC2086
  snapshot $names
  for c in $names; do
    peers=",$(field "$c" 4),"
    for o in $names; do
      [ "$o" = "$c" ] && continue
      case "$peers" in *",$(state_ip "$o"):3000,"*) ;; *) missing="$missing $c-!->$o" ;; esac
    done
    case "$peers" in *",$(state_ip "$c"):3000,"*) missing="$missing $c-lists-itself" ;; esac
  done
  LAST_DETAIL="  missing:${missing:- none}"
  [ -z "$missing" ]
}

# Every running, unpaused node reports the same tip at height >= MIN_HEIGHT.
same_tip() {
  local names c tips heights
  inspect_chain
  names=$(running_unpaused)
  # shellcheck disable=SC2086
  snapshot $names
  tips=$(for c in $names; do field "$c" 3; done | sort -u)
  heights=$(for c in $names; do echo "$c:$(field "$c" 2)"; done | tr '\n' ' ')
  LAST_DETAIL="  heights: $heights"
  [ -n "$tips" ] && [ "$(echo "$tips" | wc -l)" -eq 1 ] || return 1
  local h
  for c in $names; do
    h=$(field "$c" 2)
    [ -n "$h" ] && [ "$h" -ge "${MIN_HEIGHT:-1}" ] || return 1
  done
  TIP=$tips
  TIP_HEIGHT=$(field "$(echo "$names" | head -1)" 2)
}

# The given addresses appear in no running node's peer book.
DEPARTED=""
departed_dropped() {
  local names c peers stale=""
  [ -n "$DEPARTED" ] || { LAST_DETAIL="  no departed addresses to check"; return 1; }
  inspect_chain
  names=$(awk '$2 == "true" {print $1}' "$TMP/state")
  # shellcheck disable=SC2086
  snapshot $names
  for c in $names; do
    peers=",$(field "$c" 4),"
    for a in $DEPARTED; do
      case "$peers" in *",$a,"*) stale="$stale $c->$a" ;; esac
    done
  done
  LAST_DETAIL="  still listed:${stale:- none}"
  [ -z "$stale" ]
}

node_ids() { # node_ids NAME...: "name=nodeId" lines
  inspect_chain
  snapshot "$@"
  local c
  for c in "$@"; do echo "$c=$(field "$c" 1)"; done
}


# prom_count EXPR: the value of a single-number PromQL query, or empty.
prom_count() {
  node -e 'fetch(process.argv[1]+"/api/v1/query?query="+encodeURIComponent(process.argv[2])).then(r=>r.json()).then(b=>{const v=b.data&&b.data.result[0];console.log(v?v.value[1]:"")},()=>console.log(""))' "$PROM" "$1"
}
PROM_EXPECT=0
prometheus_sees_all() {
  local n
  n=$(prom_count 'count(chainmesh_node_info)')
  LAST_DETAIL="  Prometheus scrapes ${n:-0} nodes, expected $PROM_EXPECT"
  [ "${n:-0}" = "$PROM_EXPECT" ]
}
# Runs every panel query of every dashboard; prints "<with data> <total>", fails on a query error.
dashboard_queries() {
  node --input-type=module -e '
    import { readdirSync, readFileSync } from "node:fs";
    const [prom, dir, instance] = process.argv.slice(1);
    const exprs = [];
    const walk = (ps) => { for (const p of ps ?? []) { for (const t of p.targets ?? []) if (t.expr) exprs.push(t.expr); walk(p.panels); } };
    for (const f of readdirSync(dir).filter((f) => f.endsWith(".json"))) walk(JSON.parse(readFileSync(`${dir}/${f}`, "utf8")).panels);
    let withData = 0;
    for (const e of exprs) {
      const q = e.replaceAll("$__rate_interval", "1m").replaceAll("$__interval", "15s").replaceAll("$__range", "15m").replaceAll("$instance", instance);
      const b = await (await fetch(`${prom}/api/v1/query?query=${encodeURIComponent(q)}`)).json();
      if (b.status !== "success") { console.error(`query error: ${q}: ${b.error}`); process.exit(1); }
      if (b.data.result.length > 0) withData++;
    }
    console.log(withData, exprs.length);
  ' "$PROM" monitoring/grafana/dashboards "$1"
}
# ---------------------------------------------------------------------------
log "project $PROJECT, ${COMPOSE[*]} ($("${COMPOSE[@]}" version --short 2>/dev/null || "${COMPOSE[@]}" version | head -1)), seed on host port $SEED_PORT"

sample_load &
LOAD_SAMPLER=$!

log "step 1: build the image"
if compose build; then
  pass "image built"
else
  fail "image build"
  echo "$PASSED passed, $FAILED failed"
  exit 1
fi
IMAGE=$(compose config | awk '/image: chainmesh/ {print $2; exit}')
APP_BYTES=$(($(docker image inspect -f '{{.Size}}' "$IMAGE") - $(docker image inspect -f '{{.Size}}' node:20-bookworm-slim)))
log "image $IMAGE: $(docker image inspect -f '{{.Size}}' "$IMAGE") bytes, application layers $APP_BYTES bytes"
if docker run --rm --entrypoint node "$IMAGE" -e "require('classic-level');require('secp256k1/bindings')"; then
  pass "native modules (classic-level, secp256k1) load in the image"
else
  fail "native modules do not load in the image"
fi

# After the build: a starved build only takes longer; what must hold under load is the cluster.
[ "${E2E_CPU_HOG:-0}" = 1 ] && start_cpu_hog

log "step 2: up -d --scale node=5"
UP_START=$(date +%s)
quiet compose up -d --scale node=5 || fail "compose up"
record_volumes
EXPECT=6
if wait_until 180 "6 healthy containers" all_healthy; then pass "6 containers healthy after $(($(date +%s) - UP_START))s"; else fail "6 containers healthy within 180 s"; fi
REMAIN=$((180 - ($(date +%s) - UP_START)))
[ "$REMAIN" -lt 10 ] && REMAIN=10
if wait_until "$REMAIN" "every node knows the 5 others" all_know_each_other; then
  pass "every node knows the 5 others after $(($(date +%s) - UP_START))s"
else
  fail "every node knows the 5 others within 180 s"
fi
REMAIN=$((180 - ($(date +%s) - UP_START)))
[ "$REMAIN" -lt 10 ] && REMAIN=10
MIN_HEIGHT=2
if wait_until "$REMAIN" "one tip at height >= 2" same_tip; then
  CONVERGED=$(($(date +%s) - UP_START))
  pass "all 6 nodes report tip $TIP at height $TIP_HEIGHT, ${CONVERGED}s after up"
else
  CONVERGED=-1
  fail "all nodes agree on one tip (height >= 2) within 180 s"
fi
docker stats --no-stream --format '{{.Name}} {{.MemUsage}} {{.CPUPerc}}' $(nodes_of_chain) | tee "$TMP/stats" | sed 's/^/  stats: /'

log "step 2b: the monitoring profile's Prometheus discovers every replica by DNS"
if quiet compose --profile monitoring up -d --no-recreate --scale node=5 prometheus; then
  record_volumes
  PROM_EXPECT=6
  if wait_until 120 "Prometheus scrapes 6 nodes" prometheus_sees_all; then
    pass "Prometheus (DNS service discovery) scrapes all 6 nodes on host port $PROMETHEUS_PORT"
  else
    fail "Prometheus discovers every replica"
  fi
  TIPS=$(prom_count 'count(count_values("tip", chainmesh_chain_tip_id))')
  INSTANCE=$(node -e 'fetch(process.argv[1]+"/api/v1/label/instance/values").then(r=>r.json()).then(b=>console.log(b.data[0]||""))' "$PROM")
  if RESULT=$(dashboard_queries "$INSTANCE"); then
    pass "every dashboard query runs on the compose Prometheus ($RESULT: with data / total, instance $INSTANCE; distinct tips now ${TIPS:-?})"
  else
    fail "dashboard queries fail on the compose Prometheus"
  fi
else
  fail "start the monitoring profile's prometheus"
fi

log "step 3: each replica keeps its own data across restart and re-creation"
NODES=$(containers node)
# shellcheck disable=SC2086
DATA_VOLUMES=$(for c in $NODES; do docker inspect -f '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}}' "$c"; done)
if [ "$(echo "$DATA_VOLUMES" | sort -u | grep -c .)" -eq 5 ]; then pass "5 replicas, 5 distinct /data volumes"; else fail "replicas share data volumes: $DATA_VOLUMES"; fi
# shellcheck disable=SC2086
IDS_BEFORE=$(node_ids $NODES)
quiet compose restart node || fail "compose restart node"
EXPECT=6
wait_until 120 "healthy after restart" all_healthy || true
# shellcheck disable=SC2086
IDS_AFTER=$(node_ids $NODES)
if [ "$IDS_BEFORE" = "$IDS_AFTER" ] && ! echo "$IDS_AFTER" | grep -q '=$'; then pass "node ids unchanged across restart"; else fail "node ids changed across restart: $IDS_BEFORE -> $IDS_AFTER"; fi
quiet compose up -d --force-recreate --no-deps --scale node=5 node || fail "compose up --force-recreate"
record_volumes
wait_until 120 "healthy after re-creation" all_healthy || true
NODES=$(containers node)
# shellcheck disable=SC2086
IDS_RECREATED=$(node_ids $NODES)
# Re-created containers mount their predecessors' volumes by name, so from here
# on `down -v` no longer removes them (Compose behaviour); step 6 accounts for them.
for c in $NODES; do docker inspect -f '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}}' "$c"; done | sort >"$TMP/volumes.recreated"
if [ "$IDS_BEFORE" = "$IDS_RECREATED" ]; then pass "node ids unchanged across re-creation (data volumes kept)"; else fail "node ids changed across re-creation: $IDS_BEFORE -> $IDS_RECREATED"; fi

log "step 4: kill a replica, pause the seed, start the replica: it rejoins from its persisted peers"
SEED=$(containers seed)
VICTIM=$(echo "$NODES" | sed -n 2p)
MIN_HEIGHT=1
wait_until 60 "one tip before the kill" same_tip || true
BEFORE_HEIGHT=${TIP_HEIGHT:-0}
# Read in the container, counted here (a Node.js runtime started in the container is slow under load).
if docker exec "$VICTIM" cat /data/peers.json 2>&1 | node -e 'let t="";process.stdin.on("data",(c)=>t+=c).on("end",()=>{try{const p=JSON.parse(t);const n=(Array.isArray(p)?p:(p.peers||[])).length;console.log(n);process.exit(n>=4?0:1)}catch{console.log(t.slice(0,200));process.exit(1)}})' >"$TMP/peers.count" 2>&1; then
  pass "$VICTIM persisted $(cat "$TMP/peers.count") peers to /data/peers.json"
else
  fail "$VICTIM has no usable /data/peers.json: $(cat "$TMP/peers.count")"
fi
docker kill "$VICTIM" >/dev/null
docker pause "$SEED" >/dev/null
log "killed $VICTIM at height $BEFORE_HEIGHT; paused $SEED"
MIN_HEIGHT=$((BEFORE_HEIGHT + 2))
if wait_until 120 "the 4 running nodes agree on a tip 2 blocks further" same_tip; then
  pass "with the seed paused and a replica dead, 4 nodes agree on tip at height $TIP_HEIGHT"
else
  fail "nodes agree on new blocks while the seed is paused"
fi
docker start "$VICTIM" >/dev/null
MIN_HEIGHT=$((TIP_HEIGHT + 1))
if wait_until 120 "$VICTIM catches up while the seed is paused" same_tip; then
  pass "$VICTIM rejoined without the seed and caught up: 5 nodes on tip at height $TIP_HEIGHT"
else
  fail "$VICTIM rejoins from persisted peers and catches up"
fi
docker unpause "$SEED" >/dev/null
MIN_HEIGHT=1
if wait_until 90 "seed back in agreement" same_tip; then pass "seed unpaused, all 6 agree at height $TIP_HEIGHT"; else fail "seed rejoins after unpause"; fi

log "step 5: scale to 8, then to 3"
# `up` refuses to start replicas while the seed is unhealthy (it was just paused).
EXPECT=6
wait_until 180 "all healthy before scaling" all_healthy || fail "6 containers healthy after unpausing the seed"
quiet compose up -d --no-recreate --scale node=8 || fail "scale to 8"
record_volumes
EXPECT=9
if wait_until 180 "9 healthy nodes" all_healthy; then pass "scaled to 8: seed and 8 replicas healthy"; else fail "seed and 8 replicas healthy"; fi
PROM_EXPECT=9
if wait_until 120 "Prometheus scrapes 9 nodes" prometheus_sees_all; then pass "Prometheus follows the scale-up: 9 nodes scraped"; else fail "Prometheus follows the scale-up"; fi
if wait_until 90 "every node knows the 8 others" all_know_each_other; then pass "every node knows the 8 others"; else fail "newcomers join every peer book"; fi
for c in $(containers node); do echo "$c $(ip_of "$c"):3000"; done >"$TMP/addresses"
for c in $(containers node); do docker inspect -f '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}}' "$c"; done | sort >"$TMP/volumes.before"
quiet compose up -d --no-recreate --scale node=3 || fail "scale to 3"
DEPARTED=""
while read -r c addr; do
  containers node | grep -qx "$c" || DEPARTED="$DEPARTED $addr"
done <"$TMP/addresses"
EXPECT=4
if [ "$(echo "$DEPARTED" | wc -w)" -eq 5 ] && all_healthy; then pass "scaled to 3: 5 replicas removed, the rest healthy"; else fail "scale to 3 (departed: $DEPARTED)"; fi
PROM_EXPECT=4
if wait_until 120 "Prometheus scrapes 4 nodes" prometheus_sees_all; then pass "Prometheus follows the scale-down: 4 nodes scraped"; else fail "Prometheus follows the scale-down"; fi
# Compose (v2 and 1.29 alike) keeps the anonymous /data volumes of replicas it
# removes when scaling down; they are the departed nodes' data, which `down -v`
# no longer sees. Remove exactly those, as docs/DEPLOYMENT.md tells users to.
for c in $(containers node); do docker inspect -f '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}}' "$c"; done | sort >"$TMP/volumes.after"
ORPHANED=$(comm -23 "$TMP/volumes.before" "$TMP/volumes.after" | while read -r v; do docker volume inspect "$v" >/dev/null 2>&1 && echo "$v"; done)
log "scale-down left $(echo "$ORPHANED" | grep -c .) data volumes of departed replicas; removing them"
# shellcheck disable=SC2086
[ -n "$ORPHANED" ] && docker volume rm $ORPHANED >/dev/null
# A dead peer is dropped after 8 failed contacts; each ~3 s gossip round
# retries one failed peer whose back-off is over, so this takes about 120 s
# (116-132 s here); the bound leaves room for a loaded machine.
if wait_until 480 "departed replicas dropped from every peer book" departed_dropped; then
  pass "the 5 departed replicas are gone from every peer book after ${WAITED}s"
else
  fail "departed replicas dropped from peer books"
fi

log "step 6: down -v leaves nothing behind"
record_volumes
quiet compose --profile monitoring down -v --remove-orphans --timeout 10 || fail "compose down -v"
LEFT_CONTAINERS=$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" | wc -l)
LEFT_NETWORKS=$(docker network ls -q --filter "label=com.docker.compose.project=$PROJECT" | wc -l)
LEFT_VOLUMES=$( (docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT"; sort -u "$VOLUMES_SEEN" | while read -r v; do docker volume inspect "$v" >/dev/null 2>&1 && echo "$v"; done) | sort -u)
# Only the re-created replicas' volumes may survive `down -v` (see step 3); anything else is a leak.
KEPT=$(echo "$LEFT_VOLUMES" | grep . | comm -12 - "$TMP/volumes.recreated")
LEAKED=$(echo "$LEFT_VOLUMES" | grep . | comm -23 - "$TMP/volumes.recreated")
if [ "$LEFT_CONTAINERS" -eq 0 ] && [ "$LEFT_NETWORKS" -eq 0 ] && [ -z "$LEAKED" ]; then
  pass "no containers, networks or volumes of $PROJECT left ($(sort -u "$VOLUMES_SEEN" | grep -c .) volumes were used)"
else
  fail "left behind: $LEFT_CONTAINERS containers, $LEFT_NETWORKS networks, volumes: $(echo $LEAKED)"
fi
if [ -n "$KEPT" ]; then
  log "compose kept $(echo "$KEPT" | grep -c .) data volumes of replicas re-created in step 3; removing them"
  # shellcheck disable=SC2086
  docker volume rm $KEPT >/dev/null
fi

if [ -n "${BENCH_OUT:-}" ]; then
  {
    echo "# chainmesh docker benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ), ${COMPOSE[*]})"
    echo
    echo "| measure | value |"
    echo "| --- | --- |"
    echo "| up to converged 6-node network (healthy, full peer books, one tip at height >= 2) | ${CONVERGED} s |"
    echo "| image size | $(docker image inspect -f '{{.Size}}' "$IMAGE") bytes |"
    echo "| application layers (image minus node:20-bookworm-slim) | ${APP_BYTES} bytes |"
    while read -r name mem _ _ cpu; do echo "| memory $name | $mem (cpu $cpu) |"; done <"$TMP/stats"
  } >"$BENCH_OUT"
  log "benchmark written to $BENCH_OUT"
fi

log "$(load_summary)${HOG_PIDS[*]:+, with the CPU hog}"
log "$PASSED passed, $FAILED failed"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
