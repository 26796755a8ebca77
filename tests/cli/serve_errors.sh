#!/usr/bin/env bash
# `moe serve` refuses bad options, a missing model, a chat template file it cannot read or parse, an
# address it cannot listen on and a parallel layout that does not fit the job with one error line
# and exit code 1 (tests/serve/ drives a running server).
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

"$MOE" init --preset mixtral-tiny --out "$WORK/tiny" --seed 1 2>/dev/null || fail "init"
expect_error "no model" "--model" "$MOE" serve
expect_error "missing model" "nowhere.*no such" "$MOE" serve --model "$WORK/nowhere" --port 0
expect_error "max-num-seqs" "--max-num-seqs.*\[1, 1024\].*0" "$MOE" serve --model "$WORK/tiny" --max-num-seqs 0
expect_error "max-num-tokens" "--max-num-tokens.*>= 1" "$MOE" serve --model "$WORK/tiny" --max-num-tokens 0
expect_error "max-queued" "--max-queued.*-1" "$MOE" serve --model "$WORK/tiny" --max-queued -1
expect_error "port" "--port.*70000" "$MOE" serve --model "$WORK/tiny" --port 70000
expect_error "threads" "-t: must be >= 0" "$MOE" serve --model "$WORK/tiny" -t -2
expect_error "kv-blocks" "--kv-blocks: must be >= 1, got 0" "$MOE" serve --model "$WORK/tiny" --kv-blocks 0 --port 0
# Known once the model is open: after the server's "loading" line.
PROGRESS="^moe serve: loading " expect_error "kv-cache-gib" "--kv-cache-gib: 1e-09 GiB holds no KV block" "$MOE" serve --model "$WORK/tiny" --kv-cache-gib 1e-9 --port 0
expect_error "both pool sizes" "--kv-blocks excludes --kv-cache-gib" "$MOE" serve --model "$WORK/tiny" --kv-blocks 4 --kv-cache-gib 1
expect_error "bad host" "--host 256.1.1.1 --port 0: cannot listen" "$MOE" serve --model "$WORK/tiny" --host 256.1.1.1 --port 0
expect_error "chat template file" "--chat-template .*nowhere.jinja: cannot open" \
  "$MOE" serve --model "$WORK/tiny" --port 0 --chat-template "$WORK/nowhere.jinja"
printf 'a\n{%% call f() %%}{%% endcall %%}' >"$WORK/bad.jinja"
expect_error "bad chat template" "--chat-template .*bad.jinja: chat template line 2: the tag 'call' is not supported" \
  "$MOE" serve --model "$WORK/tiny" --port 0 --chat-template "$WORK/bad.jinja"
expect_job_error "parallel layout" "tensor_parallel_size = 1 \* 4 = 4 does not divide the world size 2" \
  mpirun -np 2 "$MOE" serve --model "$WORK/tiny" --port 0 --tp 4
finish
