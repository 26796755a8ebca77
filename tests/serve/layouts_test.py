"""moe serve under mpirun (2 ranks) in the layouts of the parallel-inference issue: the same
requests, sent concurrently, give the texts of one process, greedy and seeded, whole and streamed,
and the same routed-token statistics in /v1/moe/stats;
with Wide-EP slots the online balancer moves layers on the served traffic; SIGTERM to rank 0
drains and the whole job exits 0; a rank killed with SIGKILL ends the job within 10 s."""
import os
import signal
import subprocess
import sys
import time
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_lib import Server, check, finish, init_model, read_events  # noqa: E402

moe, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
model = init_model(moe, work)
os.environ.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
MPIRUN = ["mpirun", "-np", "2", "--oversubscribe"]

PROMPTS = ["Once upon a time", "The quick brown fox", "In the beginning", "Hello", "A long time ago in a galaxy",
           "1 2 3 4 5 6 7 8"]
REQUESTS = [{"prompt": p, "max_tokens": 14, "temperature": 0} for p in PROMPTS] + \
           [{"prompt": p, "max_tokens": 14, "temperature": 0.9, "top_p": 0.9, "seed": 7 + i}
            for i, p in enumerate(PROMPTS[:3])] + \
           [{"prompt": PROMPTS[0], "max_tokens": 14, "temperature": 0.7, "seed": 3, "logprobs": 3, "min_p": 0.02,
             "frequency_penalty": 0.8, "presence_penalty": 0.3, "repetition_penalty": 1.2, "logit_bias": {"5": 4.0},
             "n": 2}]


def texts(server):
    """Every request's text, all sent at once (one thread each), then one streamed."""
    out = [None] * len(REQUESTS)

    def send(i):
        status, body = server.call("POST", "/v1/completions", REQUESTS[i])
        # The text, or with logprobs or n > 1 every choice: they travel between ranks too.
        choices = body["choices"] if status == 200 else None
        out[i] = (choices[0]["text"] if len(choices) == 1 and choices[0]["logprobs"] is None else choices) \
            if choices else f"HTTP {status}: {body}"

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(REQUESTS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conn, resp = server.stream({**REQUESTS[0], "stream": True})  # one more result: the streamed text
    out.append("".join(e["choices"][0]["text"] for e in read_events(resp) if isinstance(e, dict) and e["choices"]))
    conn.close()
    return out


def same(got, want):
    """Texts and tokens equal; log-probabilities within 5e-4 (TP and EP sum partial products in other orders)."""
    if isinstance(want, str) or isinstance(got, str):
        return got == want
    for g, w in zip(got, want):
        lg, lw = g["logprobs"], w["logprobs"]
        if {**g, "logprobs": None} != {**w, "logprobs": None} or lg["tokens"] != lw["tokens"] or \
                lg["text_offset"] != lw["text_offset"]:
            return False
        pairs = list(zip(lg["token_logprobs"], lw["token_logprobs"]))
        for tg, tw in zip(lg["top_logprobs"], lw["top_logprobs"]):
            if sorted(tg) != sorted(tw):
                return False
            pairs += [(tg[k], tw[k]) for k in tw]
        if any(abs(a - b) > 5e-4 for a, b in pairs):
            return False
    return len(got) == len(want)


single = Server(moe, ["--model", model, "-t", "1"])
want = texts(single)
want_tokens = single.call("GET", "/v1/moe/stats")[1]["expert_tokens"]
check(single.stop() == 0, "single process: exit code not 0")
check(want[-1] == want[0], f"streamed {want[-1]!r} != whole {want[0]!r}")

LAYOUTS = {
    "EP 2": ["--tp", "2", "--moe-ep", "2"],
    "TP 2": ["--tp", "2", "--moe-tp", "2"],
    "attention DP 2 + EP 2": ["--tp", "2", "--moe-ep", "2", "--enable-attention-dp"],
    "attention DP 2 + EP 2, 2 KV blocks per rank": ["--tp", "2", "--moe-ep", "2", "--enable-attention-dp",
                                                    "--kv-blocks", "2"],
    "PP 2": ["--pp", "2"],
    "DP 2": ["--dp", "2"],
    "Wide-EP 12 slots, online EPLB": ["--tp", "2", "--moe-ep", "2", "--enable-attention-dp", "--config",
                                      os.path.join(work, "online.yaml"), "--profile"],
}
with open(os.path.join(work, "online.yaml"), "w") as f:
    f.write("moe_load_balancer:\n  num_slots: 12\n  update_interval: 2\n  window_size: 4\n")
for name, flags in LAYOUTS.items():
    server = Server(moe, ["--model", model, "-t", "1", *flags], launcher=MPIRUN)
    check("2 ranks" in "".join(server.log), f"{name}: the serving line does not say 2 ranks")
    got = texts(server)
    for i, (g, w) in enumerate(zip(got, want)):
        check(same(g, w), f"{name}: request {i}: {g!r} != one process's {w!r}")
    status, stats = server.call("GET", "/v1/moe/stats")
    check(status == 200 and stats["expert_tokens"] == want_tokens,
          f"{name}: /v1/moe/stats routed tokens differ from one process's: {status}")
    values = server.metrics()
    if "--kv-blocks" in flags:  # both slots' pools, counted once each
        check(values.get("moe:kv_cache_blocks") == 4 and values.get("moe:kv_cache_blocks_used") == 0,
              f"{name}: KV blocks {values.get('moe:kv_cache_blocks')}, used {values.get('moe:kv_cache_blocks_used')}")
    if "--profile" in flags:
        check(values.get("moe:eplb_replans_total", 0) > 0 and values.get("moe:eplb_layer_moves_total", 0) > 0,
              f"{name}: online EPLB counters: {values.get('moe:eplb_replans_total')} re-plans, "
              f"{values.get('moe:eplb_layer_moves_total')} layer moves")
    code = server.stop()
    check(code == 0, f"{name}: job exit code {code} after SIGTERM to rank 0: {''.join(server.log)}")
    if "--profile" in flags:
        server.drain.join(timeout=30)
        moves = [line for line in server.log if line.startswith("online EPLB rank 0:")]
        check(moves and not moves[0].startswith("online EPLB rank 0: 0 layer moves"),
              f"{name}: no layer moves on served traffic: {''.join(server.log)}")
    print(f"{name}: {len(got)} results equal one process's", flush=True)
# A rank that dies ends the job within 10 s (mpirun notices and ends the others), its client
# getting an error or a cut connection rather than a hang.
server = Server(moe, ["--model", model, "-t", "1", "--tp", "2", "--moe-ep", "2"], launcher=MPIRUN)
children = subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True).stdout.split()
followers = [int(pid) for pid in children if int(pid) != server.pid]
conn, resp = server.stream({"prompt": "a", "max_tokens": 3000, "ignore_eos": True, "stream": True})
check(len(followers) == 1, f"rank 1's pid among mpirun's children {children}")
if followers:
    start = time.monotonic()
    os.kill(followers[0], signal.SIGKILL)
    try:
        code = server.proc.wait(timeout=10)
        check(code != 0, f"the job's exit code after rank 1 was killed: {code}")
    except subprocess.TimeoutExpired:
        check(False, "the job still runs 10 s after rank 1 was killed")
        server.proc.kill()
    print(f"rank 1 killed: the job ended after {time.monotonic() - start:.1f} s", flush=True)
conn.close()
finish()
