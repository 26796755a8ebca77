"""moe serve's POST /v1/chat/completions over HTTP: the preset's template (Mixtral's) renders the
messages into the prompt the completion endpoint would get from the same text (no second BOS),
whole and streamed text are equal, the chunks have OpenAI's shape (role first, one id,
finish_reason once, the usage chunk), text parts equal the joined string, max_completion_tokens,
every bad message is a 400 naming its field, the template's own raise_exception is a 400, a model
without a template answers 400 naming --chat-template, and --chat-template FILE serves one.
Usage: chat_test.py MOE_BINARY SCRATCH_DIR"""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_lib import Server, check, finish, init_model, is_error_object, read_events  # noqa: E402

moe, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
model = init_model(moe, work)  # mixtral-tiny: its tokenizer_config.json has Mixtral-Instruct's template
N = 20
SYSTEM = "You are terse."
USER = "Name a colour."
messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]
# Mixtral-8x7B-Instruct's template puts the system message inside the first [INST] and writes the BOS.
rendered = "<s> [INST] " + SYSTEM + "\n\n" + USER + " [/INST]"

server = Server(moe, ["--model", model, "-t", "2", "--served-model-name", "tiny"])
status, tokens = server.call("POST", "/tokenize", {"content": rendered, "add_special": False})
ids = tokens["tokens"]
status, bos_first = server.call("POST", "/tokenize", {"content": "x", "add_special": True})
check(ids[0] == bos_first["tokens"][0] and ids.count(ids[0]) == 1, f"the rendered prompt starts with one BOS: {ids}")

# The chat endpoint's text is the completion endpoint's for the same prompt ids.
status, completion = server.call("POST", "/v1/completions",
                                 {"prompt": ids, "max_tokens": N, "temperature": 0, "ignore_eos": True})
check(status == 200, f"completion: {status} {completion}")
want = completion["choices"][0]["text"]
greedy = {"model": "tiny", "messages": messages, "max_tokens": N, "temperature": 0, "ignore_eos": True}
status, whole = server.call("POST", "/v1/chat/completions", greedy)
check(status == 200, f"chat status {status}: {whole}")
check(whole["object"] == "chat.completion" and whole["id"].startswith("chatcmpl-") and whole["model"] == "tiny"
      and isinstance(whole["created"], int), f"chat head: {whole}")
choice = whole["choices"][0]
check(list(choice) == ["index", "message", "logprobs", "finish_reason"] and choice["index"] == 0
      and choice["logprobs"] is None, f"chat choice fields: {choice}")
check(choice["message"] == {"role": "assistant", "content": want}, f"chat text {choice['message']} != {want!r}")
usage = whole["usage"]
check(usage == {"prompt_tokens": len(ids), "completion_tokens": N, "total_tokens": len(ids) + N},
      f"chat usage {usage} (prompt {len(ids)} tokens)")
check(choice["finish_reason"] == "length", f"finish_reason: {choice['finish_reason']}")

# Streamed: the role first, then the same text; one id; finish_reason once, on the last choice chunk.
conn, resp = server.stream({**greedy, "stream": True, "stream_options": {"include_usage": True}},
                           path="/v1/chat/completions")
check(resp.status == 200 and resp.getheader("Content-Type", "").startswith("text/event-stream"), "stream headers")
events = read_events(resp)
conn.close()
check(events and events[-1] == "[DONE]" and events.count("[DONE]") == 1, f"stream ends with [DONE]: {events[-2:]}")
chunks = [e for e in events if e != "[DONE]"]
check(len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("chatcmpl-"), "one chatcmpl id")
check(all(c["object"] == "chat.completion.chunk" and c["model"] == "tiny" for c in chunks), "chunk objects")
with_choices = [c for c in chunks if c["choices"]]
first = with_choices[0]["choices"][0]
check(first == {"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None},
      f"first chunk: {first}")
check(all("role" not in c["choices"][0]["delta"] for c in with_choices[1:]), "the role only in the first chunk")
finishes = [c["choices"][0]["finish_reason"] for c in with_choices if c["choices"][0]["finish_reason"]]
check(finishes == ["length"] and with_choices[-1]["choices"][0]["finish_reason"] == "length",
      f"finish_reason once, last: {finishes}")
text = "".join(c["choices"][0]["delta"].get("content", "") for c in with_choices)
check(text == want, f"streamed chat text {text!r} != whole {want!r}")
check(all(c["usage"] is None for c in with_choices), "usage: null on the choice chunks")
check(chunks[-1]["choices"] == [] and chunks[-1]["usage"] == usage, f"usage chunk last: {chunks[-1]}")
conn, resp = server.stream({**greedy, "stream": True}, path="/v1/chat/completions")
plain = [e for e in read_events(resp) if e != "[DONE]"]
conn.close()
check(all("usage" not in c and c["choices"] for c in plain), "no usage chunk unless asked")
check("".join(c["choices"][0]["delta"].get("content", "") for c in plain) == want, "streamed without usage")

# Text parts are joined with "\n"; max_completion_tokens is max_tokens' alias.
parts = [{"role": "system", "content": [{"type": "text", "text": "You are"}, {"type": "text", "text": "terse."}]},
         {"role": "user", "content": USER}]
status, by_parts = server.call("POST", "/v1/chat/completions", {**greedy, "messages": parts})
joined = [{"role": "system", "content": "You are\nterse."}, {"role": "user", "content": USER}]
status2, by_string = server.call("POST", "/v1/chat/completions", {**greedy, "messages": joined})
check(status == status2 == 200 and by_parts["choices"] == by_string["choices"]
      and by_parts["usage"] == by_string["usage"], "text parts == the joined string")
status, short = server.call("POST", "/v1/chat/completions",
                            {"messages": messages, "max_completion_tokens": 3, "temperature": 0, "ignore_eos": True})
check(status == 200 and short["usage"]["completion_tokens"] == 3, f"max_completion_tokens: {short}")
status, multi = server.call("POST", "/v1/chat/completions", {
    "messages": messages + [{"role": "assistant", "content": "Red."}, {"role": "user", "content": "Another?"}],
    "max_tokens": 2})
check(status == 200 and multi["usage"]["prompt_tokens"] > len(ids), f"multi-turn: {multi}")

# Bad requests: 400 with OpenAI's error object naming the field.
user = {"role": "user", "content": "hi"}
bad = [
    ("no messages", {"max_tokens": 2}, "messages"),
    ("messages not a list", {"messages": "hi"}, "messages"),
    ("empty messages", {"messages": []}, "messages"),
    ("a message not an object", {"messages": ["hi"]}, "messages[0]"),
    ("no role", {"messages": [{"content": "hi"}]}, "messages[0].role"),
    ("unknown role", {"messages": [user, {"role": "wizard", "content": "x"}]}, "messages[1].role"),
    ("no content", {"messages": [{"role": "user"}]}, "messages[0].content"),
    ("content of a wrong type", {"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
    ("an image part", {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": "x"}}]}]},
     "messages[0].content[1].type"),
    ("a part without text", {"messages": [{"role": "user", "content": [{"type": "text"}]}]},
     "messages[0].content[0].text"),
    ("roles that do not alternate (the template's raise_exception)", {"messages": [user, user]}, "messages"),
    ("n over --max-num-seqs", {"messages": [user], "n": 100}, "n"),
    ("top_logprobs without logprobs", {"messages": [user], "top_logprobs": 2}, "top_logprobs"),
    ("top_logprobs over 20", {"messages": [user], "logprobs": True, "top_logprobs": 21}, "top_logprobs"),
    ("tools", {"messages": [user], "tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
    ("max_completion_tokens of a wrong type", {"messages": [user], "max_completion_tokens": "x"},
     "max_completion_tokens"),
    ("over the context", {"messages": [user], "max_tokens": 10 ** 6}, "prompt"),
    ("unknown model", {"messages": [user], "model": "gpt-4"}, "model"),
]
for what, body, param in bad:
    status, got = server.call("POST", "/v1/chat/completions", body)
    check(status == 400 and is_error_object(got, status) and got["error"]["param"] == param,
          f"{what}: {status} {got}")
status, got = server.call("POST", "/v1/chat/completions", {"messages": [user, user]})
check("conversation roles must alternate" in got["error"]["message"], f"the template's message: {got}")
status, got = server.call("POST", "/v1/chat/completions", {"messages": [user], "logprobs": False, "max_tokens": 1})
check(status == 200, f"logprobs: false is neutral: {status} {got}")

# n = 3 gives the choices of three requests with seeds s, s + 1, s + 2; logprobs in chat's shape,
# streamed deltas and logprobs concatenating to the whole answer's.
sampled = {"messages": [user], "max_tokens": 6, "temperature": 1, "seed": 11, "ignore_eos": True}
status, many = server.call("POST", "/v1/chat/completions", {**sampled, "n": 3, "logprobs": True, "top_logprobs": 2})
check(status == 200 and [c["index"] for c in many["choices"]] == [0, 1, 2], f"n = 3: {status} {many}")
for i in range(3):
    status, one = server.call("POST", "/v1/chat/completions", {**sampled, "seed": 11 + i})
    check(one["choices"][0]["message"] == many["choices"][i]["message"], f"choice {i} != the request with seed + {i}")
check(many["usage"]["completion_tokens"] == 18, f"usage of n = 3: {many['usage']}")
content = many["choices"][0]["logprobs"]["content"]
check(len(content) == 6 and all(set(e) == {"token", "logprob", "bytes", "top_logprobs"} and len(e["top_logprobs"]) == 2
                                and e["logprob"] <= 0 for e in content), f"chat logprobs shape: {content[:2]}")
check("".join(e["token"] for e in content) == many["choices"][0]["message"]["content"] or
      "\ufffd" in many["choices"][0]["message"]["content"], "logprob tokens spell the content")
conn, resp = server.stream({**sampled, "n": 3, "logprobs": True, "top_logprobs": 2, "stream": True},
                           path="/v1/chat/completions")
chunks = [e for e in read_events(resp) if isinstance(e, dict)]
conn.close()
for i in range(3):
    mine = [c["choices"][0] for c in chunks if c["choices"] and c["choices"][0]["index"] == i]
    text = "".join(c["delta"].get("content", "") for c in mine)
    streamed = [e for c in mine if c["logprobs"] for e in c["logprobs"]["content"]]
    check(text == many["choices"][i]["message"]["content"], f"streamed choice {i}: {text!r}")
    check(streamed == many["choices"][i]["logprobs"]["content"], f"streamed logprobs of choice {i}")
    check(sum(1 for c in mine if c["finish_reason"]) == 1 and mine[0]["delta"].get("role") == "assistant",
          f"choice {i}: role first, finish_reason once")
for raw in ["[]", '{"messages": {"a": 1}}', '{"messages": [{"role": "user", "content": [[]]}]}',
            '{"messages": [{"role": "user", "content": "\\u0000"}], "max_tokens": 1}',
            '{"messages": [{"role": "user", "content": "hi"}], "chat_template_kwargs": 3}']:
    status, got = server.call("POST", "/v1/chat/completions", raw=raw)
    check(status in (200, 400) and (status == 200 or is_error_object(got, status)), f"body {raw[:40]!r}: {status}")
check(server.stop() == 0, "exit 0 after SIGTERM")

# A model without a template: 400 naming --chat-template; --chat-template FILE serves one.
config_path = os.path.join(model, "tokenizer_config.json")
with open(config_path) as f:
    config = json.load(f)
del config["chat_template"]
with open(config_path, "w") as f:
    json.dump(config, f)
server = Server(moe, ["--model", model, "-t", "2"])
status, got = server.call("POST", "/v1/chat/completions", {"messages": [user]})
check(status == 400 and is_error_object(got, status) and "--chat-template" in got["error"]["message"],
      f"no template: {status} {got}")
check(server.call("POST", "/v1/completions", {"prompt": "a", "max_tokens": 1})[0] == 200, "completions still served")
check(server.stop() == 0, "exit 0 after SIGTERM")
template = os.path.join(work, "plain.jinja")
with open(template, "w") as f:
    f.write("{% for m in messages %}{{ m.role | upper }}: {{ m.content }}\n{% endfor %}"
            "{% if add_generation_prompt %}ASSISTANT:{% endif %}")
server = Server(moe, ["--model", model, "-t", "2", "--chat-template", template])
status, got = server.call("POST", "/v1/chat/completions", {"messages": [user], "max_tokens": 1})
status_ids, want_ids = server.call("POST", "/tokenize", {"content": "USER: hi\nASSISTANT:", "add_special": True})
check(status == 200 and got["usage"]["prompt_tokens"] == len(want_ids["tokens"]),
      f"--chat-template: {status} {got} vs {want_ids}")
check(server.stop() == 0, "exit 0 after SIGTERM")
finish()
