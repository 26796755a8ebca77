#!/usr/bin/python3
"""Perplexity of a text with the float64 reference, windowed as llama-perplexity does.

The independent check of `moe eval --perplexity`: the text (one trailing newline dropped) is
tokenized once with the model's tokenizer.model by libsentencepiece, BOS first; it is cut into
non-overlapping windows of --ctx tokens, the first token of each replaced by BOS, and only the
second half of each window is scored (targets of positions [ctx/2, ctx - 1)).

    /usr/bin/python3 tests/reference/perplexity_reference.py --model DIR --text test.txt --ctx 256

`window_nll` is shared with train_kjv.py, which scores its float32 module the same way.
"""

import argparse
import json
import math
import os
import sys
import time

import sentencepiece
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moe_reference  # noqa: E402


def read_text(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return text[:-1] if text.endswith("\n") else text


def tokenize(model_dir, text):
    """BOS + libsentencepiece's ids of the text."""
    sp = sentencepiece.SentencePieceProcessor(model_file=os.path.join(model_dir, "tokenizer.model"))
    return [sp.bos_id()] + sp.encode(text)


def window_nll(logits_fn, tokens, ctx, bos_id):
    """Yields (nll sum, count) per window; logits_fn(list of ids) -> [ctx, vocab] tensor."""
    for window in range(len(tokens) // ctx):
        batch = tokens[window * ctx:(window + 1) * ctx]
        batch = [bos_id] + batch[1:]
        logits = logits_fn(batch).double()
        logp = torch.log_softmax(logits, dim=-1)
        first = ctx // 2
        targets = torch.tensor(tokens[window * ctx + first + 1:(window + 1) * ctx], dtype=torch.long)
        picked = logp[first:ctx - 1].gather(1, targets[:, None])
        yield -float(picked.sum()), int(targets.numel())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="HF directory with tokenizer.model")
    ap.add_argument("--text", required=True)
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--windows", type=int, default=0, help="score only the first N windows (0: all)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    model = moe_reference.load_model(args.model)
    tokens = tokenize(args.model, read_text(args.text))
    if args.windows:
        tokens = tokens[:args.windows * args.ctx]
    with open(os.path.join(args.model, "config.json")) as f:
        bos_id = json.load(f).get("bos_token_id", 1)
    nll, count, start = 0.0, 0, time.time()
    for index, (window_sum, window_count) in enumerate(window_nll(model.forward, tokens, args.ctx, bos_id)):
        nll, count = nll + window_sum, count + window_count
        print("[%d] %.6f (%.0f s)" % (index + 1, math.exp(nll / count), time.time() - start), file=sys.stderr)
    print(json.dumps({"perplexity": math.exp(nll / count), "tokens_scored": count, "tokens": len(tokens)}))


if __name__ == "__main__":
    sys.exit(main())
