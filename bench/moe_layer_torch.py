#!/usr/bin/python3
"""PyTorch side of `moe bench --moe-layer`: the same MoE layer (router softmax top-k with the k
weights renormalised, rows permuted by expert, per-expert SwiGLU with torch.matmul, weighted
combine via index_add_) forward and forward+backward on random fp32 data; one untimed warm-up,
then -r timed runs, medians. Prints the same columns (and --json rows) as the C++ bench.
FLOPs: forward = 3 expert GEMMs of 2 T k H F + the router's 2 T H E; backward twice that.

Threads: --torch-threads sets torch.set_num_threads (intra-op pool); BLAS threads come from the
environment (OPENBLAS_NUM_THREADS) before torch loads, which bench/moe_layer_compare.sh sets.
Run with Debian's torch: /usr/bin/python3 bench/moe_layer_torch.py --tokens 512,2048 --backward
"""
import argparse
import json
import statistics
import sys
import time

import torch


def make_layer(h, f, e, gen):
    def normal(*shape, fan_in):
        return (torch.randn(*shape, generator=gen) / fan_in ** 0.5).requires_grad_()
    return {
        "router": normal(e, h, fan_in=h),
        "gate": [normal(f, h, fan_in=h) for _ in range(e)],
        "up": [normal(f, h, fan_in=h) for _ in range(e)],
        "down": [normal(h, f, fan_in=f) for _ in range(e)],
    }


def moe_forward(x, layer, topk):
    t, h = x.shape
    e = layer["router"].shape[0]
    probs = torch.softmax(x @ layer["router"].t(), dim=-1)
    weights, experts = torch.topk(probs, topk, dim=-1)
    weights = weights / weights.sum(dim=-1, keepdim=True)
    flat_experts = experts.reshape(-1)
    order = torch.argsort(flat_experts, stable=True)  # rows grouped by expert, token order inside
    token_of_row = order // topk
    counts = torch.bincount(flat_experts, minlength=e).tolist()
    rows = x.index_select(0, token_of_row)
    outputs, begin = [], 0
    for i, n in enumerate(counts):
        r = rows[begin:begin + n]
        gate, up = torch.matmul(r, layer["gate"][i].t()), torch.matmul(r, layer["up"][i].t())
        a = torch.nn.functional.silu(gate) * up
        outputs.append(torch.matmul(a, layer["down"][i].t()))
        begin += n
    expert_out = torch.cat(outputs) * weights.reshape(-1)[order].unsqueeze(1)
    return torch.zeros_like(x).index_add_(0, token_of_row, expert_out)


def time_layer(layer, t, h, topk, backward, repetitions, gen):
    x = torch.randn(t, h, generator=gen).requires_grad_()
    dout = torch.randn(t, h, generator=gen)
    fwd, fwdbwd = [], []
    for run in range(repetitions + 1):  # run 0 is the warm-up
        start = time.perf_counter()
        out = moe_forward(x, layer, topk)
        forward_s = time.perf_counter() - start
        if backward:
            out.backward(dout)
        total_s = time.perf_counter() - start
        for p in [layer["router"], x, *layer["gate"], *layer["up"], *layer["down"]]:
            p.grad = None
        if run:
            fwd.append(1e3 * forward_s)
            fwdbwd.append(1e3 * total_s)
    return statistics.median(fwd), statistics.median(fwdbwd) if backward else None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--ffn", type=int, default=2816)
    p.add_argument("--experts", type=int, default=8)
    p.add_argument("--topk", type=int, default=2)
    p.add_argument("--tokens", default="512,2048")
    p.add_argument("--backward", action="store_true")
    p.add_argument("--torch-threads", type=int, default=1)
    p.add_argument("-r", "--repetitions", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.torch_threads)
    gen = torch.Generator().manual_seed(a.seed)
    layer = make_layer(a.hidden, a.ffn, a.experts, gen)
    if not a.json:
        print("| tokens | fwd_ms | fwdbwd_ms | fwd GF/s | GFLOP/s |")
        print("| -----: | -----: | --------: | -------: | ------: |")
    for t in [int(v) for v in a.tokens.split(",")]:
        fwd_ms, fwdbwd_ms = time_layer(layer, t, a.hidden, a.topk, a.backward, a.repetitions, gen)
        forward_flops = 2.0 * t * a.topk * a.hidden * a.ffn * 3 + 2.0 * t * a.hidden * a.experts
        fwd_gflops = forward_flops / (fwd_ms * 1e6)
        gflops = 3 * forward_flops / (fwdbwd_ms * 1e6) if a.backward else fwd_gflops
        if a.json:
            print(json.dumps({"bench": "moe_layer_torch", "hidden": a.hidden, "ffn": a.ffn, "experts": a.experts,
                              "topk": a.topk, "tokens": t, "torch_threads": a.torch_threads, "fwd_ms": fwd_ms,
                              "fwdbwd_ms": fwdbwd_ms, "fwd_gflops": fwd_gflops, "gflops": gflops}))
        else:
            fwdbwd = f"{fwdbwd_ms:.2f}" if a.backward else "-"
            print(f"| {t:6d} | {fwd_ms:6.2f} | {fwdbwd:>9} | {fwd_gflops:8.1f} | {gflops:7.1f} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
