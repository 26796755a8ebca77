"""moe serve under load: 64 clients at once against 8 places in the batch and a queue of 64: every
request is answered, whole or streamed, with exactly max_tokens tokens (ignore_eos), and the
counters add up (64 successes, no failures, nothing left running or waiting)."""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_lib import Server, check, finish, init_model, read_events  # noqa: E402

moe, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
model = init_model(moe, work)
CLIENTS = 64

server = Server(moe, ["--model", model, "-t", "2", "--max-num-seqs", "8", "--max-queued", "64"])
results = [None] * CLIENTS


def client(i):
    body = {"prompt": f"Request number {i} says", "max_tokens": 3 + i % 5, "ignore_eos": True, "seed": i}
    if i % 2 == 1:
        body.update(stream=True, stream_options={"include_usage": True})
    try:
        if body.get("stream"):
            conn, resp = server.stream(body)
            events = read_events(resp)
            conn.close()
            usage = [e["usage"] for e in events if isinstance(e, dict) and e.get("usage")]
            results[i] = (resp.status, usage[-1]["completion_tokens"] if usage else None)
        else:
            status, answer = server.call("POST", "/v1/completions", body)
            results[i] = (status, answer["usage"]["completion_tokens"] if status == 200 else answer)
    except Exception as e:  # noqa: BLE001 - a lost client is what this test looks for
        results[i] = ("exception", repr(e))


threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for i, result in enumerate(results):
    check(result == (200, 3 + i % 5), f"client {i}: {result}, want (200, {3 + i % 5})")
values = server.metrics()
check(values.get("moe:request_success_total") == CLIENTS, f"successes: {values.get('moe:request_success_total')}")
check(values.get("moe:request_failed_total") == 0, f"failures: {values.get('moe:request_failed_total')}")
check(values.get("moe:num_requests_running") == 0 and values.get("moe:num_requests_waiting") == 0,
      "requests left running or waiting")
check(values.get("moe:generation_tokens_total") == sum(3 + i % 5 for i in range(CLIENTS)), "generated tokens")
check(server.stop() == 0, "exit code after SIGTERM")
finish()
