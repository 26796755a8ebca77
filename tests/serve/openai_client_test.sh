#!/usr/bin/env bash
# moe serve driven by the official `openai` npm client (openai@6.30.1, installed into the scratch
# directory at test time, never committed) as a user's code would: completions and chat
# completions whole and streamed with usage, the model list, and its typed errors for a bad model,
# an image part and a wrong key.
# Exit 77 (skipped) without node, npm or the npm registry.
source "$(dirname "$0")/../cli/lib.bash"

command -v node >/dev/null && command -v npm >/dev/null || { echo "SKIP: node or npm is not installed"; exit 77; }
echo '{"private": true}' >"$WORK/package.json"
if ! (cd "$WORK" && timeout 300 npm install --no-audit --no-fund --no-save --fetch-retries 1 \
      --fetch-timeout 30000 openai@6.30.1 >"$WORK/npm.log" 2>&1); then
  echo "SKIP: cannot install openai@6.30.1 from the npm registry: $(tail -n 3 "$WORK/npm.log" | tr '\n' ' ')"
  exit 77
fi
cp "$(dirname "$0")/openai_client.mjs" "$WORK/"

"$MOE" init --preset mixtral-tiny --out "$WORK/tiny" --seed 1 2>/dev/null || fail "init"
"$MOE" serve --model "$WORK/tiny" -t 2 --port 0 --api-key sk-test --served-model-name tiny 2>"$WORK/serve.log" &
server=$!
# The server prints its address once it accepts requests.
for _ in $(seq 600); do
  grep -q " on http://" "$WORK/serve.log" && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
url=$(grep -o "http://[0-9.]*:[0-9]*" "$WORK/serve.log" | head -n 1)
if [ -z "$url" ]; then
  fail "moe serve did not start: $(cat "$WORK/serve.log")"
else
  want=$("$MOE" run --model "$WORK/tiny" -p "The quick brown fox" -n 12 --temp 0 -t 2 2>/dev/null)
  (cd "$WORK" && BASE_URL="$url/v1" WANT="${want#The quick brown fox}" node openai_client.mjs) || fail "openai client checks"
fi
kill -TERM "$server"
wait "$server"
rc=$?
[ "$rc" -eq 0 ] || fail "moe serve exit code $rc after SIGTERM"
finish
