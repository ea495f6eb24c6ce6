#!/bin/sh
# Side-by-side ingest benchmark: numgate's accounting server (write-ahead
# log, fsync before every Accounting-Response) and Debian's FreeRADIUS
# (accounting written to its detail file) receive the same Interim-Updates
# from the same Go load generator (BenchmarkIngest*, bench_test.go) over
# loopback, in the same run.
#
# Needs Debian's freeradius (apt-get install -y freeradius). Run by hand from
# the repository root:
#
#	internal/network/radius/testdata/bench-freeradius.sh [packets] [count]
#
# Prints the benchmark lines; compare the packets/s columns (medians over
# count runs, default 5). FreeRADIUS's detail module does not fsync, so its
# figure is an upper bound for "durable" FreeRADIUS.
set -eu
packets=${1:-200000}
count=${2:-5}
port=18130
secret=t3st-s3cret-for-numgate

command -v freeradius >/dev/null || { echo "freeradius not found: apt-get install -y freeradius" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT INT TERM

# A minimal FreeRADIUS configuration: the Debian one with only the modules
# an accounting-to-detail-file server needs.
cp -rL /etc/freeradius/3.0 "$work/raddb"
mkdir -p "$work/log"
sed -i -e "s|^logdir = .*|logdir = $work/log|" \
	-e 's|^\(\s*\)user = freerad|\1#user = freerad|' \
	-e 's|^\(\s*\)group = freerad|\1#group = freerad|' "$work/raddb/radiusd.conf"
find "$work/raddb/mods-enabled" -mindepth 1 ! -name detail ! -name always -delete
rm -f "$work/raddb/sites-enabled/"*
cat > "$work/raddb/clients.conf" <<EOF
client loopback {
	ipaddr = 127.0.0.1
	secret = $secret
}
EOF
cat > "$work/raddb/sites-enabled/bench" <<EOF
server bench {
	listen {
		type = acct
		ipaddr = 127.0.0.1
		port = $port
	}
	accounting {
		detail
		ok
	}
}
EOF
freeradius -f -d "$work/raddb" -l "$work/log/radius.log" &
pid=$!
sleep 2
kill -0 "$pid" || { cat "$work/log/radius.log" >&2; exit 1; }

cd "$(dirname "$0")/.."
NUMGATE_BENCH_FREERADIUS=127.0.0.1:$port go test -run '^$' \
	-bench '^BenchmarkIngest(FreeRADIUS)?$' -benchtime="${packets}x" -count="$count" .
echo "FreeRADIUS detail file: $(du -sh "$work/log/radacct" | cut -f1) written"
