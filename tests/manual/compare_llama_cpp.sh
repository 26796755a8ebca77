#!/usr/bin/env bash
# compare_llama_cpp.sh: manual interoperability check of `moe` against llama.cpp on one GGUF file.
#
# Purpose: run the same GGUF (ideally one written by llama.cpp's own tools: llama-quantize or
# convert_hf_to_gguf.py) through llama.cpp and through moe, and compare
#   (i)   tokenizer ids     : llama-tokenize --ids          vs  moe run --json -n 0 (prompt_tokens)
#   (ii)  greedy generation : llama-completion --temp 0     vs  moe run --temp 0 --json
#   (iii) perplexity        : llama-perplexity -c CTX       vs  moe eval --perplexity --ctx CTX
# and print a small table. Not part of CI: it needs a llama.cpp build that you made yourself,
# outside this repository. This script never builds or downloads llama.cpp.
#
# Usage:
#   tests/manual/compare_llama_cpp.sh --llama-bin DIR --gguf FILE --text FILE
#       [--moe PATH] [--ctx N] [--threads N] [-n N] [--prompt TEXT]... [--llama-flags S] [--keep DIR]
#
#   --llama-bin DIR  llama.cpp's bin dir (needs llama-tokenize, llama-completion, llama-perplexity)
#   --moe PATH       the moe binary (default: build/moe)
#   --gguf FILE      the GGUF file to compare on
#   --text FILE      UTF-8 text for perplexity; needs at least 2*CTX tokens
#   --ctx N          perplexity window (default 128)
#   --threads N      threads for both engines (default 1)
#   -n N             greedy tokens to generate (default 16)
#   --prompt TEXT    a prompt (repeatable; default: a built-in set of five)
#   --keep DIR       keep raw outputs in DIR (default: a temporary dir, removed at exit)
#
#   --llama-flags S  extra flags for llama-completion and llama-perplexity (default:
#                    "-fa off -ctk f32 -ctv f32": f32 attention and KV cache, as moe computes; with
#                    llama.cpp's defaults, flash attention and an f16 KV cache, this tiny random model
#                    drifts visibly, see docs/INTEROP.md). The perplexity with llama.cpp's defaults
#                    is printed too, for information.
#   --ppl-tol X      relative perplexity tolerance (default 1e-4)
#
# Greedy: llama-completion prints text, not ids; gguf_pieces.py (beside this script) decodes
# moe's generated ids to the bytes llama.cpp prints for them and walks both, so a difference is
# reported at the first differing step with moe's token there.
# Perplexity: llama-perplexity's -f drops one trailing newline of the file, moe eval keeps it,
# so the two can count a different number of windows; the table also shows moe's running value
# after llama's number of windows (from moe's per-window log), which is the like-for-like figure.
# Needs: bash, python3 (standard library), jq, xxd.
# Exit code: 0 when every row agrees, 1 otherwise, 2 on usage errors.
set -euo pipefail

LLAMA_BIN="" MOE="build/moe" GGUF="" TEXT="" CTX=128 THREADS=1 NPRED=16 PPL_TOL=1e-4 KEEP=""
LLAMA_FLAGS="-fa off -ctk f32 -ctv f32"
HELPER="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/gguf_pieces.py"
PROMPTS=()
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --llama-bin) LLAMA_BIN="$2"; shift 2 ;;
    --moe) MOE="$2"; shift 2 ;;
    --gguf) GGUF="$2"; shift 2 ;;
    --text) TEXT="$2"; shift 2 ;;
    --ctx) CTX="$2"; shift 2 ;;
    --threads|-t) THREADS="$2"; shift 2 ;;
    -n) NPRED="$2"; shift 2 ;;
    --prompt|-p) PROMPTS+=("$2"); shift 2 ;;
    --ppl-tol) PPL_TOL="$2"; shift 2 ;;
    --keep) KEEP="$2"; shift 2 ;;
    --llama-flags) LLAMA_FLAGS="$2"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "unknown argument: $1" >&2; usage ;;
  esac
done
[[ -n "$LLAMA_BIN" && -n "$GGUF" && -n "$TEXT" ]] || usage
for t in llama-tokenize llama-completion llama-perplexity; do
  [[ -x "$LLAMA_BIN/$t" ]] || { echo "missing $LLAMA_BIN/$t" >&2; exit 2; }
done
[[ -x "$MOE" ]] || { echo "missing moe binary: $MOE" >&2; exit 2; }
[[ -f "$GGUF" ]] || { echo "missing GGUF: $GGUF" >&2; exit 2; }
[[ -f "$TEXT" ]] || { echo "missing text: $TEXT" >&2; exit 2; }
for c in jq xxd python3; do command -v "$c" >/dev/null || { echo "needs $c" >&2; exit 2; }; done
if [[ ${#PROMPTS[@]} -eq 0 ]]; then
  PROMPTS=("The quick brown fox" "Hello world" "Once upon a time, there was a" "1 + 1 = 2, and 3*7=21." "naïve café, über alles")
fi

if [[ -n "$KEEP" ]]; then W="$KEEP"; mkdir -p "$W"; else W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT; fi
FAIL=0

# llama.cpp's tools print their logs on stderr; the tokenize ids / generated text on stdout.
llama_ids() {  # prompt -> "[1, 2, 3]" normalised to "1 2 3"
  "$LLAMA_BIN/llama-tokenize" -m "$GGUF" -p "$1" --ids --log-disable 2>"$W/ltok.err" </dev/null \
    | tail -n 1 | tr -d '[],' | xargs
}
moe_ids() {
  "$MOE" run -m "$GGUF" -p "$1" -n 0 --json -t "$THREADS" 2>"$W/mtok.err" </dev/null \
    | jq -r '.prompt_tokens | map(tostring) | join(" ")'
}
# llama.cpp logs through a background thread and sometimes loses its last lines at exit; its
# stdout always ends with "\n\n" when complete, so retry (up to 5 times) until it does.
llama_gen() {  # prompt n -> generated text only
  local try out
  for try in 1 2 3 4 5; do
    # shellcheck disable=SC2086
    out="$("$LLAMA_BIN/llama-completion" -m "$GGUF" -p "$1" -n "$2" --temp 0 -no-cnv --no-display-prompt \
      -t "$THREADS" -c 512 --seed 1 --no-warmup $LLAMA_FLAGS 2>"$W/lgen.err" </dev/null | od -An -v -tx1 | tr -d ' \n')"
    [[ "$out" == *0a0a ]] && break
  done
  printf '%s' "$out" | xxd -r -p
}
moe_gen_json() {
  "$MOE" run -m "$GGUF" -p "$1" -n "$2" --temp 0 --json -t "$THREADS" 2>"$W/mgen.err" </dev/null
}

printf '%-34s | %-8s | %-8s | %s\n' "prompt" "tok ids" "greedy" "notes"
printf '%s\n' "-----------------------------------+----------+----------+---------------------------"
i=0
for p in "${PROMPTS[@]}"; do
  i=$((i + 1))
  li="$(llama_ids "$p" || true)"; mi="$(moe_ids "$p" || true)"
  echo "$li" >"$W/p$i.llama.ids"; echo "$mi" >"$W/p$i.moe.ids"
  if [[ -n "$li" && "$li" == "$mi" ]]; then tok="equal"; else tok="DIFFER"; FAIL=1; fi
  llama_gen "$p" "$NPRED" >"$W/p$i.llama.txt" || true
  moe_gen_json "$p" "$NPRED" >"$W/p$i.moe.json" || true
  res="$(python3 "$HELPER" "$GGUF" greedy "$W/p$i.llama.txt" "$W/p$i.moe.json")"
  if [[ "$res" == equal* ]]; then gen="equal"; note="${res#equal } tokens"; else gen="DIFFER"; FAIL=1; note="step ${res#differ }"; fi
  printf '%-34s | %-8s | %-8s | %s\n' "$(printf '%q' "$p" | cut -c1-34)" "$tok" "$gen" "$note"
  if [[ "$tok" != "equal" ]]; then
    printf '    llama ids: %s\n    moe ids:   %s\n' "$li" "$mi"
    [[ -n "$mi" ]] || tail -n 2 "$W/mtok.err" | sed 's/^/    moe: /'
  fi
done

# Perplexity: llama-perplexity's method (non-overlapping windows of CTX tokens, BOS first, score
# the second half). moe eval implements the same method.
run_llama_ppl() {  # out-prefix flags... -> prints final PPL and chunk count
  local pre="$1" try; shift
  for try in 1 2 3; do  # retried when the final log line was lost (see llama_gen)
    "$LLAMA_BIN/llama-perplexity" -m "$GGUF" -f "$TEXT" -c "$CTX" -b "$CTX" -t "$THREADS" --no-warmup "$@" \
      >"$pre.out" 2>"$pre.err" </dev/null || true
    grep -aq 'Final estimate' "$pre.out" "$pre.err" && break
  done
  local p c
  p="$(grep -aho 'Final estimate: PPL = [0-9.eE+-]*' "$pre.out" "$pre.err" | awk '{print $5}' | head -n 1)"
  c="$(grep -aho 'calculating perplexity over [0-9]* chunks' "$pre.out" "$pre.err" | awk '{print $4}' | head -n 1)"
  echo "${p:--} ${c:--}"
}
# shellcheck disable=SC2086
read -r lppl lchunks <<<"$(run_llama_ppl "$W/lppl" $LLAMA_FLAGS)"
[[ "$lppl" != "-" ]] || lppl=""; [[ "$lchunks" != "-" ]] || lchunks=""
read -r lppl_def _ <<<"$(run_llama_ppl "$W/lppl_def")"
[[ "$lppl_def" != "-" ]] || lppl_def=""
"$MOE" eval -m "$GGUF" --perplexity "$TEXT" --ctx "$CTX" -t "$THREADS" --json >"$W/mppl.json" 2>"$W/mppl.err" </dev/null || true
mppl="$(jq -r '.perplexity' "$W/mppl.json" 2>/dev/null || true)"
mscored="$(jq -r '.tokens_scored' "$W/mppl.json" 2>/dev/null || true)"
mwin="$(grep -ao '^\[[0-9]*/[0-9]*\]' "$W/mppl.err" | tail -n 1 | sed 's/.*\///; s/\]//')"
# moe's running perplexity after llama's number of windows (moe logs "[k/N] value" per window).
mppl_at="$(awk -v k="${lchunks:-0}" -F'[][/ ]+' '$2 == k { print $4 }' "$W/mppl.err" | head -n 1)"
echo
printf '%-12s | %-16s | %-16s | %-9s | %s\n' "perplexity" "llama.cpp" "moe" "rel diff" "notes"
printf '%s\n' "-------------+------------------+------------------+-----------+---------------------------"
rel() { awk -v a="$1" -v b="$2" 'BEGIN { d = (a - b) / b; if (d < 0) d = -d; printf "%.2e", d }'; }
if [[ -n "$lppl" && -n "$mppl" && "$mppl" != "null" ]]; then
  cmp_m="${mppl_at:-$mppl}"
  r="$(rel "$cmp_m" "$lppl")"
  ok="$(awk -v r="$r" -v t="$PPL_TOL" 'BEGIN { print (r <= t) ? "ok" : "DIFFER" }')"
  [[ "$ok" == "ok" ]] || FAIL=1
  printf '%-12s | %-16s | %-16s | %-9s | %s\n' "ctx $CTX" "$lppl" "$cmp_m" "$r" "$ok; both over ${lchunks:-?} windows (llama flags: ${LLAMA_FLAGS:-none})"
  printf '%-12s | %-16s | %-16s | %-9s | %s\n' "  moe final" "" "$mppl" "" "moe over ${mwin:-?} windows, ${mscored:-?} tokens scored"
  [[ -n "$lppl_def" ]] && printf '%-12s | %-16s | %-16s | %-9s | %s\n' "  llama dflt" "$lppl_def" "" "$(rel "$cmp_m" "$lppl_def")" "llama.cpp default flags (flash attn auto, f16 KV cache), information only"
else
  FAIL=1
  printf '%-12s | %-16s | %-16s | %-9s | %s\n' "ctx $CTX" "${lppl:-error}" "${mppl:-error}" "-" "see --keep DIR: lppl.err / mppl.err"
  [[ -n "$lppl" ]] || tail -n 3 "$W/lppl.err" | sed 's/^/    llama: /'
  [[ -n "$mppl" && "$mppl" != "null" ]] || tail -n 3 "$W/mppl.err" | sed 's/^/    moe:   /'
fi
echo
[[ $FAIL -eq 0 ]] && echo "RESULT: all agree" || echo "RESULT: disagreement (see rows above)"
exit $FAIL
