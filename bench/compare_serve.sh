#!/usr/bin/env bash
# moe serve against llama.cpp's llama-server on the same GGUF file with the same threads: each
# server is started in turn on a free loopback port, bench/serve_bench.mjs measures every shape
# (prompt tokens x output tokens) at every concurrency, the server is stopped, and a side-by-side
# markdown table is printed (output tok/s, TTFT p50, TPOT p50 of each, and moe / llama-server).
#
#   bench/compare_serve.sh MOE_BIN LLAMA_SERVER_BIN GGUF [--threads N] [--shapes 128x128,512x32,32x256]
#       [--concurrency 1,4,16,64] [--num-prompts N] [--out DIR] [--moe-args "..."] [--llama-args "..."]
#       [--body JSON]
#
# Both servers get the same requests (serve_bench's seeded random token-id prompts, temperature 0,
# ignore_eos, max_tokens = output length, streamed with usage) and run with prompt caching off:
#   moe serve --model GGUF -t N --port 0 --max-num-seqs C --max-queued C --no-prefix-cache
#             (C = the largest concurrency)
#   llama-server -m GGUF -t N -tb N --host 127.0.0.1 --port 0 -np C -c C*(I+O) -fa on
#             --no-cache-prompt --cache-reuse 0 --cache-ram 0 --no-warmup
#             (I+O = the largest prompt + output of the shapes, so that each of the C slots holds
#             one request; --no-cache-prompt makes the per-request cache_prompt default false,
#             --cache-ram 0 turns off its host-memory prompt cache; -fa on as compare_llama_bench.sh)
# moe's KV cache is f32, llama-server's f16 (its default). --moe-args / --llama-args add flags.
#
# llama-server runs its chat-output parser on /v1/completions text too, and that parser fails on
# invalid UTF-8: a random-weight model that emits a lone byte token (<0xC8> ...) gets its stream
# ended by an error event ("The model produced output that does not match the expected
# Content-only format"), which stops serve_bench. So for a SentencePiece GGUF (`moe info` says
# so; its byte tokens <0x00>..<0xFF> are ids 3..258) both servers' requests carry OpenAI's
# {"logit_bias": {"3": -100, ..., "258": -100}}: neither samples a byte token, and both generate
# the same greedy tokens up to rounding. --body JSON replaces that body ('{}' for none; other
# tokenizers get none by default).
# serve_bench's reports are kept as DIR/{moe,llama}-IxO.json (DIR: --out, default a temporary
# folder). Needs node (20+) and curl. Measure on a quiet machine: nothing here checks for load.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
die() { echo "compare_serve: error: $*" >&2; exit 1; }

[ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ] && usage 0
[ $# -ge 3 ] || die "usage: compare_serve.sh MOE_BIN LLAMA_SERVER_BIN GGUF [options] (see --help)"
MOE=$1 LLAMA=$2 GGUF=$3
shift 3
THREADS=$(nproc) SHAPES="128x128,512x32,32x256" CONC="1,4,16,64" NUM_PROMPTS="" OUT="" MOE_ARGS="" LLAMA_ARGS=""
BODY=auto
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || die "$1 needs a value"
  case "$1" in
    --threads) THREADS=$2 ;;
    --shapes) SHAPES=$2 ;;
    --concurrency) CONC=$2 ;;
    --num-prompts) NUM_PROMPTS=$2 ;;
    --out) OUT=$2 ;;
    --moe-args) MOE_ARGS=$2 ;;
    --llama-args) LLAMA_ARGS=$2 ;;
    --body) BODY=$2 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift 2
done
[ -x "$MOE" ] || die "MOE_BIN '$MOE' is not an executable"
[ -x "$LLAMA" ] || die "LLAMA_SERVER_BIN '$LLAMA' is not an executable"
[ -f "$GGUF" ] || die "GGUF '$GGUF' is not a file"
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "--threads must be a positive integer, got '$THREADS'"
[[ "$SHAPES" =~ ^[1-9][0-9]*x[1-9][0-9]*(,[1-9][0-9]*x[1-9][0-9]*)*$ ]] || die "--shapes must be IxO,IxO..., got '$SHAPES'"
[[ "$CONC" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--concurrency must be N,N..., got '$CONC'"
[ -z "$NUM_PROMPTS" ] || [[ "$NUM_PROMPTS" =~ ^[1-9][0-9]*$ ]] || die "--num-prompts must be a positive integer"
command -v node >/dev/null || die "node is not installed"
command -v curl >/dev/null || die "curl is not installed"

if [ "$BODY" = auto ]; then
  BODY='{}'
  info=$("$MOE" info --model "$GGUF")
  if grep -q "SentencePiece tokenizer" <<<"$info"; then
    BODY=$(node -e 'console.log(JSON.stringify({logit_bias: Object.fromEntries(Array.from({length: 256}, (_, i) => [String(3 + i), -100]))}))')
  fi
fi

BENCH="$(cd "$(dirname "$0")" && pwd)/serve_bench.mjs"
OUT=${OUT:-$(mktemp -d /tmp/compare_serve.XXXXXX)}
mkdir -p "$OUT"
MAX_C=$(tr , '\n' <<<"$CONC" | sort -n | tail -n 1)
MAX_IO=$(tr , '\n' <<<"$SHAPES" | awk -Fx '{ if ($1 + $2 > m) m = $1 + $2 } END { print m }')

server=""
stop_server() {
  [ -n "$server" ] || return 0
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=""
}
trap stop_server EXIT

# start NAME CMD...: runs the server, waits for the URL it prints and a 200 from /health; sets $url.
start() {
  local name=$1 log="$OUT/$1.log"
  shift
  echo "compare_serve: starting $name: $*" >&2
  "$@" >"$log" 2>&1 &
  server=$!
  url=""
  for _ in $(seq 1200); do
    kill -0 "$server" 2>/dev/null || die "$name exited: $(tail -n 3 "$log" | tr '\n' ' ')"
    [ -n "$url" ] || url=$(grep -ho "http://127\.0\.0\.1:[0-9]*" "$log" 2>/dev/null | head -n 1 || true)
    [ -n "$url" ] && curl -sf "$url/health" >/dev/null && return 0
    sleep 0.1
  done
  die "$name did not answer on /health within 120 s (log: $log)"
}

# bench NAME BODY: serve_bench for every shape against the running server, BODY merged into each request.
bench() {
  local shape
  for shape in ${SHAPES//,/ }; do
    echo "compare_serve: $1 ${shape/x/ in, } out at concurrency $CONC" >&2
    node "$BENCH" --url "$url" --input-len "${shape%x*}" --output-len "${shape#*x}" --concurrency "$CONC" \
      ${NUM_PROMPTS:+--num-prompts "$NUM_PROMPTS"} --extra-body "$2" --json >"$OUT/$1-$shape.json"
  done
}

# shellcheck disable=SC2086 # the extra args are split on purpose
start moe "$MOE" serve --model "$GGUF" -t "$THREADS" --host 127.0.0.1 --port 0 --max-num-seqs "$MAX_C" \
  --max-queued "$MAX_C" --no-prefix-cache $MOE_ARGS
bench moe "$BODY"
stop_server
# shellcheck disable=SC2086
start llama "$LLAMA" -m "$GGUF" -t "$THREADS" -tb "$THREADS" --host 127.0.0.1 --port 0 -np "$MAX_C" \
  -c $((MAX_C * MAX_IO)) -fa on --no-cache-prompt --cache-reuse 0 --cache-ram 0 --no-warmup $LLAMA_ARGS
bench llama "$BODY"
stop_server

echo "$GGUF, -t $THREADS, reports in $OUT"
node - "$OUT" "$SHAPES" <<'EOF'
const fs = require("fs");
const [dir, shapes] = process.argv.slice(2);
const fmt = (v) => v.toFixed(2);
const notes = [];
console.log("| shape (in x out) | conc | moe out tok/s | llama out tok/s | ratio | moe TTFT p50 ms | llama TTFT p50 ms | ratio | moe TPOT p50 ms | llama TPOT p50 ms | ratio |");
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const shape of shapes.split(",")) {
  const [moe, llama] = ["moe", "llama"].map((s) => JSON.parse(fs.readFileSync(`${dir}/${s}-${shape}.json`, "utf8")).results);
  moe.forEach((m, i) => {
    const l = llama[i];
    const cells = [[m.output_throughput, l.output_throughput], [m.ttft_ms.median, l.ttft_ms.median], [m.tpot_ms.median, l.tpot_ms.median]]
      .flatMap(([a, b]) => [fmt(a), fmt(b), b > 0 ? fmt(a / b) : "-"]);
    console.log(`| ${shape} | ${m.concurrency} | ${cells.join(" | ")} |`);
    const want = m.num_prompts * Number(shape.split("x")[1]);
    for (const [name, r] of [["moe", m], ["llama-server", l]])
      if (r.total_output_tokens !== want) notes.push(`${name} ${shape} c=${r.concurrency}: ${r.total_output_tokens} output tokens, not ${want}`);
  });
}
for (const note of notes) console.log(`warning: ${note}`);
EOF
