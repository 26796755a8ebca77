"""moe serve over HTTP: /v1/completions whole and streamed equals `moe run` greedy text, the
chunks' shape, stop strings, a seeded request's text alone and amid concurrent others, 16
concurrent clients, every bad request's status and error object, the API key, 503 on a full queue,
a disconnected client's place freed (/metrics), /v1/models, /tokenize and /detokenize, and SIGTERM finishing
the request under way before the server exits 0.
Usage: api_test.py MOE_BINARY SCRATCH_DIR"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_lib import (Server, check, finish, init_model, is_error_object, next_event,  # noqa: E402
                       read_events)

moe, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
model = init_model(moe, work)
PROMPT = "The quick brown fox"
N = 24

# The reference: `moe run` greedy, streamed to stdout after the prompt.
out = subprocess.run([moe, "run", "--model", model, "-p", PROMPT, "-n", str(N), "--temp", "0", "-t", "2"],
                     check=True, capture_output=True).stdout
assert out.startswith(PROMPT.encode()) and out.endswith(b"\n"), out
want = out[len(PROMPT):-1].decode("utf-8", "replace")

server = Server(moe, ["--model", model, "-t", "2", "--served-model-name", "tiny", "--max-num-seqs", "4",
                      "--max-num-tokens", "64"])
check(server.call("GET", "/health") == (200, {"status": "ok"}), "/health")
status, models = server.call("GET", "/v1/models")
check(status == 200 and models["object"] == "list" and [m["id"] for m in models["data"]] == ["tiny"],
      f"/v1/models: {models}")

# Whole and streamed text equal `moe run`.
greedy = {"model": "tiny", "prompt": PROMPT, "max_tokens": N, "temperature": 0}
status, whole = server.call("POST", "/v1/completions", greedy)
check(status == 200, f"completion status {status}: {whole}")
choice = whole["choices"][0]
check(choice["text"] == want, f"whole text {choice['text']!r} != moe run's {want!r}")
check(whole["object"] == "text_completion" and whole["id"].startswith("cmpl-") and whole["model"] == "tiny",
      f"completion head: {whole}")
status, tokens = server.call("POST", "/tokenize", {"content": PROMPT, "add_special": True})
usage = whole["usage"]
check(usage["prompt_tokens"] == len(tokens["tokens"]), f"prompt_tokens {usage} vs /tokenize {tokens}")
check(usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"], f"usage sums: {usage}")
check((choice["finish_reason"] == "length") == (usage["completion_tokens"] == N), f"finish/usage: {whole}")

conn, resp = server.stream({**greedy, "stream": True, "stream_options": {"include_usage": True}})
check(resp.status == 200 and resp.getheader("Content-Type", "").startswith("text/event-stream"), "stream headers")
events = read_events(resp)
conn.close()
check(events and events[-1] == "[DONE]", f"stream ends with [DONE]: {events[-1:]}")
chunks = [e for e in events if e != "[DONE]"]
check(len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("cmpl-"), "one id for every chunk")
check(all(c["object"] == "text_completion" and c["model"] == "tiny" for c in chunks), "chunk objects")
with_choices = [c for c in chunks if c["choices"]]
finishes = [c["choices"][0]["finish_reason"] for c in with_choices if c["choices"][0]["finish_reason"]]
check(finishes == [choice["finish_reason"]], f"finish_reason once, the whole one's: {finishes}")
check(with_choices[-1]["choices"][0]["finish_reason"] is not None, "finish_reason on the last choice chunk")
check("".join(c["choices"][0]["text"] for c in with_choices) == want, "streamed text == whole text")
check(all(c["usage"] is None for c in with_choices), "usage: null on the choice chunks")
check(chunks[-1]["choices"] == [] and chunks[-1]["usage"] == usage, f"usage chunk last: {chunks[-1]}")
conn, resp = server.stream({**greedy, "stream": True})
plain = [e for e in read_events(resp) if e != "[DONE]"]
conn.close()
check(all("usage" not in c for c in plain) and all(c["choices"] for c in plain), "no usage chunk unless asked")

# Token-id prompts give the same text.
status, by_ids = server.call("POST", "/v1/completions", {**greedy, "prompt": tokens["tokens"]})
check(status == 200 and by_ids["choices"][0]["text"] == want, "a token-id prompt gives the same text")

# Stop strings: the text ends before the first one, whole or streamed.
stop = want[6:9]
cut = want[:want.find(stop)]
for stream in (False, True):
    body = {**greedy, "stop": ["\u0000never", stop], "stream": stream}
    if stream:
        conn, resp = server.stream(body)
        got = [e for e in read_events(resp) if e != "[DONE]"]
        conn.close()
        text = "".join(c["choices"][0]["text"] for c in got)
        reason = got[-1]["choices"][0]["finish_reason"]
    else:
        status, got = server.call("POST", "/v1/completions", body)
        text, reason = got["choices"][0]["text"], got["choices"][0]["finish_reason"]
    check(text == cut and reason == "stop", f"stop {stop!r} (stream {stream}): {text!r} {reason}, want {cut!r}")

# A seeded sampled request gives the same text alone and amid 8 concurrent others.
seeded = {"prompt": "Once upon a time", "max_tokens": 32, "temperature": 0.9, "top_p": 0.95, "seed": 1234,
          "ignore_eos": True}
alone = server.call("POST", "/v1/completions", seeded)[1]["choices"][0]["text"]
results = {}


def client(name, body):
    if body.get("stream"):
        conn, resp = server.stream(body)
        results[name] = "".join(c["choices"][0]["text"] for c in read_events(resp) if c != "[DONE]" and c["choices"])
        conn.close()
    else:
        status, got = server.call("POST", "/v1/completions", body)
        results[name] = got["choices"][0]["text"] if status == 200 else f"status {status}"


threads = [threading.Thread(target=client, args=(i, {"prompt": f"Story {i}: " + "word " * (3 * i), "seed": i,
                                                     "max_tokens": 8 + 3 * i, "stream": i % 2 == 0}))
           for i in range(8)]
threads.append(threading.Thread(target=client, args=("seeded", seeded)))
for t in threads:
    t.start()
for t in threads:
    t.join()
check(results.get("seeded") == alone, f"seeded text amid others {results.get('seeded')!r} != alone {alone!r}")
check(len(results) == 9, f"{len(results)} of 9 concurrent requests answered")
check(server.call("POST", "/v1/completions", seeded)[1]["choices"][0]["text"] == alone, "seeded text again")

# 16 concurrent clients, none lost.
results.clear()
threads = [threading.Thread(target=client, args=(i, {"prompt": f"Client {i}", "max_tokens": 6, "seed": i,
                                                     "ignore_eos": True, "stream": i % 2 == 1}))
           for i in range(16)]
for t in threads:
    t.start()
for t in threads:
    t.join()
check(len(results) == 16 and not any(r.startswith("status") for r in results.values()),
      f"16 concurrent clients: {results}")

# Bad requests: status and OpenAI's error object.
context_ids = tokens["tokens"] * (4096 // len(tokens["tokens"]) + 1)
bad = [
    ("malformed JSON", "/v1/completions", None, '{"prompt": "a",', 400, None),
    ("not an object", "/v1/completions", None, "[1, 2]", 400, None),
    ("empty body", "/v1/completions", None, "", 400, None),
    ("invalid UTF-8", "/v1/completions", None, b'{"prompt": "\xff\xfe"}', 400, None),
    ("no prompt", "/v1/completions", {"max_tokens": 3}, None, 400, "prompt"),
    ("prompt of a wrong type", "/v1/completions", {"prompt": 5}, None, 400, "prompt"),
    ("max_tokens of a wrong type", "/v1/completions", {"prompt": "a", "max_tokens": "ten"}, None, 400, "max_tokens"),
    ("temperature of a wrong type", "/v1/completions", {"prompt": "a", "temperature": "hot"}, None, 400,
     "temperature"),
    ("stream of a wrong type", "/v1/completions", {"prompt": "a", "stream": 1}, None, 400, "stream"),
    ("token id outside the vocabulary", "/v1/completions", {"prompt": [1, 10 ** 9]}, None, 400, "prompt"),
    ("prompt over the context", "/v1/completions", {"prompt": context_ids}, None, 400, "prompt"),
    ("completion over the context", "/v1/completions", {"prompt": "a", "max_tokens": 5000}, None, 400, "prompt"),
    ("unknown model", "/v1/completions", {"prompt": "a", "model": "gpt-4"}, None, 400, "model"),
    ("n over --max-num-seqs", "/v1/completions", {"prompt": "a", "n": 5}, None, 400, "n"),
    ("suffix", "/v1/completions", {"prompt": "a", "suffix": "b"}, None, 400, "suffix"),
    ("tokenize without content", "/tokenize", {"text": "a"}, None, 400, "content"),
    ("detokenize of a wrong type", "/detokenize", {"tokens": "abc"}, None, 400, "tokens"),
    ("unknown route", "/v1/nothing", {}, None, 404, None),
]
for what, path, body, raw, want_status, param in bad:
    status, got = server.call("POST", path, body, raw=raw)
    check(status == want_status and is_error_object(got, status) and got["error"]["param"] == param,
          f"{what}: {status} {got}")
status, got = server.call("POST", "/v1/completions", {"prompt": context_ids})
check(got["error"]["code"] == "context_length_exceeded", f"context error code: {got}")
# Odd bodies never crash it.
for raw in ["null", "1e999", '"x"', "{" * 100000, '{"prompt": ' + "[" * 50000 + "]" * 50000 + "}",
            '{"prompt": {"a": 1}}', '{"prompt": [[1, 2], [3]]}', '{"prompt": [1.5]}', '{"stop": {}}',
            '{"prompt": "a", "max_tokens": -1}', '{"prompt": "a", "seed": 1e30}', '{"prompt": "a", "top_k": -5}',
            '{"prompt": "a", "stream_options": 5, "stream": true}', '{"prompt": "\\u0000"}']:
    status, got = server.call("POST", "/v1/completions", raw=raw)
    check(status in (200, 400) and (status == 200 or is_error_object(got, status)), f"body {raw[:40]!r}: {status}")
check(server.call("GET", "/health")[0] == 200, "alive after odd bodies")

# /tokenize and /detokenize in llama-server's shapes.
status, ids = server.call("POST", "/tokenize", {"content": "hello world"})
status2, pieces = server.call("POST", "/tokenize", {"content": "hello world", "with_pieces": True})
check(status == 200 and status2 == 200 and [p["id"] for p in pieces["tokens"]] == ids["tokens"],
      f"tokenize: {ids} {pieces}")
check("".join(p["piece"] for p in pieces["tokens"]).strip() == "hello world", f"pieces: {pieces}")
check(server.call("POST", "/detokenize", {"tokens": ids["tokens"]}) == (200, {"content": "hello world"}),
      "detokenize(tokenize(text)) == text")

# The API key (/health stays open), 503 on a full queue, and the places of clients that left.
keyed = Server(moe, ["--model", model, "-t", "2", "--api-key", "secret", "--max-num-seqs", "1", "--max-queued", "1"])
key = {"Authorization": "Bearer secret"}
check(keyed.call("GET", "/health")[0] == 200, "/health needs no key")
for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "secret"}):
    status, got = keyed.call("GET", "/v1/models", headers=headers)
    check(status == 401 and is_error_object(got, 401), f"key {headers}: {status} {got}")
    status, got = keyed.call("POST", "/v1/completions", {"prompt": "a"}, headers=headers)
    check(status == 401 and is_error_object(got, 401), f"completion with key {headers}: {status} {got}")
check(keyed.call("GET", "/v1/models", headers=key)[1]["data"][0]["id"] == model, "the default name is --model")
running = keyed.stream({"prompt": "a", "max_tokens": 4000, "ignore_eos": True, "stream": True}, headers=key)
check(isinstance(next_event(running[1]), dict), "the first request runs")
queued = keyed.stream({"prompt": "b", "max_tokens": 4, "stream": True}, headers=key)
check(queued[1].status == 200, "the second request waits in the queue")
status, got = keyed.call("POST", "/v1/completions", {"prompt": "c", "max_tokens": 4}, headers=key)
check(status == 503 and is_error_object(got, 503), f"queue full: {status} {got}")
# The queued client leaves first (else it could take the running one's place and finish).
for (conn, resp), want in ((queued, {"moe:request_cancelled_total": 1, "moe:num_requests_waiting": 0}),
                           (running, {"moe:request_cancelled_total": 2, "moe:num_requests_running": 0})):
    resp.close()  # the response holds the socket open too
    conn.close()
    metrics = keyed.wait_for_metrics(lambda m: all(m[k] == v for k, v in want.items()), headers=key)
    check(metrics is not None, f"a request whose client left is dropped: /metrics reach {want}")
status, got = keyed.call("POST", "/v1/completions", {"prompt": "d", "max_tokens": 4}, headers=key)
check(status == 200 and got["choices"][0]["finish_reason"] in ("length", "stop"), f"after the clients left: {got}")
# A client that leaves while waiting for a whole (non-streamed) completion frees its place too.
body = json.dumps({"prompt": "e", "max_tokens": 4000, "ignore_eos": True}).encode()
raw = socket.create_connection(("127.0.0.1", keyed.port))
raw.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
check(keyed.wait_for_metrics(lambda m: m["moe:num_requests_running"] == 1, headers=key) is not None,
      "the whole request runs")
raw.close()
check(keyed.wait_for_metrics(lambda m: m["moe:request_cancelled_total"] == 3 and m["moe:num_requests_running"] == 0,
                             headers=key) is not None, "a whole request whose client left is dropped")
check(keyed.stop() == 0, "the keyed server exits 0")

# SIGTERM: the request under way finishes, new ones get 503, then the server exits 0.
long = {"prompt": PROMPT, "max_tokens": 3000, "temperature": 0, "ignore_eos": True, "stream": True,
        "stream_options": {"include_usage": True}}
conn, resp = server.stream(long)
first = next_event(resp)
check(isinstance(first, dict) and first["choices"], f"first chunk before SIGTERM: {first}")
server.proc.send_signal(signal.SIGTERM)
server.wait_for_log("refusing new requests")
status, got = server.call("POST", "/v1/completions", greedy)
check(status == 503 and is_error_object(got, 503), f"a request while draining: {status} {got}")
rest = read_events(resp)
conn.close()
check(rest[-1] == "[DONE]" and rest[-2]["usage"]["completion_tokens"] == 3000 and
      rest[-3]["choices"][0]["finish_reason"] == "length", f"the request under way finished: {rest[-3:]}")
code = server.proc.wait(timeout=120)
check(code == 0, f"exit code after SIGTERM: {code}; log: {''.join(server.log)}")

finish()
