"""moe serve's paged KV cache over HTTP: a long system prompt sent twice is prefilled once
(moe:prefix_cache_hits_total rises by its full blocks) and gives the text of a server without the
prefix cache; a request that could never fit the pool gets 400; a pool of 4 blocks serves 12
concurrent requests that each need 2 blocks, none lost, each with the text it has alone (requests
are preempted and recomputed: moe:num_preemptions_total), and gives every block back.
Usage: kv_cache_test.py MOE_BINARY SCRATCH_DIR"""
import os
import shutil
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_lib import Server, check, finish, init_model, is_error_object  # noqa: E402

moe, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
model = init_model(moe, work)

# A system prompt of 150 tokens (two full blocks of 64 and a part), then a question.
SYSTEM = list(range(3, 153))


def completion(server, prompt, **fields):
    status, body = server.call("POST", "/v1/completions", {"prompt": prompt, "max_tokens": 8, "temperature": 0,
                                                           "ignore_eos": True, **fields})
    check(status == 200, f"completion status {status}: {body}")
    return body["choices"][0]["text"] if status == 200 else None


plain = Server(moe, ["--model", model, "-t", "2", "--kv-blocks", "8", "--no-prefix-cache"])
want = completion(plain, SYSTEM + [300, 301])
m = plain.metrics()
check(m["moe:prefix_cache_queries_total"] == 0 and m["moe:prefix_cache_hits_total"] == 0,
      f"--no-prefix-cache looks nothing up: {m}")
check(plain.stop() == 0, "the server without prefix cache exits 0")

server = Server(moe, ["--model", model, "-t", "2", "--kv-blocks", "4", "--max-num-seqs", "8"])
m = server.metrics()
check(m["moe:kv_cache_blocks"] == 4 and m["moe:kv_cache_blocks_used"] == 0 and m["moe:kv_cache_usage_perc"] == 0,
      f"an idle pool of 4 blocks: {m}")
completion(server, SYSTEM + [200, 201, 202])
before = server.metrics()["moe:prefix_cache_hits_total"]
check(completion(server, SYSTEM + [300, 301]) == want, "a cached system prompt gives the uncached text")
m = server.metrics()
check(m["moe:prefix_cache_hits_total"] == before + 128, f"the second request reuses two blocks: {before} -> {m}")
check(m["moe:prefix_cache_queries_total"] == 153 + 152, f"queries count the prompts' tokens: {m}")

# 4 blocks of 64 positions: 256 at most.
status, body = server.call("POST", "/v1/completions", {"prompt": SYSTEM, "max_tokens": 107})
check(status == 400 and is_error_object(body, 400) and body["error"]["code"] == "context_length_exceeded"
      and body["error"]["param"] == "max_tokens", f"a request over the pool: {status} {body}")

# Three prompts of 60 tokens, 40 tokens each (100 positions: 2 blocks), sampled with a seed.
prompts = [[(i * 7 + salt) % 500 + 1 for i in range(60)] for salt in range(3)]
fields = {"max_tokens": 40, "temperature": 1, "seed": 5}
alone = [completion(server, p, **fields) for p in prompts]
results = [None] * 12


def client(k):
    results[k] = completion(server, prompts[k % 3], **fields)


threads = [threading.Thread(target=client, args=(k,)) for k in range(12)]
for t in threads:
    t.start()
for t in threads:
    t.join()
check(results == [alone[k % 3] for k in range(12)], "12 concurrent requests give the texts they have alone")
m = server.wait_for_metrics(lambda v: v["moe:num_requests_running"] == 0)
check(m is not None and m["moe:kv_cache_blocks_used"] == 0, f"every block given back: {m}")
check(m is not None and m["moe:num_preemptions_total"] > 0, f"the pool was short and requests preempted: {m}")
check(m is not None and m["moe:request_success_total"] == 17, f"every request finished: {m}")
check(server.stop() == 0, "the server exits 0")
finish()
