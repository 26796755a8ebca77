"""moe serve's sampling fields over HTTP: n choices (indices, usage, choice i == the n = 1 request
with seed + i, streamed chunks of one choice each, one finish_reason per index), logprobs (the chosen
token in its top_logprobs, greedy = the top, offsets, streamed == whole), logit_bias, min_p = 1 and
top_k = 1 as greedy, penalties, echo, max_completion_tokens, and a request with every field giving
the same texts alone and amid concurrent others.
Usage: sampling_test.py MOE_BINARY SCRATCH_DIR"""
import math
import os
import shutil
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_lib import Server, check, finish, init_model, is_error_object, read_events  # noqa: E402

moe, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
model = init_model(moe, work)
server = Server(moe, ["--model", model, "-t", "2", "--max-num-seqs", "4", "--max-num-tokens", "64"])


def complete(body):
    status, got = server.call("POST", "/v1/completions", body)
    check(status == 200, f"status {status} for {body}: {got}")
    return got


def stream(body):
    """The choice chunks (no usage chunk), the usage chunk or None, and whether [DONE] ended it."""
    conn, resp = server.stream({**body, "stream": True, "stream_options": {"include_usage": True}})
    events = read_events(resp)
    conn.close()
    chunks = [e for e in events if e != "[DONE]"]
    usage = [c for c in chunks if not c["choices"]]
    return [c for c in chunks if c["choices"]], usage[0]["usage"] if usage else None, events[-1:] == ["[DONE]"]


def texts(response):
    return [c["text"] for c in sorted(response["choices"], key=lambda c: c["index"])]


# n choices: indices 0..n-1, the prompt counted once, choice i == the n = 1 request with seed + i.
sampled = {"prompt": "Once upon a time", "max_tokens": 12, "temperature": 0.9, "seed": 77, "ignore_eos": True}
three = complete({**sampled, "n": 3})
check([c["index"] for c in three["choices"]] == [0, 1, 2], f"indices: {three['choices']}")
singles = [complete({**sampled, "seed": 77 + i}) for i in range(3)]
check(texts(three) == [texts(s)[0] for s in singles], f"n = 3 {texts(three)} != seeds 77..79 one by one")
check(len(set(texts(three))) > 1, f"three sampled choices differ: {texts(three)}")
usage = three["usage"]
check(usage["prompt_tokens"] == singles[0]["usage"]["prompt_tokens"] and usage["completion_tokens"] == 36 and
      usage["total_tokens"] == usage["prompt_tokens"] + 36, f"usage of n = 3: {usage}")
check(complete({**sampled, "n": 2, "best_of": 2})["choices"][1]["text"] == texts(three)[1], "best_of == n")

# Streamed n = 3: every index's chunks join to its whole text; finish_reason once per index.
chunks, stream_usage, done = stream({**sampled, "n": 3})
check(done and stream_usage == usage, f"stream usage {stream_usage} != {usage}, [DONE] {done}")
check(all(len(c["choices"]) == 1 for c in chunks), "one choice per chunk")
by_index = {}
finishes = {}
for c in chunks:
    choice = c["choices"][0]
    by_index[choice["index"]] = by_index.get(choice["index"], "") + choice["text"]
    if choice["finish_reason"]:
        finishes[choice["index"]] = finishes.get(choice["index"], []) + [choice["finish_reason"]]
check([by_index.get(i) for i in range(3)] == texts(three), f"streamed n = 3 {by_index} != {texts(three)}")
check(finishes == {0: ["length"], 1: ["length"], 2: ["length"]}, f"finish_reason once per index: {finishes}")

# logprobs: the chosen token's logprob is in its top_logprobs; greedy picks the top one.
greedy = {"prompt": "The quick brown fox", "max_tokens": 16, "temperature": 0, "ignore_eos": True}
plain = complete(greedy)["choices"][0]
whole = complete({**greedy, "logprobs": 5})["choices"][0]
check(whole["text"] == plain["text"], "logprobs do not change the text")
lp = whole["logprobs"]
check(len(lp["tokens"]) == len(lp["token_logprobs"]) == len(lp["top_logprobs"]) == len(lp["text_offset"]) == 16,
      f"16 entries: {lp}")
for i, (token, logprob, top) in enumerate(zip(lp["tokens"], lp["token_logprobs"], lp["top_logprobs"])):
    # Tokens of one text (lone bytes read U+FFFD) share a key: up to 6 keys.
    check(1 <= len(top) <= 6 and top.get(token) == logprob, f"token {i}: {token!r} {logprob} in {top}")
    check(logprob == max(top.values()) and logprob <= 0, f"greedy token {i} is the likeliest: {logprob} {top}")
    check(list(top)[0] == token, f"greedy token {i} first in its top_logprobs: {top}")
    check(sum(math.exp(v) for v in top.values()) <= 1 + 1e-6, f"token {i}: top mass <= 1")
check(lp["text_offset"] == [sum(len(t) for t in lp["tokens"][:i]) for i in range(16)], f"offsets: {lp}")
check(plain["logprobs"] is None, "no logprobs unless asked")
zero = complete({**greedy, "logprobs": 0})["choices"][0]["logprobs"]
check(all(list(top) == [t] for top, t in zip(zero["top_logprobs"], zero["tokens"])) and
      zero["token_logprobs"] == lp["token_logprobs"], f"logprobs 0: the chosen token only: {zero}")

# Streamed logprobs join to the whole response's.
chunks, _, _ = stream({**greedy, "logprobs": 5})
joined = {key: [v for c in chunks for v in c["choices"][0]["logprobs"][key]] for key in lp}
check("".join(c["choices"][0]["text"] for c in chunks) == whole["text"], "streamed text with logprobs")
check(joined == lp, f"streamed logprobs {joined} != whole {lp}")

# Sampled logprobs (n = 2): each choice's chosen token is in its dict.
two = complete({**sampled, "n": 2, "logprobs": 2})
for choice in two["choices"]:
    lp2 = choice["logprobs"]
    check(all(top.get(t) == v for t, v, top in zip(lp2["tokens"], lp2["token_logprobs"], lp2["top_logprobs"])),
          f"choice {choice['index']}: chosen token in top_logprobs")

# logit_bias: +100 on one token makes greedy repeat it; -100 on the token that wins both biased
# gives the other.
status, ri = server.call("POST", "/detokenize", {"tokens": [300]})
forced = complete({**greedy, "max_tokens": 5, "logit_bias": {"300": 100}})["choices"][0]["text"]
check(forced == ri["content"] * 5, f"logit_bias +100 on 300: {forced!r}, want {ri['content'] * 5!r}")
both = complete({**greedy, "max_tokens": 5, "logit_bias": {"300": 100, "400": 100}})["choices"][0]["text"]
banned = complete({**greedy, "max_tokens": 5, "logit_bias": {"300": 100, "400": -100}})["choices"][0]["text"]
check(both != forced and banned == forced, f"logit_bias -100 on 400: {both!r} -> {banned!r}")

# min_p = 1 and top_k = 1 keep only the likeliest token: the greedy text at any temperature.
for cut in ({"min_p": 1}, {"top_k": 1}):
    got = complete({**greedy, "temperature": 1.5, "seed": 5, **cut})["choices"][0]["text"]
    check(got == plain["text"], f"{cut} at temperature 1.5: {got!r} != greedy {plain['text']!r}")

# Penalties: with token 300 ("ri") biased +20, greedy repeats it; each penalty makes that rarer.
biased = {**greedy, "max_tokens": 24, "logprobs": 0, "logit_bias": {"300": 20}}
base = complete(biased)["choices"][0]["logprobs"]["tokens"].count(ri["content"])
check(base >= 3, f"biased greedy repeats {ri['content']!r}: {base} times")
for penalty in ({"frequency_penalty": 2}, {"presence_penalty": 2}, {"repetition_penalty": 2}):
    got = complete({**biased, **penalty})["choices"][0]["logprobs"]["tokens"].count(ri["content"])
    check(got < base, f"{penalty}: {ri['content']!r} {got} times, {base} without")

# echo prepends the prompt; max_completion_tokens is max_tokens.
echoed = complete({**greedy, "echo": True})["choices"][0]["text"]
check(echoed == greedy["prompt"] + plain["text"], f"echo: {echoed!r}")
chunks, _, _ = stream({**greedy, "echo": True, "n": 2})
check(chunks[0]["choices"][0]["text"] == greedy["prompt"] and
      "".join(c["choices"][0]["text"] for c in chunks if c["choices"][0]["index"] == 1) == echoed,
      "streamed echo: the prompt first")
alias = complete({**{k: v for k, v in greedy.items() if k != "max_tokens"}, "max_completion_tokens": 7})
check(alias["usage"]["completion_tokens"] == 7, f"max_completion_tokens: {alias['usage']}")

# Every field at once, alone and amid 6 concurrent different requests: the same texts.
everything = {"prompt": "In a village", "max_tokens": 20, "temperature": 0.8, "top_p": 0.9, "top_k": 50,
              "min_p": 0.02, "frequency_penalty": 0.5, "presence_penalty": 0.3, "repetition_penalty": 1.1,
              "logit_bias": {"300": 2}, "seed": 4242, "n": 2, "logprobs": 3, "ignore_eos": True}
alone = complete(everything)
results = {}


def client(name, body):
    status, got = server.call("POST", "/v1/completions", body)
    results[name] = got if status == 200 else None


threads = [threading.Thread(target=client, args=(i, {"prompt": f"Other {i} " * (i + 1), "max_tokens": 10 + 2 * i,
                                                     "seed": i, "frequency_penalty": 0.1 * i, "n": 1 + i % 2}))
           for i in range(6)]
threads.append(threading.Thread(target=client, args=("everything", everything)))
for t in threads:
    t.start()
for t in threads:
    t.join()
crowded = results.get("everything")
check(crowded is not None and texts(crowded) == texts(alone), "every field: the same texts amid others")
check(crowded is not None and [c["logprobs"] for c in crowded["choices"]] == [c["logprobs"] for c in alone["choices"]],
      "every field: the same logprobs amid others")
check(len(results) == 7 and all(r is not None for r in results.values()), "all concurrent requests answered")

# Bad fields: 400 naming them.
for body, param in [({"n": 5}, "n"), ({"logprobs": 21}, "logprobs"), ({"min_p": 2}, "min_p"),
                    ({"logit_bias": {"100000": 1}}, "logit_bias"), ({"echo": True, "logprobs": 1}, "echo"),
                    ({"max_tokens": 3, "max_completion_tokens": 4}, "max_completion_tokens"),
                    ({"presence_penalty": 3}, "presence_penalty"), ({"best_of": 3}, "best_of")]:
    status, got = server.call("POST", "/v1/completions", {"prompt": "a", **body})
    check(status == 400 and is_error_object(got, status) and got["error"]["param"] == param, f"{body}: {status} {got}")

check(server.stop() == 0, "exit 0 on SIGTERM")
finish()
