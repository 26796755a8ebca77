"""moe serve's figures: /metrics' latency histograms count every request and token, the expert
statistics of /v1/moe/stats count every routed token (prompt tokens plus generated ones but the
last, times top-k, per layer) and load in `moe stats`, and --shutdown-timeout fails a request still
running when it passes while the server exits 0."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_lib import Server, check, finish, init_model, read_events  # noqa: E402

moe, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
model = init_model(moe, work)  # mixtral-tiny: 4 layers, 8 experts, top-2
TOP_K, LAYERS = 2, 4

server = Server(moe, ["--model", model, "-t", "2", "--shutdown-timeout", "1"])
status, body = server.call("GET", "/health")
check(status == 200 and body == {"status": "ok"}, f"/health once serving: {status} {body}")
requests = [{"prompt": "Once upon a time", "max_tokens": 6, "ignore_eos": True},
            {"prompt": [1, 17, 33, 250, 7], "max_tokens": 9, "ignore_eos": True},
            {"prompt": "Hi", "max_tokens": 1, "ignore_eos": True}]
routed = 0
for request in requests:
    status, body = server.call("POST", "/v1/completions", request)
    usage = body["usage"]
    routed += usage["prompt_tokens"] + usage["completion_tokens"] - 1
n_generated = sum(r["max_tokens"] for r in requests)

values = server.metrics()
for name, want in (("moe:time_to_first_token_seconds_count", len(requests)),
                   ("moe:e2e_request_latency_seconds_count", len(requests)),
                   ("moe:request_queue_time_seconds_count", len(requests)),
                   ("moe:inter_token_latency_seconds_count", n_generated - len(requests))):
    check(values.get(name) == want, f"{name} = {values.get(name)}, want {want}")
check(values.get("moe:time_to_first_token_seconds_sum", 0) > 0, "TTFT sum is 0")
check(values.get("moe:e2e_request_latency_seconds_sum", 0) >= values.get("moe:time_to_first_token_seconds_sum", 1),
      "e2e latency below TTFT")
# Buckets are cumulative: the +Inf bucket holds every observation.
conn = server.connect()
conn.request("GET", "/metrics")
text = conn.getresponse().read().decode()
inf = [line for line in text.splitlines() if line.startswith("moe:time_to_first_token_seconds_bucket") and 'le="+Inf"' in line]
check(len(inf) == 1 and inf[0].endswith(f" {len(requests)}"), f"TTFT +Inf bucket: {inf}")
check("moe:expert_load_max_mean_ratio{" in text and "moe:eplb_replans_total{" in text, "engine figures missing")
check(values.get("moe:eplb_replans_total") == 0, "one process has no online EPLB")

status, stats = server.call("GET", "/v1/moe/stats")
check(status == 200 and stats["format"] == "moe.cpp expert statistics v1", f"/v1/moe/stats: {status}")
for layer in range(LAYERS):
    total = sum(stats["expert_tokens"][layer])
    check(total == routed * TOP_K, f"layer {layer}: {total} routed tokens, want {routed} x {TOP_K}")
path = os.path.join(work, "live_stats.json")
with open(path, "w") as f:
    json.dump(stats, f)
shown = subprocess.run([moe, "stats", path], capture_output=True, text=True)
check(shown.returncode == 0, f"moe stats on /v1/moe/stats' JSON: {shown.stderr}")

# --shutdown-timeout 1: a request that would run for minutes fails, the server exits 0.
conn, resp = server.stream({"prompt": "a", "max_tokens": 3500, "ignore_eos": True, "stream": True})
server.wait_for_metrics(lambda m: m["moe:num_requests_running"] == 1)
start = time.monotonic()
code = server.stop()
elapsed = time.monotonic() - start
events = read_events(resp)
check(code == 0, f"exit code {code} after the shutdown timeout")
check(elapsed < 20, f"stopping took {elapsed:.1f} s with --shutdown-timeout 1")
check(any(isinstance(e, dict) and "error" in e for e in events),
      f"the abandoned stream carries no error: {events[-3:]}")
finish()
