# Sourced by tests/bench/run and tests/bench/servers: loopback ports.

# listening PORT: something listens on it (read from the kernel's table,
# not by connecting, which would use up a one-shot listener's accept).
listening() {
	awk -v p="$(printf '%04X' "$1")" 'NR > 1 && $4 == "0A" &&
	    substr($2, index($2, ":") + 1) == p { f = 1 } END { exit !f }' \
	    /proc/net/tcp /proc/net/tcp6
}
# free_port FROM: the first port from FROM that nothing listens on.
free_port() {
	local p=$1
	while listening "$p"; do p=$((p + 1)); done
	echo "$p"
}
# wait_port PORT [TENTHS]: until something listens, at most TENTHS/10 s.
wait_port() {
	local i
	for i in $(seq "${2:-50}"); do listening "$1" && return 0; sleep 0.1; done
	return 1
}
