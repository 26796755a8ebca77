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
#       [--moe PATH] [--ctx N] [--threads N] [-n N] [--prompt TEXT]...
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
# Greedy comparison: llama.cpp prints text, not token ids, so the generated *text* is compared.
# When the texts differ, both engines are re-run with -n 1..N to find the first step whose
# text differs, and that step's pieces are printed.
# Exit code: 0 when every row agrees (perplexity within --ppl-tol, default 1e-3 relative), 1 otherwise,
# 2 on usage errors.
set -euo pipefail

LLAMA_BIN="" MOE="build/moe" GGUF="" TEXT="" CTX=128 THREADS=1 NPRED=16 PPL_TOL=1e-3 KEEP=""
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
command -v jq >/dev/null || { echo "needs jq" >&2; exit 2; }
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
llama_gen() {  # prompt n -> generated text only
  "$LLAMA_BIN/llama-completion" -m "$GGUF" -p "$1" -n "$2" --temp 0 -no-cnv --no-display-prompt \
    -t "$THREADS" -c 512 --seed 1 --no-warmup 2>"$W/lgen.err" </dev/null
}
moe_gen_json() {
  "$MOE" run -m "$GGUF" -p "$1" -n "$2" --temp 0 --json -t "$THREADS" 2>"$W/mgen.err" </dev/null
}

printf '%-34s | %-10s | %-10s | %s\n' "prompt" "tok ids" "greedy" "notes"
printf '%s\n' "-----------------------------------+------------+------------+---------------------------"
i=0
for p in "${PROMPTS[@]}"; do
  i=$((i + 1))
  li="$(llama_ids "$p" || true)"; mi="$(moe_ids "$p" || true)"
  echo "$li" >"$W/p$i.llama.ids"; echo "$mi" >"$W/p$i.moe.ids"
  if [[ "$li" == "$mi" ]]; then tok="equal"; else tok="DIFFER"; FAIL=1; fi
  llama_gen "$p" "$NPRED" >"$W/p$i.llama.txt" || true
  moe_gen_json "$p" "$NPRED" >"$W/p$i.moe.json" || true
  jq -j '.text' "$W/p$i.moe.json" >"$W/p$i.moe.txt" 2>/dev/null || true
  ntok="$(jq '.tokens | length' "$W/p$i.moe.json" 2>/dev/null || echo '?')"
  note="moe ${ntok} tokens: $(jq -c '.tokens' "$W/p$i.moe.json" 2>/dev/null | cut -c1-60)"
  if cmp -s "$W/p$i.llama.txt" "$W/p$i.moe.txt"; then
    gen="equal"
  else
    gen="DIFFER"; FAIL=1
    # Find the first step whose text differs.
    prev_l="" prev_m=""
    for k in $(seq 1 "$NPRED"); do
      lk="$(llama_gen "$p" "$k"; echo x)"; lk="${lk%x}"
      mk="$(moe_gen_json "$p" "$k" | jq -j '.text'; echo x)"; mk="${mk%x}"
      if [[ "$lk" != "$mk" ]]; then
        mid="$(moe_gen_json "$p" "$k" | jq -r '.tokens[-1]' || true)"
        note="first diff at step $k: llama piece $(jq -Rn --arg s "${lk#"$prev_l"}" '$s'), moe piece $(jq -Rn --arg s "${mk#"$prev_m"}" '$s') (moe id $mid)"
        break
      fi
      prev_l="$lk" prev_m="$mk"
    done
  fi
  printf '%-34s | %-10s | %-10s | %s\n' "$(printf '%q' "$p" | cut -c1-34)" "$tok" "$gen" "$note"
  if [[ "$tok" != "equal" ]]; then
    printf '    llama ids: %s\n    moe ids:   %s\n' "$li" "$mi"
  fi
  if [[ "$gen" != "equal" ]]; then
    printf '    llama text: %s\n    moe text:   %s\n' "$(jq -Rs . <"$W/p$i.llama.txt")" "$(jq -Rs . <"$W/p$i.moe.txt")"
  fi
done

# Perplexity: llama-perplexity's method (non-overlapping windows of CTX tokens, BOS first, score
# the second half). moe eval implements the same method.
"$LLAMA_BIN/llama-perplexity" -m "$GGUF" -f "$TEXT" -c "$CTX" -b "$CTX" -t "$THREADS" --no-warmup \
  >"$W/lppl.out" 2>"$W/lppl.err" </dev/null || true
lppl="$(grep -ho 'Final estimate: PPL = [0-9.eE+-]*' "$W/lppl.out" "$W/lppl.err" | awk '{print $5}' | head -n 1)"
lchunks="$(grep -ho 'calculating perplexity over [0-9]* chunks' "$W/lppl.err" "$W/lppl.out" | awk '{print $4}' | head -n 1)"
"$MOE" eval -m "$GGUF" --perplexity "$TEXT" --ctx "$CTX" -t "$THREADS" --json >"$W/mppl.json" 2>"$W/mppl.err" </dev/null || true
mppl="$(jq -r '.perplexity' "$W/mppl.json" 2>/dev/null || true)"
mscored="$(jq -r '.tokens_scored' "$W/mppl.json" 2>/dev/null || true)"
echo
printf '%-12s | %-14s | %-14s | %-12s | %s\n' "perplexity" "llama.cpp" "moe" "rel. diff" "notes"
printf '%s\n' "-------------+----------------+----------------+--------------+---------------------------"
if [[ -n "$lppl" && -n "$mppl" && "$mppl" != "null" ]]; then
  rel="$(awk -v a="$mppl" -v b="$lppl" 'BEGIN { d = (a - b) / b; if (d < 0) d = -d; printf "%.3e", d }')"
  ok="$(awk -v r="$rel" -v t="$PPL_TOL" 'BEGIN { print (r <= t) ? "ok" : "DIFFER" }')"
  [[ "$ok" == "ok" ]] || FAIL=1
  printf '%-12s | %-14s | %-14s | %-12s | %s\n' "ctx $CTX" "$lppl" "$mppl" "$rel" "$ok; llama chunks ${lchunks:-?}, moe tokens scored ${mscored:-?}"
else
  FAIL=1
  printf '%-12s | %-14s | %-14s | %-12s | %s\n' "ctx $CTX" "${lppl:-error}" "${mppl:-error}" "-" \
    "see $( [[ -n "$KEEP" ]] && echo "$W" || echo '--keep DIR') lppl.err / mppl.err"
  [[ -z "$lppl" ]] && tail -n 3 "$W/lppl.err" | sed 's/^/    llama: /'
  [[ -z "$mppl" || "$mppl" == "null" ]] && tail -n 3 "$W/mppl.err" | sed 's/^/    moe:   /'
fi
echo
[[ $FAIL -eq 0 ]] && echo "RESULT: all agree" || echo "RESULT: disagreement (see rows above)"
exit $FAIL
