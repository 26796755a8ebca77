#!/usr/bin/python3
"""Golden values for runtime::Sampler and token_logprobs (tests/runtime/sampler_test.cpp), written
from vLLM's V1 sampler as its documentation and source define it (vllm/v1/sample/sampler.py,
ops/penalties.py, ops/topk_topp_sampler.py, the min_p logits processor), not from src/:

    /usr/bin/python3 tests/reference/sampler_reference.py --out tests/golden/sampler_cases.json

penalty_cases: float32 logits after, in this order, logit_bias (added), the repetition penalty
  (tokens of the prompt or the output: logit / p where logit > 0, else logit * p), the frequency
  penalty (logit -= f * count in the output) and the presence penalty (logit -= p * (count > 0)).
distribution_cases: the probabilities sampled from at a positive temperature: logits / T, then
  min_p (drop probs < min_p * max prob), then top-k, then top-p (sort ascending, drop the tokens
  whose ascending cumulative probability is <= 1 - top_p, always keeping the largest), softmax of
  what is left; float64. Plain Python (math, struct for float32 rounding): no numpy needed.
logprobs: log_softmax (float64) of the last prompt row of tests/golden/mixtral-tiny.json's logits
  (the float64 PyTorch model, `moe init --preset mixtral-tiny --seed 7`): vLLM's default "raw"
  logprobs, the top 20 and the greedy token's.
"""

import argparse
import json
import math
import os
import random
import struct


def f32(x):
    """x rounded to float32, as each float32 tensor op rounds."""
    return struct.unpack("f", struct.pack("f", x))[0]


def penalize(logits, prompt, output, bias, repetition, frequency, presence):
    x = [f32(v) for v in logits]
    for token, b in bias.items():
        x[int(token)] = f32(x[int(token)] + f32(b))
    counts = [output.count(t) for t in range(len(x))]
    for t in range(len(x)):
        if t in prompt or counts[t] > 0:
            x[t] = f32(x[t] / f32(repetition)) if x[t] > 0 else f32(x[t] * f32(repetition))
    for t in range(len(x)):
        x[t] = f32(x[t] - f32(f32(frequency) * counts[t]))
        x[t] = f32(x[t] - f32(f32(presence) * (counts[t] > 0)))
    return x


def softmax(x):
    m = max(v for v in x if v != -math.inf)
    e = [math.exp(v - m) if v != -math.inf else 0.0 for v in x]
    s = math.fsum(e)
    return [v / s for v in e]


def distribution(logits, temperature, top_k, top_p, min_p):
    x = [f32(v) / temperature for v in logits]
    if min_p > 0:
        probs = softmax(x)
        x = [-math.inf if p < min_p * max(probs) else v for v, p in zip(x, probs)]
    if top_k > 0:
        kth = sorted(x, reverse=True)[top_k - 1]
        x = [-math.inf if v < kth else v for v in x]
    if top_p < 1:
        ascending = sorted(range(len(x)), key=lambda i: x[i])
        probs = softmax(x)
        cumulative = 0.0
        remove = []
        for i in ascending[:-1]:  # the largest is always kept
            cumulative += probs[i]
            if cumulative <= 1 - top_p:
                remove.append(i)
        for i in remove:
            x[i] = -math.inf
    probs = softmax(x)
    kept = sorted((i for i in range(len(x)) if probs[i] > 0), key=lambda i: -probs[i])
    return kept, [probs[i] for i in kept]


def log_softmax(row):
    m = max(row)
    log_sum = m + math.log(math.fsum(math.exp(v - m) for v in row))
    return [v - log_sum for v in row]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    small = [2.0, 1.5, 0.3, -0.7, 1.9, -2.2, 0.0, 0.8]
    penalty_cases = []
    for name, prompt, output, bias, rep, freq, pres in [
        ("frequency", [], [0, 0, 4], {}, 1.0, 0.5, 0.0),
        ("presence", [], [0, 0, 4], {}, 1.0, 0.0, 0.7),
        ("negative_frequency", [], [3, 3], {}, 1.0, -1.25, 0.0),
        ("repetition", [3, 6, 6], [1, 3], {}, 1.3, 0.0, 0.0),
        ("repetition_below_one", [0, 5], [], {}, 0.5, 0.0, 0.0),
        ("logit_bias", [], [], {"2": 5.0, "5": -100.0}, 1.0, 0.0, 0.0),
        ("all", [2, 3], [0, 0, 2, 7], {"2": 1.5, "7": -0.25}, 1.2, 0.4, 0.3),
    ]:
        penalty_cases.append({"name": name, "prompt": prompt, "generated": output, "logit_bias": bias,
                              "repetition_penalty": rep, "frequency_penalty": freq, "presence_penalty": pres,
                              "penalized": penalize(small, prompt, output, bias, rep, freq, pres)})

    rng = random.Random(11)
    wide = [f32(rng.gauss(0, 2)) for _ in range(16)]
    distribution_cases = []
    for name, t, k, p, m in [
        ("temperature", 0.7, 0, 1.0, 0.0),
        ("hot", 1.6, 0, 1.0, 0.0),
        ("top_k", 1.0, 3, 1.0, 0.0),
        ("top_p", 1.0, 0, 0.8, 0.0),
        ("min_p", 0.7, 0, 1.0, 0.05),
        ("min_p_hot", 2.0, 0, 1.0, 0.3),
        ("all", 0.9, 6, 0.9, 0.02),
    ]:
        tokens, probs = distribution(wide, t, k, p, m)
        distribution_cases.append({"name": name, "temperature": t, "top_k": k, "top_p": p, "min_p": m,
                                   "tokens": tokens, "probabilities": probs})

    golden = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden", "mixtral-tiny.json")
    with open(golden) as f:
        model = json.load(f)
    logprobs = log_softmax(model["logits"][-1])
    top = sorted(range(len(logprobs)), key=lambda i: -logprobs[i])[:20]
    greedy = model["greedy_tokens"][0]
    scale = max(abs(v) for r in model["logits"] for v in r)
    out = {
        "command": "/usr/bin/python3 tests/reference/sampler_reference.py --out tests/golden/sampler_cases.json",
        "logits": small, "penalty_cases": penalty_cases,
        "wide_logits": wide, "distribution_cases": distribution_cases,
        "logprobs": {"prompt_tokens": model["prompt_tokens"], "greedy_token": greedy,
                     "greedy_logprob": logprobs[greedy], "top_tokens": top,
                     "top_logprobs": [logprobs[i] for i in top], "logit_scale": scale},
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
