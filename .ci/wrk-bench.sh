#!/usr/bin/env bash
# Load benchmark of the AgentXML server with wrk, side by side with a bare
# Go HTTPS server in the same run (`make bench-wrk`; docs/benchmarks.md).
#
# Starts two servers from core/agentxml/loadbench on loopback:
#   bare      a plain net/http TLS server answering a fixed PASS
#   provisio  the real AgentXML server over a fresh bbolt store in a temp
#             directory, with USERS provisioned users and a file of valid
#             one-time-code login bodies (100 per user), and DEVICES users
#             with a pending provision code and a file of their provision
#             requests, and OATH_USERS users with a confirmed HOTP token and
#             a file of their login codes
# and runs, one after the other, each for DURATION:
#   bare ping, provisio ping, provisio login (CONNS connections),
#   provisio OATH (HOTP) login and web client page loads (CONNS),
#   provisio provision + string download (CONNS connections),
#   provisio login (LOW_CONNS connections),
#   provisio login on a plain store without a data key (CONNS connections;
#   PLAIN=0 skips it), bare ping again
# The provisio server seals secrets with a data key as the program does
# (#13); the plain run measures what that encryption costs, and the table
# prints the encrypted login's rate as a percentage of the plain one.
# then prints requests/s, p50/p99, the percentage of the bare rate (the
# mean of the two bare runs, which bracket the others because the machine
# is shared and noisy) and each target, and checks every reply. Every
# login, provision and download PASS is a durable bbolt commit (fsync)
# made before the reply.
#
# Targets (issue #15): provisio ping >= 80 % of bare; provisio login at
# CONNS >= 50 % of bare with p99 <= 20 ms; provision + download >= 1,000
# devices/s at CONNS. Issue #13: the encrypted login >= 90 % of the plain
# one (STRICT_ENC=0 reports it without enforcing it, for a noisy
# machine). Issue #16: login over
# 3 embedded etcd members >= 3,000 logins/s at CONNS. The script exits 1 when a reply was wrong, and also
# when a target is missed unless STRICT=0 (for exploring other settings).
#
# Environment (defaults in brackets):
#   DURATION [10s]  CONNS [64]  THREADS [2]  LOW_CONNS [8] (empty: skip)
#   USERS [8000]    DEVICES [100000] (0: skip the provision run)
#   OATH_USERS [4000] (0: skip the OATH login run)
#   PORT [18443] (bare; provisio uses PORT+1)
#   BATCH_DELAY [] store MaxBatchDelay for provisio, e.g. 2ms for bbolt's
#                  timed Batch (empty: the group commit without a wait)
#   WORK [a new temp dir]  KEEP [0] (1: keep WORK)
#   STRICT [1] (0: report missed targets but exit 0 unless a reply was wrong)
#   PLAIN [1] (0: skip the plain-store login run)  STRICT_ENC [1]
#   ETCD [3] members of the embedded etcd cluster for the provisio-etcd-login
#            run (0: skip it); ETCD_USERS [2000] users set up for it
#   SERVER_CPUS, WRK_CPUS  CPU lists for taskset -c (e.g. 0-1 and 2-3): the
#            servers (bare and provisio alike) run on SERVER_CPUS and wrk on
#            WRK_CPUS, so the load generator does not take the servers'
#            cores. On a machine with 4 or more CPUs the default gives the
#            servers the first half and wrk the rest; with fewer, both share
#            every CPU (as on a 2-CPU machine) unless both are set.
#
# Each row also reports the CPU time per request of the server that answered
# (from /proc/PID/stat) and of wrk, in microseconds: on a machine where wrk
# shares the servers' cores, a slower run makes wrk pay more per request too,
# so these say where the time went.
#
# Traffic goes to 127.0.0.1 only, every wrk run is bounded by -d, and the
# servers are stopped on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -d /usr/local/go/bin ]; then export PATH=/usr/local/go/bin:$PATH; fi

DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
LOW_CONNS=${LOW_CONNS-8}
USERS=${USERS:-8000}
DEVICES=${DEVICES:-100000}
OATH_USERS=${OATH_USERS:-4000}
PORT=${PORT:-18443}
BATCH_DELAY=${BATCH_DELAY:-}
KEEP=${KEEP:-0}
STRICT=${STRICT:-1}
PLAIN=${PLAIN:-1}
STRICT_ENC=${STRICT_ENC:-1}
ETCD=${ETCD:-3}
ETCD_USERS=${ETCD_USERS:-2000}
HOST=127.0.0.1
SCRIPTS=core/agentxml/loadbench
CPUS=$(nproc)
if [ -z "${SERVER_CPUS+x}" ] && [ -z "${WRK_CPUS+x}" ] && [ "$CPUS" -ge 4 ]; then
	SERVER_CPUS="0-$((CPUS / 2 - 1))"
	WRK_CPUS="$((CPUS / 2))-$((CPUS - 1))"
fi
SERVER_CPUS=${SERVER_CPUS:-}
WRK_CPUS=${WRK_CPUS:-}
server_pin=()
wrk_pin=()
if [ -n "$SERVER_CPUS" ]; then server_pin=(taskset -c "$SERVER_CPUS"); fi
if [ -n "$WRK_CPUS" ]; then wrk_pin=(taskset -c "$WRK_CPUS"); fi
CLK_TCK=$(getconf CLK_TCK)

# ---- wrk ----
if ! command -v wrk >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ]; then
		as_root=(env DEBIAN_FRONTEND=noninteractive)
	elif command -v sudo >/dev/null 2>&1; then
		as_root=(sudo env DEBIAN_FRONTEND=noninteractive)
	else
		echo "wrk-bench: wrk is missing and this is neither root nor has sudo; install it: apt-get install wrk" >&2
		exit 1
	fi
	"${as_root[@]}" apt-get update -qq
	"${as_root[@]}" apt-get install -y -qq --no-install-recommends wrk >/dev/null
	echo "wrk-bench: installed wrk"
fi

WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/wrk-bench.XXXXXX")}
mkdir -p "$WORK"
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ "$KEEP" != 1 ]; then rm -rf "$WORK"; else echo "wrk-bench: kept $WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "wrk-bench: building loadbench"
go build -o "$WORK/loadbench" ./core/agentxml/loadbench

# start NAME ARGS...: runs loadbench in the background and waits for READY.
start() {
	local name=$1
	shift
	"${server_pin[@]}" "$WORK/loadbench" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	local pid=$!
	pids+=("$pid")
	server_pid=$pid
	local i
	for ((i = 0; i < 600; i++)); do
		if grep -qs '^READY ' "$WORK/$name.out"; then return 0; fi
		if ! kill -0 "$pid" 2>/dev/null; then break; fi
		sleep 0.5
	done
	echo "wrk-bench: the $name server did not start:" >&2
	cat "$WORK/$name.err" >&2
	exit 1
}

bare_port=$PORT
prov_port=$((PORT + 1))
start bare -mode bare -listen "$HOST:$bare_port"
bare_pid=$server_pid
base_args=(-mode provisio -listen "$HOST:$prov_port" -users "$USERS" -out "$WORK/codes.txt")
# Sealed with a data key, as the program runs (#13).
prov_args=("${base_args[@]}" -data "$WORK/data" -key-dir "$WORK/keys")
if [ -n "$BATCH_DELAY" ]; then prov_args+=(-batch-delay "$BATCH_DELAY"); fi
first_args=("${prov_args[@]}")
if [ "$DEVICES" -gt 0 ]; then first_args+=(-devices "$DEVICES" -devices-out "$WORK/provision.txt"); fi
if [ "$OATH_USERS" -gt 0 ]; then first_args+=(-oath-users "$OATH_USERS" -oath-out "$WORK/oath.txt"); fi
echo "wrk-bench: setting up $USERS users and $DEVICES devices to provision for provisio"
start provisio "${first_args[@]}"
prov_pid=$server_pid
sed 's/^/  /' "$WORK/provisio.err"

# bench LABEL PORT CONNS SCRIPT [SCRIPT ARGS...]: one wrk run; leaves its
# RESULT line in $WORK/LABEL.result and the full output in $WORK/LABEL.wrk.
rows=()
bench() {
	local label=$1 port=$2 conns=$3 script=$4
	shift 4
	local extra=()
	if [ $# -gt 0 ]; then extra=(-- "$@"); fi
	local before after pid=$prov_pid
	if [ "$port" = "$bare_port" ]; then pid=$bare_pid; fi
	before=$(cut -d' ' -f1 /proc/loadavg)
	local t0 t1 wrk_ticks
	t0=$(cpu_ticks "$pid")
	# bash's time keyword reports wrk's own CPU (user+system seconds).
	local TIMEFORMAT='%U %S'
	{ time "${wrk_pin[@]}" wrk -t"$THREADS" -c"$conns" -d"$DURATION" --latency -s "$SCRIPTS/$script" \
		"https://$HOST:$port" "${extra[@]}" >"$WORK/$label.wrk" 2>&1; } 2>"$WORK/$label.time" || {
		echo "wrk-bench: wrk failed for $label:" >&2
		cat "$WORK/$label.wrk" >&2
		exit 1
	}
	t1=$(cpu_ticks "$pid")
	after=$(cut -d' ' -f1 /proc/loadavg)
	local line
	line=$(grep '^RESULT ' "$WORK/$label.wrk" | tail -n1)
	if [ -z "$line" ]; then
		echo "wrk-bench: no RESULT from $label:" >&2
		cat "$WORK/$label.wrk" >&2
		exit 1
	fi
	local reqs srv_us wrk_us
	reqs=$(tr ' ' '\n' <<<"$line" | sed -n 's/^requests=//p')
	srv_us=$(awk -v d="$((t1 - t0))" -v hz="$CLK_TCK" -v n="$reqs" 'BEGIN { if (n > 0) printf "%.0f", d / hz * 1e6 / n; else print 0 }')
	wrk_us=$(awk -v n="$reqs" '{ if (n > 0) printf "%.0f", ($1 + $2) * 1e6 / n; else print 0 }' "$WORK/$label.time")
	echo "$line load=$before/$after conns=$conns server_us=$srv_us wrk_us=$wrk_us" >"$WORK/$label.result"
	rows+=("$label")
	echo "  $label: $line load=$before->$after server_us=$srv_us wrk_us=$wrk_us"
}

# cpu_ticks PID: user+system clock ticks the process has used so far.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# field LABEL KEY: a value from LABEL's RESULT line.
field() {
	tr ' ' '\n' <"$WORK/$1.result" | sed -n "s/^$2=//p"
}

echo "wrk-bench: wrk -t$THREADS -d$DURATION --latency, $CPUS CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$SERVER_CPUS$WRK_CPUS" ]; then
	echo "wrk-bench: servers on CPUs ${SERVER_CPUS:-all}, wrk on CPUs ${WRK_CPUS:-all}"
else
	echo "wrk-bench: servers and wrk share all $CPUS CPUs (set SERVER_CPUS and WRK_CPUS to separate them)"
fi
bench bare-ping "$bare_port" "$CONNS" ping.lua
bench provisio-ping "$prov_port" "$CONNS" ping.lua
bench provisio-login "$prov_port" "$CONNS" login.lua "$WORK/codes.txt" "$THREADS"
if [ "$OATH_USERS" -gt 0 ]; then
	bench provisio-oath-login "$prov_port" "$CONNS" login.lua "$WORK/oath.txt" "$THREADS"
fi
bench provisio-pages "$prov_port" "$CONNS" page.lua
if [ "$DEVICES" -gt 0 ]; then
	bench provisio-provision "$prov_port" "$CONNS" provision.lua "$WORK/provision.txt" "$THREADS"
fi
if [ -n "$LOW_CONNS" ]; then
	# Codes already spent are skipped: the second login run needs fresh ones,
	# so it gets its own provisio server and codes file.
	kill -TERM "${pids[1]}" && wait "${pids[1]}" 2>/dev/null || true
	rm -rf "$WORK/data" "$WORK/keys"
	start provisio2 "${prov_args[@]}"
	prov_pid=$server_pid
	bench "provisio-login-c$LOW_CONNS" "$prov_port" "$LOW_CONNS" login.lua "$WORK/codes.txt" "$THREADS"
fi
if [ "$PLAIN" = 1 ]; then
	# The same durable login on a store without a data key: what the
	# encryption at rest costs (#13).
	last=$((${#pids[@]} - 1))
	kill -TERM "${pids[$last]}" && wait "${pids[$last]}" 2>/dev/null || true
	rm -rf "$WORK/data" "$WORK/keys"
	if [ "$BATCH_DELAY" != "" ]; then base_args+=(-batch-delay "$BATCH_DELAY"); fi
	start provisio-plain "${base_args[@]}" -data "$WORK/data-plain"
	prov_pid=$server_pid
	bench provisio-login-plain "$prov_port" "$CONNS" login.lua "$WORK/codes.txt" "$THREADS"
fi
if [ "$ETCD" -gt 0 ]; then
	# The same login run with the store in an etcd cluster of ETCD members
	# embedded in the loadbench process (issue #16): every PASS is a Txn
	# accepted by a quorum (each member fsyncs its log) before the reply.
	kill -TERM "${pids[-1]}" && wait "${pids[-1]}" 2>/dev/null || true
	etcd_args=(-mode provisio -listen "$HOST:$prov_port" -data "$WORK/etcd-data" -users "$ETCD_USERS" -out "$WORK/codes-etcd.txt" -etcd "$ETCD" -key-dir "$WORK/keys-etcd")
	echo "wrk-bench: setting up $ETCD_USERS users on $ETCD embedded etcd members"
	start provisio-etcd "${etcd_args[@]}"
	prov_pid=$server_pid
	bench provisio-etcd-login "$prov_port" "$CONNS" login.lua "$WORK/codes-etcd.txt" "$THREADS"
fi
bench bare-ping-again "$bare_port" "$CONNS" ping.lua

# ---- table ----
bare_rps=$(awk -v a="$(field bare-ping rps)" -v b="$(field bare-ping-again rps)" 'BEGIN { printf "%.1f", (a + b) / 2 }')
status=0
missed=()
echo
printf '%-22s %6s %11s %9s %9s %7s %12s %7s %7s %-18s %s\n' run conns "requests/s" "p50 ms" "p99 ms" "% bare" "devices/s" "srv µs" "wrk µs" target check
for r in "${rows[@]}"; do
	rps=$(field "$r" rps)
	p50=$(field "$r" p50_us)
	p99=$(field "$r" p99_us)
	conns=$(field "$r" conns)
	reqs=$(field "$r" requests)
	pass=$(field "$r" pass)
	fail=$(field "$r" fail)
	errs=$(field "$r" errors)
	exh=$(field "$r" exhausted)
	dps=$(field "$r" devices_per_s)
	pct=$(awk -v a="$rps" -v b="$bare_rps" 'BEGIN { printf "%.0f", 100 * a / b }')
	target="-"
	met=1
	case "$r" in
	provisio-ping)
		target=">=80% bare"
		if [ "$pct" -lt 80 ]; then met=0; missed+=("$r at $pct% of bare, target 80%"); fi
		;;
	provisio-login)
		target=">=50%, p99<=20ms"
		if [ "$pct" -lt 50 ]; then met=0; missed+=("$r at $pct% of bare, target 50%"); fi
		if [ "$p99" -gt 20000 ]; then met=0; missed+=("$r p99 $((p99 / 1000)) ms, target 20 ms"); fi
		;;
	provisio-etcd-login)
		target=">=3000 logins/s"
		if awk -v r="$rps" 'BEGIN { exit !(r < 3000) }'; then met=0; missed+=("$r at $rps logins/s, target 3000"); fi
		;;
	provisio-provision)
		target=">=1000 devices/s"
		if awk -v d="$dps" 'BEGIN { exit !(d < 1000) }'; then met=0; missed+=("$r at $dps devices/s, target 1000"); fi
		;;
	esac
	check="ok"
	if [ "$pass" != "$reqs" ] || [ "$fail" != 0 ] || [ "$errs" != 0 ] || [ "$exh" != 0 ]; then
		check="WRONG: $pass PASS of $reqs, $fail other, $errs socket/HTTP errors, exhausted=$exh"
		status=1
	elif [ "$target" != "-" ]; then
		if [ "$met" = 1 ]; then check="ok, target met"; else check="ok, TARGET MISSED"; fi
	fi
	printf '%-22s %6s %11.0f %9.2f %9.2f %6s%% %12s %7s %7s %-18s %s\n' "$r" "$conns" "$rps" \
		"$(awk -v v="$p50" 'BEGIN { print v / 1000 }')" "$(awk -v v="$p99" 'BEGIN { print v / 1000 }')" \
		"$pct" "${dps:--}" "$(field "$r" server_us)" "$(field "$r" wrk_us)" "$target" "$check"
done
echo "(% bare: of $bare_rps requests/s, the mean of the two bare runs; srv µs and wrk µs: CPU time per request of the answering server and of wrk; check: every reply a PASS of its kind; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
if [ "$status" != 0 ]; then echo "wrk-bench: some replies were wrong (see check); the run is not valid"; fi
if [ "$PLAIN" = 1 ]; then
	enc_rps=$(field provisio-login rps)
	plain_rps=$(field provisio-login-plain rps)
	enc_pct=$(awk -v a="$enc_rps" -v b="$plain_rps" 'BEGIN { printf "%.0f", 100 * a / b }')
	echo "wrk-bench: encrypted login $(printf '%.0f' "$enc_rps") requests/s = $enc_pct% of the plain store's $(printf '%.0f' "$plain_rps") (target >= 90%; p99 $(awk -v v="$(field provisio-login p99_us)" 'BEGIN { print v / 1000 }') ms vs $(awk -v v="$(field provisio-login-plain p99_us)" 'BEGIN { print v / 1000 }') ms)"
	if [ "$enc_pct" -lt 90 ]; then
		if [ "$STRICT_ENC" = 1 ]; then
			missed+=("encrypted login at $enc_pct% of the plain one, target 90%")
		else
			echo "wrk-bench: the encrypted login is under 90% of the plain one (not enforced: STRICT_ENC=0)"
		fi
	fi
fi
for m in "${missed[@]}"; do echo "wrk-bench: target missed: $m"; done
if [ "${#missed[@]}" -gt 0 ]; then
	if [ "$STRICT" = 0 ]; then
		echo "wrk-bench: STRICT=0, so missed targets do not fail the run"
	else
		status=1
	fi
fi
exit "$status"
