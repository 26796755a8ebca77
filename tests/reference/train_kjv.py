#!/usr/bin/python3
"""Trains a small Mixtral (the mixtral-tiny shape) on the King James Bible: the model of the
quantization-quality check in docs/PERFORMANCE.md.

1. A SentencePiece BPE tokenizer on TEXT_DIR/train.txt with Llama's settings (byte fallback, digits
   split, identity normalisation, BOS 1 / EOS 2 / UNK 0).
2. The model in float32 (one CPU thread, or --device cuda; TF32 off): random windows of --seq
   tokens (first token replaced by BOS, as perplexity windows are), AdamW, linear warmup then
   cosine to 10 %, gradient clipping at 1, plus Mixtral's load-balancing loss (transformers'
   load_balancing_loss_func) times --aux-coef.
3. An HF directory moe.cpp loads: config.json, model.safetensors (F32, Mixtral tensor names),
   tokenizer.model, tokenizer_config.json.
4. The held-out perplexity of TEXT_DIR/test.txt, windowed as `moe eval --perplexity` does (also
   every --eval-every steps, to watch for over-fitting).

    scripts/kjv_text.sh /work/models/kjv
    /usr/bin/python3 tests/reference/train_kjv.py --text-dir /work/models/kjv --out /work/models/kjv-mixtral
The defaults are the run recorded in docs/PERFORMANCE.md (there with --device cuda --eval-every 300).
"""

import argparse
import json
import math
import os
import sys
import time

import sentencepiece
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_random_model import write_safetensors  # noqa: E402
from perplexity_reference import read_text, tokenize, window_nll  # noqa: E402


def mixtral_config(vocab):
    """config.json of the mixtral-tiny preset (`moe init --preset mixtral-tiny`) with this vocab."""
    return {
        "architectures": ["MixtralForCausalLM"], "model_type": "mixtral", "torch_dtype": "float32",
        "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 256, "head_dim": 32,
        "intermediate_size": 512, "max_position_embeddings": 4096, "num_attention_heads": 8,
        "num_experts_per_tok": 2, "num_hidden_layers": 4, "num_key_value_heads": 4, "num_local_experts": 8,
        "rms_norm_eps": 1e-05, "rope_theta": 1000000.0, "tie_word_embeddings": False, "vocab_size": vocab,
        "router_aux_loss_coef": 0.01, "sliding_window": None,
    }


TOKENIZER_CONFIG = {
    "add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
    "unk_token": "<unk>", "clean_up_tokenization_spaces": False, "legacy": True,
    "tokenizer_class": "LlamaTokenizer", "model_max_length": 4096,
}


def train_tokenizer(train_path, out_dir, vocab):
    sentencepiece.SentencePieceTrainer.train(
        input=train_path, model_prefix=os.path.join(out_dir, "tokenizer"), model_type="bpe",
        vocab_size=vocab, byte_fallback=True, split_digits=True, normalization_rule_name="identity",
        remove_extra_whitespaces=False, allow_whitespace_only_pieces=True, add_dummy_prefix=True,
        character_coverage=1.0, unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1,
        minloglevel=2)
    os.remove(os.path.join(out_dir, "tokenizer.vocab"))


def rms_norm(x, weight, eps):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Mixtral(torch.nn.Module):
    """Mixtral's decoder in float32 (as transformers' modeling_mixtral.py), experts stacked per layer."""

    def __init__(self, cfg, seed):
        super().__init__()
        self.cfg = cfg
        H, V, L = cfg["hidden_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
        nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
        E, Fd = cfg["num_local_experts"], cfg["intermediate_size"]
        gen = torch.Generator().manual_seed(seed)

        def param(*shape, std):
            return torch.nn.Parameter(torch.randn(*shape, generator=gen) * std)

        out_std = 0.02 / math.sqrt(2 * L)  # residual-branch outputs, as GPT-2 scales them
        self.embed = param(V, H, std=0.02)
        self.lm_head = param(V, H, std=0.02)
        self.norm = torch.nn.Parameter(torch.ones(H))
        self.layers = torch.nn.ModuleList()
        for _ in range(L):
            layer = torch.nn.Module()
            layer.ln1 = torch.nn.Parameter(torch.ones(H))
            layer.ln2 = torch.nn.Parameter(torch.ones(H))
            layer.q = param(nh * hd, H, std=0.02)
            layer.k = param(nkv * hd, H, std=0.02)
            layer.v = param(nkv * hd, H, std=0.02)
            layer.o = param(H, nh * hd, std=out_std)
            layer.gate = param(E, H, std=0.02)
            layer.w1 = param(E, Fd, H, std=0.02)
            layer.w3 = param(E, Fd, H, std=0.02)
            layer.w2 = param(E, H, Fd, std=out_std)
            self.layers.append(layer)
        inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def attention(self, layer, x, cos, sin, mask):
        B, T, _ = x.shape
        nh, nkv, hd = self.cfg["num_attention_heads"], self.cfg["num_key_value_heads"], self.cfg["head_dim"]
        q = (x @ layer.q.T).view(B, T, nh, hd).transpose(1, 2)
        k = (x @ layer.k.T).view(B, T, nkv, hd).transpose(1, 2)
        v = (x @ layer.v.T).view(B, T, nkv, hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(nh // nkv, dim=1), v.repeat_interleave(nh // nkv, dim=1)
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, dim=-1)
        return (probs @ v).transpose(1, 2).reshape(B, T, nh * hd) @ layer.o.T

    def moe(self, layer, x):
        """x [N, H] -> ([N, H], router logits [N, E]); top-k of the softmax, renormalised."""
        logits = x @ layer.gate.T
        weights, experts = torch.topk(torch.softmax(logits, dim=-1), self.cfg["num_experts_per_tok"], dim=-1)
        weights = weights / weights.sum(-1, keepdim=True)
        out = torch.zeros_like(x)
        for e in range(self.cfg["num_local_experts"]):
            rows, slot = (experts == e).nonzero(as_tuple=True)
            if rows.numel() == 0:
                continue
            xe = x[rows]
            ye = (F.silu(xe @ layer.w1[e].T) * (xe @ layer.w3[e].T)) @ layer.w2[e].T
            out = out.index_add(0, rows, ye * weights[rows, slot, None])
        return out, logits

    def forward(self, tokens):
        """tokens [B, T] -> (logits [B, T, V], router logits of every layer [L * B * T, E])."""
        B, T = tokens.shape
        H, eps = self.cfg["hidden_size"], self.cfg["rms_norm_eps"]
        freqs = torch.outer(torch.arange(T, dtype=torch.float32, device=tokens.device), self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        mask = torch.full((T, T), float("-inf"), device=tokens.device).triu(1)
        h, router_logits = self.embed[tokens], []
        for layer in self.layers:
            h = h + self.attention(layer, rms_norm(h, layer.ln1, eps), cos, sin, mask)
            out, logits = self.moe(layer, rms_norm(h, layer.ln2, eps).view(B * T, H))
            h = h + out.view(B, T, H)
            router_logits.append(logits)
        return rms_norm(h, self.norm, eps) @ self.lm_head.T, torch.cat(router_logits)

    def hf_tensors(self):
        """{HF name: float32 numpy array}."""
        t = {"model.embed_tokens.weight": self.embed, "lm_head.weight": self.lm_head, "model.norm.weight": self.norm}
        for index, layer in enumerate(self.layers):
            p = "model.layers.%d." % index
            t[p + "input_layernorm.weight"] = layer.ln1
            t[p + "post_attention_layernorm.weight"] = layer.ln2
            for name in ("q", "k", "v", "o"):
                t[p + "self_attn.%s_proj.weight" % name] = getattr(layer, name)
            t[p + "block_sparse_moe.gate.weight"] = layer.gate
            for e in range(self.cfg["num_local_experts"]):
                for name in ("w1", "w2", "w3"):
                    t[p + "block_sparse_moe.experts.%d.%s.weight" % (e, name)] = getattr(layer, name)[e]
        return {name: value.detach().float().cpu().numpy().copy() for name, value in t.items()}


def load_balancing_loss(router_logits, top_k):
    """transformers' load_balancing_loss_func without a mask: E * sum(f_i * P_i) over all layers."""
    n_experts = router_logits.shape[-1]
    probs = torch.softmax(router_logits, dim=-1)
    _, selected = torch.topk(probs, top_k, dim=-1)
    tokens_per_expert = F.one_hot(selected, n_experts).float().mean(dim=0)  # [k, E]
    return n_experts * (tokens_per_expert * probs.mean(dim=0)[None]).sum()


def learning_rate(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def test_perplexity(model, test, args):
    """Held-out perplexity, windows as moe eval cuts them."""
    model.eval()
    with torch.no_grad():
        sums = list(window_nll(lambda ids: model(torch.tensor([ids], device=args.device))[0][0].cpu(), test,
                               args.ctx, model.cfg["bos_token_id"]))
    model.train()
    return math.exp(sum(s for s, _ in sums) / sum(c for _, c in sums)), sum(c for _, c in sums)


def train(model, tokens, test, args):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(args.seed + 1)
    data = torch.tensor(tokens, dtype=torch.long)
    start = time.time()
    for step in range(args.steps):
        offsets = torch.randint(0, len(data) - args.seq - 1, (args.batch,), generator=gen)
        batch = torch.stack([data[o:o + args.seq + 1] for o in offsets.tolist()]).to(args.device)
        inputs, targets = batch[:, :-1].clone(), batch[:, 1:]
        inputs[:, 0] = model.cfg["bos_token_id"]  # as each perplexity window starts
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, args)
        logits, router_logits = model(inputs)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        aux = load_balancing_loss(router_logits, model.cfg["num_experts_per_tok"])
        optimizer.zero_grad(set_to_none=True)
        (ce + args.aux_coef * aux).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % 10 == 0 or step == args.steps - 1:
            elapsed = time.time() - start
            print("step %d/%d  loss %.4f  aux %.4f  lr %.2e  %.0f tok/s  %.0f s" % (
                step, args.steps, ce.item(), aux.item(), learning_rate(step, args),
                (step + 1) * args.batch * args.seq / elapsed, elapsed), flush=True)
        if args.eval_every and (step + 1) % args.eval_every == 0 and step + 1 < args.steps:
            print("step %d  test perplexity %.4f" % (step + 1, test_perplexity(model, test, args)[0]), flush=True)
    return ce.item(), time.time() - start


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--text-dir", required=True, help="holds train.txt and test.txt (scripts/kjv_text.sh)")
    ap.add_argument("--out", required=True, help="HF directory to write")
    ap.add_argument("--vocab", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--aux-coef", type=float, default=0.01)
    ap.add_argument("--ctx", type=int, default=256, help="perplexity window of the evaluations")
    ap.add_argument("--eval-every", type=int, default=0, help="steps between held-out evaluations (0: at the end)")
    ap.add_argument("--device", default="cpu", help="cpu (one thread) or cuda")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.set_float32_matmul_precision("highest")
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)

    train_tokenizer(os.path.join(args.text_dir, "train.txt"), args.out, args.vocab)
    tokens = tokenize(args.out, read_text(os.path.join(args.text_dir, "train.txt")))
    test = tokenize(args.out, read_text(os.path.join(args.text_dir, "test.txt")))
    print("tokenizer: vocab %d, %d training tokens, %d test tokens" % (args.vocab, len(tokens), len(test)), flush=True)

    cfg = mixtral_config(args.vocab)
    model = Mixtral(cfg, args.seed).to(args.device)
    final_loss, seconds = train(model, tokens, test, args)

    write_safetensors(os.path.join(args.out, "model.safetensors"), model.hf_tensors())
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as f:
        json.dump(TOKENIZER_CONFIG, f, indent=2)
    perplexity, scored = test_perplexity(model, test, args)
    print(json.dumps({"final_train_loss": final_loss, "train_seconds": round(seconds), "device": args.device,
                      "test_perplexity_f32": perplexity, "test_tokens_scored": scored, "ctx": args.ctx}))


if __name__ == "__main__":
    sys.exit(main())
