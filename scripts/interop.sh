#!/usr/bin/env bash
# Runs the go-loggregator clients against the real Loggregator servers.
#
#   LOGGREGATOR_AGENT_RELEASE=/path/to/loggregator-agent-release \
#   LOGGREGATOR_RELEASE=/path/to/loggregator-release \
#   ./scripts/interop.sh
#
# Builds the agent, router, reverse log proxy and RLP gateway from the two
# checkouts (with their vendored dependencies) into a temporary directory,
# builds the scenario program in interop/ against this library tree, runs it
# and removes everything afterwards. INTEROP_SCENARIOS=1,2 runs only some
# scenarios; INTEROP_KEEP=1 keeps the temporary directory (server logs).
# Every process started is stopped by pid on exit, Ctrl-C or SIGTERM: the
# build or program running in the foreground, and each server the program
# recorded in the pid file.
set -euo pipefail

if [[ -z "${LOGGREGATOR_AGENT_RELEASE:-}" || -z "${LOGGREGATOR_RELEASE:-}" ]]; then
	echo "interop: skipped; set LOGGREGATOR_AGENT_RELEASE and LOGGREGATOR_RELEASE to checkouts of cloudfoundry/loggregator-agent-release and cloudfoundry/loggregator-release"
	exit 0
fi

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
agent_src="${LOGGREGATOR_AGENT_RELEASE}/src"
release_src="${LOGGREGATOR_RELEASE}/src"
for d in "${agent_src}/cmd/loggregator-agent" "${release_src}/router" "${release_src}/rlp" "${release_src}/rlp-gateway"; do
	if [[ ! -d "${d}" ]]; then
		echo "interop: ${d} not found; LOGGREGATOR_AGENT_RELEASE and LOGGREGATOR_RELEASE must point at the release checkouts" >&2
		exit 1
	fi
done

work="$(mktemp -d "${TMPDIR:-/tmp}/go-loggregator-interop.XXXXXX")"
bin="${work}/bin"
pidfile="${work}/pids"
mkdir -p "${bin}"
: >"${pidfile}"

# stop_recorded kills every process whose pid was recorded and that still
# runs a binary from ${bin} (so a reused pid is never hit): SIGTERM, then
# SIGKILL after 3 s.
stop_recorded() {
	local pid exe alive=()
	while read -r pid; do
		[[ -n "${pid}" ]] || continue
		exe="$(readlink "/proc/${pid}/exe" 2>/dev/null || true)"
		if [[ "${exe}" == "${bin}/"* ]]; then
			kill -TERM "${pid}" 2>/dev/null || true
			alive+=("${pid}")
		fi
	done <"${pidfile}"
	local i
	for i in $(seq 30); do
		local still=()
		for pid in "${alive[@]+"${alive[@]}"}"; do
			if kill -0 "${pid}" 2>/dev/null; then
				still+=("${pid}")
			fi
		done
		alive=("${still[@]+"${still[@]}"}")
		[[ ${#alive[@]} -gt 0 ]] || return 0
		sleep 0.1
		: "${i}"
	done
	for pid in "${alive[@]}"; do
		kill -KILL "${pid}" 2>/dev/null || true
	done
}

current_job=""

cleanup() {
	local rc=$?
	# A second Ctrl-C must not cut the clean-up short: ignore INT and TERM
	# until every recorded process is stopped and the directory removed.
	trap - EXIT
	trap '' INT TERM
	if [[ -n "${current_job}" ]]; then
		kill -TERM "${current_job}" 2>/dev/null || true
		local i
		for i in $(seq 250); do
			kill -0 "${current_job}" 2>/dev/null || break
			sleep 0.1
			: "${i}"
		done
		kill -KILL "${current_job}" 2>/dev/null || true
		wait "${current_job}" 2>/dev/null || true
	fi
	stop_recorded
	if [[ -n "${INTEROP_KEEP:-}" ]]; then
		echo "interop: kept ${work}"
	else
		rm -rf "${work}" || rm -rf "${work}" # a dying server may still write a log line
	fi
	exit "${rc}"
}
on_signal() {
	echo "interop: interrupted, stopping everything" >&2
	exit 130
}
trap cleanup EXIT
trap on_signal INT TERM

# run_job runs a command in the background and waits for it: `wait` returns
# as soon as a signal arrives, so the trap runs at once and stops the job by
# its pid.
run_job() {
	"$@" &
	current_job=$!
	local rc=0
	wait "${current_job}" || rc=$?
	current_job=""
	return "${rc}"
}

echo "interop: building servers into ${bin}"
run_job go -C "${agent_src}" build -mod=vendor -o "${bin}/agent" ./cmd/loggregator-agent
run_job go -C "${release_src}" build -mod=vendor -o "${bin}/" ./router ./rlp ./rlp-gateway
run_job go -C "${repo}/interop" build -o "${bin}/interop" .

echo "interop: running scenarios ${INTEROP_SCENARIOS:-1,2,3,4,5,6}"
export INTEROP_BIN_DIR="${bin}" INTEROP_WORK_DIR="${work}" INTEROP_PIDFILE="${pidfile}"
run_job "${bin}/interop"
