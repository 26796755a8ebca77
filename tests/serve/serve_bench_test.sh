#!/usr/bin/env bash
# bench/serve_bench.mjs, functionally (no speed asserted): against moe serve on a tiny model at
# concurrency 1 and 4 (every request counted, tokens from usage equal to prompts x lengths with
# ignore_eos, TTFT <= E2E, the summaries recomputed by serve_bench_check.py), against a stand-in
# server with known delays and no usage (fake_stream_server.py: tokens counted as chunks, the
# request fields it was sent, TTFT and last-token lower bounds, the same prompts for the same seed), and
# its one-line errors. Exit 77 (skipped) without node.
source "$(dirname "$0")/../cli/lib.bash"
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH="$HERE/../../bench/serve_bench.mjs"

command -v node >/dev/null || { echo "SKIP: node is not installed"; exit 77; }

# start_server LOG CMD...: runs CMD in the background ($server), waits for its URL in LOG ($url):
# the line that says it serves " on http://..." (moe serve prints its address earlier, while it
# loads, and answers 503 until then).
start_server() {
  local log=$1
  shift
  "$@" 2>"$log" >"$log.out" &
  server=$!
  url=""
  for _ in $(seq 600); do
    url=$(grep -h " on http://" "$log" 2>/dev/null | grep -o "http://[0-9.]*:[0-9]*" | head -n 1)
    [ -n "$url" ] && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  fail "server did not start: $(cat "$log")"
  return 1
}

"$MOE" init --preset mixtral-tiny --out "$WORK/tiny.gguf" --seed 1 2>/dev/null || fail "init"
if start_server "$WORK/serve.log" "$MOE" serve --model "$WORK/tiny.gguf" -t 2 --port 0 --api-key sk-bench \
    --served-model-name tiny; then
  node "$BENCH" --url "$url" --api-key sk-bench --concurrency 1,4 --input-len 16 --output-len 8 --num-prompts 6 \
    --seed 7 --json >"$WORK/moe.json" 2>"$WORK/moe.err" || fail "serve_bench against moe serve: $(cat "$WORK/moe.err")"
  python3 "$HERE/serve_bench_check.py" "$WORK/moe.json" 1,4 6 16 8 usage || fail "report against moe serve"
  grep -q '"model": "tiny"' "$WORK/moe.json" || fail "the model name was not taken from /v1/models"
  # The table: a header and one row per level.
  node "$BENCH" --url "$url" --api-key sk-bench --concurrency 2 --input-len 4 --output-len 2 >"$WORK/table.txt" 2>/dev/null ||
    fail "table run"
  grep -qE '^ +2 +8 ' "$WORK/table.txt" || fail "table row: $(cat "$WORK/table.txt")"

  expect_error "wrong key" "^serve_bench: error: HTTP 401 from http://.*/v1/models: " \
    node "$BENCH" --url "$url" --api-key wrong --concurrency 1
  expect_error "unknown model" "^serve_bench: error: HTTP 400 from http://.*/v1/completions: the model 'nope' does not exist" \
    node "$BENCH" --url "$url" --api-key sk-bench --model nope --concurrency 1 --input-len 4 --output-len 2
  # --vocab-range is honoured: ids past the tiny vocabulary (512) are refused by the server.
  expect_error "ids out of the vocabulary" "HTTP 400 .*token id 51[2-9] is outside the vocabulary" \
    node "$BENCH" --url "$url" --api-key sk-bench --vocab-range 512,519 --concurrency 1 --input-len 4 --output-len 2
  kill -TERM "$server"
  wait "$server"
  expect_error "server gone" "^serve_bench: error: cannot reach $url/v1/models: .*ECONNREFUSED" \
    node "$BENCH" --url "$url" --concurrency 1
fi

# A server with no usage and known delays: first chunk after 200 ms, then 50 ms apart.
if start_server "$WORK/fake.log" python3 "$HERE/fake_stream_server.py" "$WORK/bodies.jsonl"; then
  node "$BENCH" --url "$url" --concurrency 2 --input-len 8 --output-len 3 --num-prompts 4 --seed 5 \
    --vocab-range 100,109 --extra-body '{"cache_prompt": false}' --json >"$WORK/fake.json" 2>"$WORK/fake.err" ||
    fail "serve_bench against the stand-in: $(cat "$WORK/fake.err")"
  python3 "$HERE/serve_bench_check.py" "$WORK/fake.json" 2 4 8 3 chunks 200 50 || fail "report against the stand-in"
  python3 - "$WORK/bodies.jsonl" <<'EOF' || fail "request bodies"
import json, sys
bodies = [json.loads(line) for line in open(sys.argv[1])]
assert len(bodies) == 5, f"{len(bodies)} requests, want 1 warm-up + 4"
for b in bodies:
    want = {"model": "fake", "max_tokens": 3, "temperature": 0, "ignore_eos": True, "stream": True,
            "stream_options": {"include_usage": True}, "cache_prompt": False}
    assert {k: b.get(k) for k in want} == want, b
    assert len(b["prompt"]) == 8 and all(100 <= t <= 109 for t in b["prompt"]), b["prompt"]
prompts = [tuple(b["prompt"]) for b in bodies]
assert len(set(prompts)) == 5, f"a prompt sent twice: {prompts}"
EOF
  # The same seed gives the same prompts (the warm-up's first, then each level's), another seed others.
  mv "$WORK/bodies.jsonl" "$WORK/bodies.jsonl.first"
  node "$BENCH" --url "$url" --concurrency 1,2 --input-len 8 --output-len 1 --num-prompts 1 --seed 5 --warmup 0 \
    --vocab-range 100,109 --json >/dev/null 2>&1 || fail "seed rerun"
  node "$BENCH" --url "$url" --concurrency 1 --input-len 8 --output-len 1 --num-prompts 2 --seed 6 --warmup 0 \
    --vocab-range 100,109 --json >/dev/null 2>&1 || fail "other seed"
  python3 - "$WORK/bodies.jsonl" <<'EOF' || fail "prompts by seed"
import json, sys
ids = [json.loads(line)["prompt"] for line in open(sys.argv[1])]
assert len(ids) == 4, ids
first = [json.loads(line)["prompt"] for line in open(sys.argv[1] + ".first")]
# The first run sent the warm-up alone, then its next prompts two at a time (logged in either order).
assert ids[0] == first[0] and ids[1] in first[1:3], "seed 5 gave other prompts"
assert ids[0] != ids[1], "both levels got the same prompt"
assert ids[0:2] != ids[2:4], "seed 6 gave seed 5's prompts"
EOF
  printf '{"prompt": [100, 101, 102, 103, 104, 105, 106, 107], "output_len": 2}\n\n{"prompt": [1, 2, 3, 4, 5, 6, 7, 8]}\n' \
    >"$WORK/dataset.jsonl"
  node "$BENCH" --url "$url" --dataset "$WORK/dataset.jsonl" --output-len 4 --concurrency 1 --num-prompts 3 --warmup 0 \
    --json >"$WORK/dataset.json" 2>&1 || fail "dataset run: $(cat "$WORK/dataset.json")"
  python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))['results'][0]
assert [q['output_tokens'] for q in r['requests']] == [2, 4, 2], r['requests']
assert r['total_input_tokens'] == 24, r
" "$WORK/dataset.json" || fail "dataset prompts"
  kill "$server"
  wait "$server" 2>/dev/null
fi

expect_error "no url" "^serve_bench: error: --url is required" node "$BENCH"
expect_error "bad concurrency" "^serve_bench: error: --concurrency must be a positive integer, got '0'" \
  node "$BENCH" --url http://127.0.0.1:1 --concurrency 1,0
expect_error "unknown flag" "^serve_bench: error: unknown option '--bogus'" node "$BENCH" --url http://127.0.0.1:1 --bogus
expect_error "dataset and input-len" "exclude each other" \
  node "$BENCH" --url http://127.0.0.1:1 --dataset x --input-len 3
expect_error "bad dataset line" "^serve_bench: error: --dataset .*dataset.bad:1: \"prompt\" must be" \
  bash -c "echo '{\"prompt\": 5}' >'$WORK/dataset.bad'; node '$BENCH' --url http://127.0.0.1:1 --dataset '$WORK/dataset.bad'"
finish
