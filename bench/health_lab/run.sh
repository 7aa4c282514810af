#!/usr/bin/env bash
# Health lab: generate an independent customer base, load it into a fresh Kizuna data directory
# and backtest the health score on it.
#
#   bench/health_lab/run.sh [--seed N] [--accounts N] [--years Y] [--today YYYY-MM-DD]
#                           [--health FILE] [--keep DIR]
#
# --keep DIR   use DIR (created, must be empty or absent) and keep everything in it; default:
#              a new temp dir, of which only the small files stay (CSVs, backtest.json)
# --health F   apply a health configuration (kizuna health apply F) before the backtest;
#              default: the shipped configuration
# Binary: ${KIZUNA_BIN:-target/release/kizuna}, else target/debug/kizuna. It is copied into the
# data directory first, so a rebuild during the run does not mix two versions.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

seed=7
accounts=400
years=3.5
today=""
keep=""
health=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seed) seed="$2"; shift 2 ;;
        --accounts) accounts="$2"; shift 2 ;;
        --years) years="$2"; shift 2 ;;
        --today) today="$2"; shift 2 ;;
        --keep) keep="$2"; shift 2 ;;
        --health) health="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

bin="${KIZUNA_BIN:-$root/target/release/kizuna}"
if [[ ! -x "$bin" ]]; then
    bin="$root/target/debug/kizuna"
fi
if [[ ! -x "$bin" ]]; then
    echo "no kizuna binary: build it (cargo build --release) or set KIZUNA_BIN" >&2
    exit 1
fi

# The workspace's "today" is the real date in Tokyo; the data must end on the same day.
if [[ -z "$today" ]]; then
    today="$(TZ=Asia/Tokyo date +%F)"
fi
from="$(date -d "$today -3 years" +%F)"

if [[ -n "$keep" ]]; then
    dir="$keep"
    mkdir -p "$dir"
    if [[ -n "$(ls -A "$dir")" ]]; then
        echo "$dir is not empty" >&2
        exit 1
    fi
else
    dir="$(mktemp -d -t kizuna-health-lab.XXXXXX)"
    # Keep the small files (CSVs, catalog, backtest.json); drop the database, the events file
    # and the binary copy, which are large.
    trap 'rm -rf "$dir/db" "$dir/kizuna" "$dir/data/events.ndjson"' EXIT
fi
data="$dir/data"
mkdir -p "$data"
cp "$bin" "$dir/kizuna"

export KIZUNA_DATA_DIR="$dir/db"
export KIZUNA_TIME_ZONE=Asia/Tokyo
export KIZUNA_CURRENCY=JPY
export KIZUNA_LOG="${KIZUNA_LOG:-warn,sqlx=error}"
export LANG=C.UTF-8
# Kizuna warns about KIZUNA_* variables it does not know, and must not read another config.
unset KIZUNA_BIN KIZUNA_CONFIG KIZUNA_DATABASE_URL DATABASE_URL KIZUNA_FEATURE_CATALOG

# Microseconds since the epoch, and seconds since such a moment.
now_us() { echo "${EPOCHREALTIME/./}"; }
since() { local us=$(( $(now_us) - $1 )); printf '%d.%02d' $((us / 1000000)) $((us % 1000000 / 10000)); }

step() {
    local label="$1"
    shift
    local started
    started=$(now_us)
    "$@"
    echo "  [$label: $(since "$started")s]"
}

echo "== health lab: seed $seed, $accounts accounts, $years years to $today; binary $bin"
echo "== directory $dir"
step generate python3 "$here/generate.py" --out "$data" --accounts "$accounts" --years "$years" \
    --seed "$seed" --today "$today"
wc -l "$data"/*.csv "$data"/events.ndjson | sed 's/^/  /'

k="$dir/kizuna"
import_started=$(now_us)
step features "$k" features apply "$data/features.toml"
for kind in accounts subscriptions nps tickets; do
    step "$kind" "$k" import "$kind" "$data/$kind.csv"
done
step events "$k" import events "$data/events.ndjson"
echo "  [import total: $(since "$import_started")s]"
if [[ -n "$health" ]]; then
    step health "$k" health apply "$health"
fi

echo "== kizuna health backtest --from $from --horizon 90d"
step backtest "$k" health backtest --from "$from" --horizon 90d
"$k" health backtest --from "$from" --horizon 90d --json > "$dir/backtest.json"
echo "== JSON report: $dir/backtest.json"
echo "== kizuna renewals fit (churn probability at renewal, out-of-time backtest on the last 12 months)"
step renewals "$k" renewals fit
"$k" renewals fit --json > "$dir/renewals.json"
if [[ -z "$keep" ]]; then
    echo "== the database and events.ndjson are removed on exit (use --keep DIR to keep them)"
fi
