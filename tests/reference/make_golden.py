#!/usr/bin/python3
"""Writes a golden JSON file for one HF model directory, from moe_reference.py.

    /usr/bin/python3 tests/reference/make_golden.py --model DIR --out FILE.json \
        [--prompt-tokens 1,5,9,...] [--gen 16]

Schema (all floats are the float64 reference rounded to float32 and printed
with 9 significant digits, which round-trips a float32 exactly):
{
  "command":            the exact command line that wrote the file (string),
  "model_type":         config["model_type"],
  "config":             config.json as a dict,
  "prompt_tokens":      [T ints],
  "logits":             [T][vocab] logits of every prompt position,
  "greedy_tokens":      [gen ints], each step recomputes the whole sequence,
                        argmax ties -> lowest id,
  "greedy_logits_last": [vocab] logits of the position that chose the last
                        generated token,
  "greedy_margins":     [gen] top1 - top2 logit at each greedy step (informative),
  "prompt_routing":     [one entry per MoE layer, in layer order]
                        {"layer": l, "experts": [T][k] ids (descending weight,
                        ties lowest id), "weights": [T][k], "min_gap": smallest
                        (k-th minus (k+1)-th) router probability over the T
                        tokens} for the prompt pass (informative)
}
"""

import argparse
import json
import os
import shlex
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moe_reference as ref  # noqa: E402


def default_prompt(vocab, n=12):
    """12 fixed ids, deterministic, spread over the vocabulary, never 0."""
    base = [1, 17, 42, 99, 256, 311, 7, 128, 400, 63, 205, 480]
    return [1 + (b - 1) % (vocab - 1) for b in base[:n]]


def f32(x):
    """float -> JSON text of its float32 rounding (9 significant digits)."""
    v = np.float32(x)
    if not np.isfinite(v):
        raise ValueError("non-finite value %r" % x)
    return "%.9g" % float(v)


def dump(obj, indent=0):
    """Small JSON writer so that float lists use f32() and stay one line each."""
    sp = "  " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = []
        for k, v in obj.items():
            if k == "config":   # config.json values verbatim (exact floats), not rounded to f32
                text = json.dumps(v, indent=2).replace("\n", "\n" + sp + "  ")
            else:
                text = dump(v, indent + 1)
            items.append("%s  %s: %s" % (sp, _jstr(k), text))
        return "{\n" + ",\n".join(items) + "\n" + sp + "}"
    if isinstance(obj, (list, tuple)):
        if all(isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool) for v in obj):
            return "[" + ", ".join(_num(v) for v in obj) + "]"
        if not obj:
            return "[]"
        return "[\n" + ",\n".join(sp + "  " + dump(v, indent + 1) for v in obj) + "\n" + sp + "]"
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if obj is None:
        return "null"
    if isinstance(obj, str):
        return _jstr(obj)
    if isinstance(obj, (int, float, np.floating, np.integer)):
        return _num(obj)
    raise TypeError(type(obj))


def _jstr(s):
    return json.dumps(s)


def _num(v):
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return str(int(v))
    return f32(v)


def make_golden(model_dir, prompt=None, gen=16, command=None):
    m = ref.load_model(model_dir)
    if prompt is None:
        prompt = default_prompt(m.vocab)
    trace = []
    logits = m.forward(prompt, trace=trace)
    moe_layers = [l for l in range(m.L) if m.is_moe_layer(l)]
    routing = [{"layer": l, "experts": tr["experts"], "weights": tr["weights"], "min_gap": tr["min_gap"]}
               for l, tr in zip(moe_layers, trace)]
    toks, last, margins = ref.greedy(m, prompt, gen)
    return {
        "command": command or "",
        "model_type": m.model_type,
        "config": m.cfg,
        "prompt_tokens": list(prompt),
        "logits": [[float(x) for x in row] for row in logits],
        "greedy_tokens": toks,
        "greedy_logits_last": [float(x) for x in last] if last is not None else [],
        "greedy_margins": margins,
        "prompt_routing": routing,
    }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description="write golden logits/tokens for an HF MoE directory")
    ap.add_argument("--model", required=True, help="HF directory (config.json + safetensors)")
    ap.add_argument("--out", required=True, help="output JSON path")
    ap.add_argument("--prompt-tokens", default=None, help="comma-separated ids (default: 12 fixed ids)")
    ap.add_argument("--gen", type=int, default=16, help="greedy steps (default 16)")
    args = ap.parse_args(argv)
    prompt = None
    if args.prompt_tokens:
        prompt = [int(x) for x in args.prompt_tokens.split(",") if x.strip()]
    command = " ".join(shlex.quote(a) for a in [sys.executable or "/usr/bin/python3", sys.argv[0]] + list(argv))
    g = make_golden(args.model, prompt, args.gen, command)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(dump(g) + "\n")
    print("%s: %s, %d prompt tokens, greedy %s, min margin %.4f, min router gap %.2e, logit std %.3f" % (
        args.out, g["model_type"], len(g["prompt_tokens"]), g["greedy_tokens"],
        min(g["greedy_margins"]) if g["greedy_margins"] else float("nan"),
        min(r["min_gap"] for r in g["prompt_routing"]) if g["prompt_routing"] else float("nan"),
        float(np.std(np.array(g["logits"])))))


if __name__ == "__main__":
    sys.exit(main())
