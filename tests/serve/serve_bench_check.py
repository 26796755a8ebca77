"""Checks a `bench/serve_bench.mjs --json` report for serve_bench_test.sh, recomputing its figures
from the per-request ones with Python's statistics module (vLLM's definitions: TPOT = (E2E - TTFT)
/ (output tokens - 1), p99 as numpy.percentile's linear interpolation). Prints one line per
failed check and exits 1 if any.

    python3 serve_bench_check.py REPORT CONCURRENCY,.. NUM_PROMPTS INPUT_LEN OUTPUT_LEN USAGE [MIN_TTFT_MS MIN_GAP_MS]

USAGE is "usage" (every request counted from the server's usage) or "chunks" (none was). With a
server that waits MIN_TTFT_MS before a request's first token and MIN_GAP_MS before each next one,
each TTFT is at least MIN_TTFT_MS and the last token arrives at least MIN_TTFT_MS + (OUTPUT_LEN - 1)
x MIN_GAP_MS after the request was sent (a single gap can look shorter when a read is late).
"""
import json
import statistics
import sys

report = json.load(open(sys.argv[1]))
levels = [int(c) for c in sys.argv[2].split(",")]
num_prompts, input_len, output_len = (int(a) for a in sys.argv[3:6])
usage = sys.argv[6]
min_ttft, min_gap = (float(a) for a in sys.argv[7:9]) if len(sys.argv) > 7 else (0.0, 0.0)
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def close(a, b):
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def summary(xs):
    if not xs:
        return {"mean": 0, "median": 0, "p99": 0}
    p99 = xs[0] if len(xs) == 1 else statistics.quantiles(xs, n=100, method="inclusive")[98]
    return {"mean": statistics.fmean(xs), "median": statistics.median(xs), "p99": p99}


check([r["concurrency"] for r in report["results"]] == levels, f"levels {report['results']} != {levels}")
for r in report["results"]:
    c = r["concurrency"]
    reqs = r["requests"]
    check(r["num_prompts"] == num_prompts and r["completed"] == num_prompts and len(reqs) == num_prompts,
          f"c={c}: {r['completed']} of {r['num_prompts']} requests, {len(reqs)} listed; want {num_prompts}")
    check(r["total_output_tokens"] == num_prompts * output_len,
          f"c={c}: {r['total_output_tokens']} output tokens, want {num_prompts * output_len}")
    check(r["total_input_tokens"] == num_prompts * input_len,
          f"c={c}: {r['total_input_tokens']} input tokens, want {num_prompts * input_len}")
    want_usage = num_prompts if usage == "usage" else 0
    check(r["tokens_from_usage"] == want_usage, f"c={c}: {r['tokens_from_usage']} counted from usage, want {want_usage}")
    for q in reqs:
        check(q["output_tokens"] == output_len and q["prompt_tokens"] == input_len, f"c={c}: request tokens {q}")
        check(min_ttft <= q["ttft_ms"] <= q["e2el_ms"], f"c={c}: TTFT {q['ttft_ms']} not in [{min_ttft}, E2E {q['e2el_ms']}]")
        last = q["ttft_ms"] + sum(q["itl_ms"])
        check(last >= min_ttft + (output_len - 1) * min_gap, f"c={c}: the last token came at {last} ms: {q}")
        check(len(q["itl_ms"]) <= output_len - 1, f"c={c}: {len(q['itl_ms'])} ITL gaps for {output_len} tokens")
        check(last <= q["e2el_ms"] + 1e-9, f"c={c}: TTFT + ITL gaps > E2E: {q}")
    want = {
        "ttft_ms": summary([q["ttft_ms"] for q in reqs]),
        "e2el_ms": summary([q["e2el_ms"] for q in reqs]),
        "itl_ms": summary([g for q in reqs for g in q["itl_ms"]]),
        "tpot_ms": summary([(q["e2el_ms"] - q["ttft_ms"]) / (q["output_tokens"] - 1)
                            for q in reqs if q["output_tokens"] > 1]),
    }
    for key, stats in want.items():
        for stat, value in stats.items():
            check(close(r[key][stat], value), f"c={c}: {key}.{stat} {r[key][stat]} != {value}")
    dur = r["duration_s"]
    check(dur * 1000 >= max(q["e2el_ms"] for q in reqs), f"c={c}: duration {dur} s shorter than a request")
    check(close(r["request_throughput"], num_prompts / dur), f"c={c}: request_throughput")
    check(close(r["output_throughput"], num_prompts * output_len / dur), f"c={c}: output_throughput")
    check(close(r["total_token_throughput"], num_prompts * (input_len + output_len) / dur), f"c={c}: total_token_throughput")

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
