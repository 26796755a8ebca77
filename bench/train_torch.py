#!/usr/bin/python3
"""PyTorch side of bench/compare_train.sh: a Mixtral-style MoE language model of the same shape as a
`moe train` config, trained as `moe train` trains it, for its tokens/s.

Model (Mixtral as HF transformers writes it, fp32): token embedding; per layer RMSNorm -> causal
self-attention (q, k, v, o projections without biases, RoPE rotate-half with theta 1e6, GQA by
repeating the kv heads, softmax(q k^T / sqrt(d)) v) -> residual -> RMSNorm -> MoE (router linear,
softmax over the experts, top-k with the k weights renormalised, tokens grouped by expert and a
per-expert SwiGLU loop as Megatron-Core's SequentialMLP, weighted index_add back) -> residual;
final RMSNorm, untied LM head, cross-entropy. Initialisation N(0, 0.02), norms 1.
Training: micro-batches of B x S random tokens, N of them per update (gradients accumulated, each
loss scaled by 1/N), torch.nn.utils.clip_grad_norm_(1.0), torch.optim.AdamW (betas 0.9, 0.999,
eps 1e-8, weight decay 0.01). Timing: each update (data, forward, backward, clip, step) by the
wall clock; prints the median tokens/s of the updates after --warmup (and --json one line).

Threads: --torch-threads sets torch.set_num_threads (intra-op pool); the BLAS threads come from
the environment before torch loads (OPENBLAS_NUM_THREADS), which bench/compare_train.sh sets.
Run with Debian's torch: /usr/bin/python3 bench/train_torch.py --hidden 256 --layers 4 --iters 6
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F


class RmsNorm(torch.nn.Module):
    def __init__(self, h, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(h))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(seq, dim, theta):
    inv = 1.0 / theta ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    angles = torch.outer(torch.arange(seq, dtype=torch.float32), inv)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class Attention(torch.nn.Module):
    def __init__(self, h, heads, kv_heads):
        super().__init__()
        self.heads, self.kv_heads, self.dim = heads, kv_heads, h // heads
        self.q = torch.nn.Linear(h, heads * self.dim, bias=False)
        self.k = torch.nn.Linear(h, kv_heads * self.dim, bias=False)
        self.v = torch.nn.Linear(h, kv_heads * self.dim, bias=False)
        self.o = torch.nn.Linear(heads * self.dim, h, bias=False)

    def forward(self, x, cos, sin, mask):
        b, s, _ = x.shape
        q = self.q(x).view(b, s, self.heads, self.dim).transpose(1, 2)
        k = self.k(x).view(b, s, self.kv_heads, self.dim).transpose(1, 2)
        v = self.v(x).view(b, s, self.kv_heads, self.dim).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        group = self.heads // self.kv_heads
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.dim)
        probs = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
        return self.o((probs @ v).transpose(1, 2).reshape(b, s, -1))


class Moe(torch.nn.Module):
    """Router + top-k + a per-expert SwiGLU loop (Megatron-Core's SequentialMLP)."""

    def __init__(self, h, ffn, experts, topk):
        super().__init__()
        self.topk = topk
        self.router = torch.nn.Linear(h, experts, bias=False)
        self.gate = torch.nn.ModuleList(torch.nn.Linear(h, ffn, bias=False) for _ in range(experts))
        self.up = torch.nn.ModuleList(torch.nn.Linear(h, ffn, bias=False) for _ in range(experts))
        self.down = torch.nn.ModuleList(torch.nn.Linear(ffn, h, bias=False) for _ in range(experts))

    def forward(self, x):
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        probs = torch.softmax(self.router(x), dim=-1)
        weights, experts = torch.topk(probs, self.topk, dim=-1)
        weights = weights / weights.sum(dim=-1, keepdim=True)
        flat = experts.reshape(-1)
        order = torch.argsort(flat, stable=True)  # rows grouped by expert, token order inside
        token_of_row = order // self.topk
        counts = torch.bincount(flat, minlength=len(self.gate)).tolist()
        rows = x.index_select(0, token_of_row)
        outputs, begin = [], 0
        for e, n in enumerate(counts):
            r = rows[begin:begin + n]
            outputs.append(self.down[e](F.silu(self.gate[e](r)) * self.up[e](r)))
            begin += n
        expert_out = torch.cat(outputs) * weights.reshape(-1)[order].unsqueeze(1)
        return torch.zeros_like(x).index_add_(0, token_of_row, expert_out).view(shape)


class Layer(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        self.attn_norm, self.ffn_norm = RmsNorm(a.hidden, a.rms_eps), RmsNorm(a.hidden, a.rms_eps)
        self.attn = Attention(a.hidden, a.heads, a.kv_heads)
        self.moe = Moe(a.hidden, a.ffn, a.experts, a.topk)

    def forward(self, x, cos, sin, mask):
        x = x + self.attn(self.attn_norm(x), cos, sin, mask)
        return x + self.moe(self.ffn_norm(x))


class Model(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embed = torch.nn.Embedding(a.vocab, a.hidden)
        self.layers = torch.nn.ModuleList(Layer(a) for _ in range(a.layers))
        self.norm = RmsNorm(a.hidden, a.rms_eps)
        self.head = torch.nn.Linear(a.hidden, a.vocab, bias=False)
        cos, sin = rope_tables(a.seq, a.hidden // a.heads, a.rope_theta)
        self.register_buffer("cos", cos)
        self.register_buffer("sin", sin)
        self.register_buffer("mask", torch.ones(a.seq, a.seq, dtype=torch.bool).triu(1))
        for name, p in self.named_parameters():
            if "norm" not in name:
                torch.nn.init.normal_(p, std=0.02)

    def forward(self, tokens, targets):
        x = self.embed(tokens)
        for layer in self.layers:
            x = layer(x, self.cos, self.sin, self.mask)
        logits = self.head(self.norm(x))
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--kv-heads", type=int, default=4)
    p.add_argument("--ffn", type=int, default=512, help="expert ffn hidden size")
    p.add_argument("--experts", type=int, default=8)
    p.add_argument("--topk", type=int, default=2)
    p.add_argument("--vocab", type=int, default=512)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--micro-batch", type=int, default=4)
    p.add_argument("--micro-batches", type=int, default=2, help="micro-batches per update")
    p.add_argument("--iters", type=int, default=12, help="updates, warm-up included")
    p.add_argument("--warmup", type=int, default=2, help="updates left out of the median")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--rope-theta", type=float, default=1e6)
    p.add_argument("--rms-eps", type=float, default=1e-5)
    p.add_argument("--torch-threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="one JSON line instead of text")
    a = p.parse_args()
    if a.iters <= a.warmup:
        sys.exit(f"train_torch.py: --iters {a.iters} must exceed --warmup {a.warmup}")
    if a.hidden % a.heads or a.heads % a.kv_heads:
        sys.exit(f"train_torch.py: --hidden {a.hidden}, --heads {a.heads}, --kv-heads {a.kv_heads} do not divide")
    torch.set_num_threads(a.torch_threads)
    torch.manual_seed(a.seed)
    model = Model(a)
    params = sum(t.numel() for t in model.parameters())
    decay = [t for n, t in model.named_parameters() if t.dim() > 1]
    no_decay = [t for n, t in model.named_parameters() if t.dim() <= 1]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    gen = torch.Generator().manual_seed(a.seed)
    tokens_per_update = a.micro_batch * a.seq * a.micro_batches
    rates, losses = [], []
    for it in range(a.iters):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=False)
        total = 0.0
        for _ in range(a.micro_batches):
            sample = torch.randint(0, a.vocab, (a.micro_batch, a.seq + 1), generator=gen)
            loss = model(sample[:, :-1], sample[:, 1:]) / a.micro_batches
            loss.backward()
            total += loss.item()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        seconds = time.perf_counter() - start
        losses.append(total)
        if it >= a.warmup:
            rates.append(tokens_per_update / seconds)
    row = {"params_m": params / 1e6, "tokens_per_update": tokens_per_update, "updates": len(rates),
           "tokens_per_s": statistics.median(rates), "torch_threads": a.torch_threads, "first_loss": losses[0],
           "last_loss": losses[-1]}
    if a.json:
        print(json.dumps(row))
    else:
        print(f"torch {torch.__version__}: {params / 1e6:.1f} M parameters, {tokens_per_update} tokens per update, "
              f"median {row['tokens_per_s']:.0f} tokens/s over updates {a.warmup + 1}..{a.iters} "
              f"(loss {losses[0]:.4f} -> {losses[-1]:.4f})")


if __name__ == "__main__":
    main()
