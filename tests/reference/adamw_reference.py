#!/usr/bin/python3
"""torch.optim.AdamW on a fixed case: the expected values of tests/train/optimizer_test.cpp.

Run: /usr/bin/python3 tests/reference/adamw_reference.py
"""
import torch
torch.set_default_dtype(torch.float64)
w = torch.tensor([0.5, -1.25, 2.0, 0.0], requires_grad=True)
b = torch.tensor([0.1, -0.2], requires_grad=True)
opt = torch.optim.AdamW([{"params": [w], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0.0}], lr=0.01, betas=(0.9, 0.95), eps=1e-8)
grads_w = [[0.3, -0.1, 0.0, 2.0], [-0.5, 0.2, 1.0, -1.0], [0.05, 0.05, -0.3, 0.7]]
grads_b = [[1.0, -1.0], [0.5, 0.25], [-2.0, 0.1]]
lrs = [0.01, 0.005, 0.02]
for gw, gb, lr in zip(grads_w, grads_b, lrs):
    for g in opt.param_groups: g["lr"] = lr
    w.grad = torch.tensor(gw); b.grad = torch.tensor(gb)
    opt.step()
print(repr(w.detach().tolist()), repr(b.detach().tolist()))
