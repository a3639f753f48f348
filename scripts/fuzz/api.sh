#!/usr/bin/env bash
# Test the HTTP API against its own OpenAPI schema with schemathesis for SECONDS: `serve` on 127.0.0.1 (the
# bundled model, 2 MP pixel limit so each photo is quick), every check, photos from OUT/seeds/photos half the time.
#   scripts/fuzz/api.sh SECONDS OUT [PORT]
set -u
seconds=$1 port=${3:-8765}
mkdir -p "$2" && out=$(cd "$2" && pwd)  # absolute: schemathesis runs in OUT/findings/api (its .schemathesis cache)
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python}
[ -d "$out/seeds" ] || "$python" "$here/seeds.py" "$out/seeds"
mkdir -p "$out/findings/api"
"$python" -m colorsplash serve --port "$port" --max-pixels 2000000 -j 1 -q > "$out/findings/api/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null' EXIT
st=$(cd "$(dirname "$python")" && pwd)/st
cd "$out/findings/api" || exit 1
FUZZ_SEEDS="$out/seeds/photos" SCHEMATHESIS_HOOKS=api_hooks PYTHONPATH="$here:${PYTHONPATH:-}" \
  "$st" run "http://127.0.0.1:$port/openapi.json" --wait-for-schema 60 --checks all --max-time "$seconds" \
  --workers 1 --request-timeout 60 --max-response-time 30 --continue-on-failure \
  --report junit --report-dir "$out/findings/api" 2>&1 | tee "$out/findings/api/schemathesis.log"
echo "server log: $out/findings/api/serve.log"
