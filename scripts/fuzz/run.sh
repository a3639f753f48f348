#!/usr/bin/env bash
# Run one fuzz harness for SECONDS in all, restarting it after a hang or memory stop (libFuzzer ends the run at
# each, saving its input as OUT/findings/<harness>/timeout-* or oom-*). One process: other work shares the cores.
#   scripts/fuzz/run.sh photos|masks SECONDS OUT
# OUT/seeds is made by seeds.py when missing; OUT/corpus/<harness> grows and is reused by later runs.
set -u
harness=$1 seconds=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python}
[ -d "$out/seeds" ] || "$python" "$here/seeds.py" "$out/seeds"
mkdir -p "$out/corpus/$harness" "$out/findings/$harness"
end=$(($(date +%s) + seconds))
while [ "$(date +%s)" -lt "$end" ]; do
  left=$((end - $(date +%s)))
  FUZZ_FINDINGS="$out/findings/$harness" "$python" "$here/fuzz_$harness.py" \
    "$out/corpus/$harness" "$out/seeds/$harness" \
    -max_total_time="$left" -timeout=5 -rss_limit_mb=1024 -max_len=65536 \
    -artifact_prefix="$out/findings/$harness/" -print_final_stats=1
done
