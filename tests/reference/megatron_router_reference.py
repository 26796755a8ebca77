#!/usr/bin/python3
"""Golden cases for the training router (src/train/router_train.*), from Megatron-Core's code.

    /usr/bin/python3 tests/reference/megatron_router_reference.py \
        --out tests/golden/megatron_router_cases.json

Written from NVIDIA/Megatron-LM megatron/core/transformer/moe/router.py (TopKRouter.routing,
sinkhorn_load_balancing, _apply_aux_loss, _apply_seq_aux_loss, apply_z_loss) and moe_utils.py
(switch_load_balancing_loss_func, z_loss_func, sinkhorn, group_limited_topk,
topk_routing_with_score_function, compute_routing_scores_for_aux_loss, get_capacity,
apply_router_token_dropping, MoEAuxLossAutoScaler, get_updated_expert_bias): the non-fused paths,
one process (TP x CP group of size 1), no padding mask, no router replay. Everything runs in float64
from float32 logits stored in the file; d_logits come from torch autograd of
    sum_{t,j} d_weights[t][j] * probs[t][expert[t][j]]  (+ aux and z losses through
    MoEAuxLossAutoScaler, whose backward feeds each loss the gradient 1, i.e. plain addition).

Departures, each deliberate:
  * token order: the C++ router takes tokens sequence by sequence ([B][S], token t is position
    t % S of sequence t / S); Megatron's router sees [S][B]. For seq_aux_loss the logits are
    transposed to Megatron's layout before its reshape(seq_length, -1), so the loss is Megatron's.
  * position drop policy: Megatron takes torch.topk of the 0/1 routing map per expert, leaving the
    choice among equal ones to the kernel; we keep the earliest tokens (a stable cumulative count).
  * top-k order and ties: torch.topk sorted=True (training); random logits have no exact ties.
"""

import argparse
import json
import math

import torch

MEGATRON = "NVIDIA/Megatron-LM d98e8a64ddf34856e74b24714e3bedb2f5a39553"


# ---- moe_utils.py -----------------------------------------------------------------------------

def switch_load_balancing_loss_func(probs, tokens_per_expert, total_num_tokens, topk, num_experts,
                                    moe_aux_loss_coeff):
    aggregated_probs_per_expert = probs.sum(dim=0)
    return torch.sum(aggregated_probs_per_expert * tokens_per_expert) * (
        num_experts * moe_aux_loss_coeff / (topk * total_num_tokens * total_num_tokens))


def z_loss_func(logits, z_loss_coeff):
    logsum = torch.logsumexp(logits, dim=-1)
    return torch.mean(torch.square(logsum)) * z_loss_coeff


def sinkhorn(cost, tol=0.0001):
    cost = torch.exp(cost)
    d0 = torch.ones(cost.size(0), dtype=cost.dtype)
    d1 = torch.ones(cost.size(1), dtype=cost.dtype)
    eps = 0.00000001
    error = 1e9
    d1_old = d1
    while error > tol:
        d0 = (1 / d0.size(0)) * 1 / (torch.sum(d1 * cost, 1) + eps)
        d1 = (1 / d1.size(0)) * 1 / (torch.sum(d0.unsqueeze(1) * cost, 0) + eps)
        error = torch.mean(torch.abs(d1_old - d1))
        d1_old = d1
    return d1 * cost * d0.unsqueeze(1)


def group_limited_topk(scores, topk, num_tokens, num_experts, num_groups, group_topk):
    group_scores = (
        scores.view(num_tokens, num_groups, -1).topk(topk // group_topk, dim=-1)[0].sum(dim=-1))
    group_idx = torch.topk(group_scores, k=group_topk, dim=-1, sorted=False)[1]
    group_mask = torch.zeros_like(group_scores)
    group_mask.scatter_(1, group_idx, 1)
    score_mask = (group_mask.unsqueeze(-1)
                  .expand(num_tokens, num_groups, num_experts // num_groups)
                  .reshape(num_tokens, -1))
    masked_scores = scores.masked_fill(~score_mask.bool(), float('-inf'))
    return torch.topk(masked_scores, k=topk, dim=-1)


def topk_routing_with_score_function(logits, topk, use_pre_softmax, num_groups, group_topk,
                                     scaling_factor, score_function, expert_bias):
    """Returns the sparse probs and routing map, plus top_indices (Megatron's dense_output)."""
    num_tokens, num_experts = logits.shape

    def compute_topk(scores, topk, num_groups=None, group_topk=None):
        if group_topk:
            return group_limited_topk(scores, topk, num_tokens, num_experts, num_groups,
                                      group_topk)
        return torch.topk(scores, k=topk, dim=1, sorted=True)

    if score_function == "softmax":
        if use_pre_softmax:
            scores = torch.softmax(logits, dim=-1)
            probs, top_indices = compute_topk(scores, topk, num_groups, group_topk)
        else:
            scores, top_indices = compute_topk(logits, topk, num_groups, group_topk)
            probs = torch.softmax(scores, dim=-1)
    else:
        scores = elementwise_scores(logits, score_function)
        if expert_bias is not None:
            scores_for_routing = scores + expert_bias
            _, top_indices = compute_topk(scores_for_routing, topk, num_groups, group_topk)
            scores = torch.gather(scores, dim=1, index=top_indices)
        else:
            scores, top_indices = compute_topk(scores, topk, num_groups, group_topk)
        probs = scores / (scores.sum(dim=-1, keepdim=True) + 1e-20) if topk > 1 else scores
    if scaling_factor:
        probs = probs * scaling_factor
    routing_probs = torch.zeros_like(logits).scatter(1, top_indices, probs)
    routing_map = torch.zeros_like(logits).int().scatter(1, top_indices, 1).bool()
    return routing_probs, routing_map, top_indices


def compute_routing_scores_for_aux_loss(logits, topk, score_function):
    if score_function == "softmax":
        scores = torch.softmax(logits, dim=-1)
    else:
        scores = elementwise_scores(logits, score_function)
        scores = scores / (scores.sum(dim=-1, keepdim=True) + 1e-20)
    _, top_indices = torch.topk(scores, k=topk, dim=1)
    routing_map = torch.zeros_like(logits).int().scatter(1, top_indices, 1).bool()
    return routing_map, scores


def elementwise_scores(logits, score_function):
    # moe_router_score_function sigmoid, or sqrtsoftplus (Megatron-Core's newer score function,
    # softplus(logits).sqrt(), softplus with PyTorch's default beta 1 and threshold 20).
    if score_function == "sigmoid":
        return torch.sigmoid(logits)
    assert score_function == "sqrtsoftplus", score_function
    return torch.nn.functional.softplus(logits).sqrt()


def get_capacity(num_tokens, num_experts, capacity_factor):
    return math.ceil((num_tokens / num_experts) * capacity_factor)


def apply_router_token_dropping(routing_probs, routing_map, router_topk, capacity_factor,
                                drop_policy, pad_to_capacity):
    num_tokens, num_experts = routing_probs.shape
    expert_capacity = get_capacity(num_tokens * router_topk, num_experts, capacity_factor)
    if expert_capacity > num_tokens:
        capacity_mask = torch.ones_like(routing_probs).bool()
    elif drop_policy == "probs":
        _, capacity_indices = torch.topk(routing_probs, k=expert_capacity, dim=0, sorted=False)
        capacity_mask = torch.zeros_like(routing_probs).scatter(0, capacity_indices, 1).bool()
    else:  # "position": the earliest routed tokens (see the module comment). Which unrouted
        # tokens pad an expert is not recorded in the golden file, so they are left out here.
        capacity_mask = torch.cumsum(routing_map.int(), dim=0) <= expert_capacity
    if pad_to_capacity:
        final_map = capacity_mask
    else:
        final_map = torch.logical_and(routing_map, capacity_mask)
    return routing_probs * final_map, final_map, expert_capacity


class MoEAuxLossAutoScaler(torch.autograd.Function):
    @staticmethod
    def forward(ctx, output, aux_loss):
        ctx.save_for_backward(aux_loss)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        (aux_loss,) = ctx.saved_tensors
        return grad_output, torch.ones_like(aux_loss)  # main_loss_backward_scale = 1


def get_updated_expert_bias(tokens_per_expert, expert_bias, expert_bias_update_rate):
    average_tokens = tokens_per_expert.sum(dim=-1, keepdim=True) / tokens_per_expert.shape[-1]
    offset = average_tokens - tokens_per_expert
    return expert_bias + torch.sign(offset) * expert_bias_update_rate


# ---- router.py: TopKRouter.routing in training mode ------------------------------------------

def routing(logits, cfg, expert_bias, seq_length):
    """logits [T, E] in the C++ token order. Returns what the golden file records."""
    topk = cfg["moe_router_topk"]
    num_experts = logits.shape[1]
    balancing = cfg.get("moe_router_load_balancing_type", "aux_loss")
    score_function = cfg.get("moe_router_score_function", "softmax")
    aux_coeff = cfg.get("moe_aux_loss_coeff", 0.0)
    z_coeff = cfg.get("moe_z_loss_coeff")

    z_loss = torch.zeros((), dtype=logits.dtype)
    if z_coeff:
        z_loss = z_loss_func(logits, z_coeff)
        logits = MoEAuxLossAutoScaler.apply(logits, z_loss)

    if balancing == "sinkhorn":
        assert aux_coeff == 0
        with torch.no_grad():
            _, top_indices = torch.topk(sinkhorn(logits.detach()), k=topk, dim=1)
        activated = torch.sigmoid(logits) if topk == 1 else torch.softmax(logits, dim=-1)
        routing_map = torch.zeros_like(logits).int().scatter(1, top_indices, 1).bool()
        probs = activated * routing_map
    else:
        probs, routing_map, top_indices = topk_routing_with_score_function(
            logits, topk, cfg.get("moe_router_pre_softmax", False),
            cfg.get("moe_router_num_groups"), cfg.get("moe_router_group_topk"),
            cfg.get("moe_router_topk_scaling_factor"), score_function, expert_bias)

    capacity = None
    if cfg.get("moe_expert_capacity_factor") is not None:
        probs, routing_map, capacity = apply_router_token_dropping(
            probs, routing_map, topk, cfg["moe_expert_capacity_factor"],
            cfg.get("moe_token_drop_policy", "probs"),
            cfg.get("moe_pad_expert_input_to_capacity", False))

    aux_loss = torch.zeros((), dtype=logits.dtype)
    if aux_coeff > 0 and balancing == "aux_loss":
        aux_map, aux_scores = compute_routing_scores_for_aux_loss(logits, topk, score_function)
        tokens_per_expert = aux_map.sum(dim=0)
        aux_loss = switch_load_balancing_loss_func(aux_scores, tokens_per_expert, logits.shape[0],
                                                   topk, num_experts, aux_coeff)
        probs = MoEAuxLossAutoScaler.apply(probs, aux_loss)
    elif aux_coeff > 0 and balancing == "seq_aux_loss":
        bsz = logits.shape[0] // seq_length
        # Megatron's [S, B] token layout, then its reshape(seq_length, -1).
        megatron_logits = logits.view(bsz, seq_length, num_experts).transpose(0, 1).reshape(
            seq_length * bsz, num_experts)
        aux_map, aux_scores = compute_routing_scores_for_aux_loss(megatron_logits, topk,
                                                                  score_function)
        aux_scores = aux_scores.reshape(seq_length, -1)
        aux_map = aux_map.reshape(seq_length, -1)
        tokens_per_expert = aux_map.sum(dim=0)
        aux_loss = switch_load_balancing_loss_func(aux_scores, tokens_per_expert, seq_length,
                                                   topk, num_experts, aux_coeff) / bsz
        probs = MoEAuxLossAutoScaler.apply(probs, aux_loss)
    return probs, routing_map, top_indices, aux_loss, z_loss, capacity


# ---- cases ------------------------------------------------------------------------------------

CASES = [
    ("softmax_k2_aux_z", 16, 8, {"moe_router_topk": 2, "moe_aux_loss_coeff": 0.01,
                                 "moe_z_loss_coeff": 0.001}),
    ("softmax_pre_k2_aux", 16, 8, {"moe_router_topk": 2, "moe_router_pre_softmax": True,
                                   "moe_aux_loss_coeff": 0.02}),
    ("softmax_pre_k1_aux_scaled", 12, 6, {"moe_router_topk": 1, "moe_router_pre_softmax": True,
                                          "moe_aux_loss_coeff": 0.05,
                                          "moe_router_topk_scaling_factor": 1.5}),
    ("softmax_groups_k4", 12, 16, {"moe_router_topk": 4, "moe_router_num_groups": 4,
                                   "moe_router_group_topk": 2, "moe_aux_loss_coeff": 0.01,
                                   "moe_z_loss_coeff": 0.002}),
    ("softmax_pre_groups_k3", 10, 12, {"moe_router_topk": 3, "moe_router_pre_softmax": True,
                                       "moe_router_num_groups": 3, "moe_router_group_topk": 1}),
    ("sigmoid_bias_groups_k4", 12, 16, {"moe_router_topk": 4, "moe_router_score_function": "sigmoid",
                                        "moe_router_num_groups": 4, "moe_router_group_topk": 2,
                                        "moe_router_topk_scaling_factor": 2.5,
                                        "moe_router_enable_expert_bias": True,
                                        "moe_router_bias_update_rate": 0.001,
                                        "moe_aux_loss_coeff": 0.01, "moe_z_loss_coeff": 0.001}),
    ("sigmoid_k1_aux", 10, 8, {"moe_router_topk": 1, "moe_router_score_function": "sigmoid",
                               "moe_aux_loss_coeff": 0.03}),
    ("sigmoid_k2_bias_none", 14, 8, {"moe_router_topk": 2, "moe_router_score_function": "sigmoid",
                                     "moe_router_load_balancing_type": "none",
                                     "moe_router_enable_expert_bias": True,
                                     "moe_router_bias_update_rate": 0.01}),
    ("seq_aux_softmax_k2", 12, 8, {"moe_router_topk": 2,
                                   "moe_router_load_balancing_type": "seq_aux_loss",
                                   "moe_aux_loss_coeff": 0.02, "moe_z_loss_coeff": 0.001},
     4),
    ("seq_aux_sigmoid_k3", 15, 8, {"moe_router_topk": 3, "moe_router_score_function": "sigmoid",
                                   "moe_router_load_balancing_type": "seq_aux_loss",
                                   "moe_aux_loss_coeff": 0.04}, 5),
    ("sinkhorn_k1", 16, 4, {"moe_router_topk": 1, "moe_router_load_balancing_type": "sinkhorn"}),
    ("sinkhorn_k2_z", 16, 8, {"moe_router_topk": 2, "moe_router_load_balancing_type": "sinkhorn",
                              "moe_z_loss_coeff": 0.001}),
    ("none_z_only", 8, 8, {"moe_router_topk": 2, "moe_router_load_balancing_type": "none",
                           "moe_z_loss_coeff": 0.01}),
    ("capacity_probs", 16, 4, {"moe_router_topk": 2, "moe_expert_capacity_factor": 1.0,
                               "moe_token_drop_policy": "probs", "moe_aux_loss_coeff": 0.01},
     None, 1.5),
    ("capacity_position_pad", 16, 4, {"moe_router_topk": 2, "moe_expert_capacity_factor": 0.75,
                                      "moe_token_drop_policy": "position",
                                      "moe_pad_expert_input_to_capacity": True}, None, 1.5),
    ("capacity_sigmoid_k2_scaled", 12, 6, {"moe_router_topk": 2,
                                           "moe_router_score_function": "sigmoid",
                                           "moe_router_topk_scaling_factor": 2.0,
                                           "moe_expert_capacity_factor": 0.8,
                                           "moe_aux_loss_coeff": 0.01}, None, 1.5),
    # Appended last: the cases above keep their random draws.
    ("sqrtsoftplus_bias_groups_k4", 12, 16, {"moe_router_topk": 4,
                                             "moe_router_score_function": "sqrtsoftplus",
                                             "moe_router_num_groups": 4, "moe_router_group_topk": 2,
                                             "moe_router_topk_scaling_factor": 1.5,
                                             "moe_router_enable_expert_bias": True,
                                             "moe_router_bias_update_rate": 0.001,
                                             "moe_aux_loss_coeff": 0.01, "moe_z_loss_coeff": 0.001}),
    ("sqrtsoftplus_k1_aux", 10, 8, {"moe_router_topk": 1, "moe_router_score_function": "sqrtsoftplus",
                                    "moe_aux_loss_coeff": 0.03}),
    ("seq_aux_sqrtsoftplus_k3", 15, 8, {"moe_router_topk": 3,
                                        "moe_router_score_function": "sqrtsoftplus",
                                        "moe_router_load_balancing_type": "seq_aux_loss",
                                        "moe_aux_loss_coeff": 0.04}, 5),
]


def run_case(name, n_tokens, n_experts, cfg, seq_length=None, skew=0.0, generator=None):
    cfg = dict(cfg)
    cfg["num_experts"] = n_experts
    logits32 = torch.randn(n_tokens, n_experts, generator=generator) * 2.0
    # skew: the low-numbered experts get more tokens, so capacity drops something.
    logits32 += skew * torch.linspace(1.0, -1.0, n_experts)
    logits32 = logits32.float()
    bias32 = None
    if cfg.get("moe_router_enable_expert_bias"):
        bias32 = (torch.randn(n_experts, generator=generator) * 0.1).float()
    d_weights32 = torch.randn(n_tokens, cfg["moe_router_topk"], generator=generator).float()

    logits = logits32.double().requires_grad_(True)
    bias = bias32.double() if bias32 is not None else None
    probs, routing_map, top_indices, aux_loss, z_loss, capacity = routing(
        logits, cfg, bias, seq_length)
    kept = torch.gather(routing_map, 1, top_indices)
    weights = torch.gather(probs, 1, top_indices)
    loss = (weights * d_weights32.double()).sum()
    loss.backward()

    experts = torch.where(kept, top_indices, torch.full_like(top_indices, -1))
    tokens_per_expert = [int((experts == e).sum()) for e in range(n_experts)]
    case = {
        "name": name,
        "config": cfg,
        "seq_length": seq_length or 0,
        "logits": logits32.double().tolist(),
        "expert_bias": bias32.double().tolist() if bias32 is not None else [],
        "d_weights": d_weights32.double().tolist(),
        "experts": experts.tolist(),
        "weights": weights.detach().tolist(),
        "tokens_per_expert": tokens_per_expert,
        "dropped": int((~kept).sum()),
        "capacity": capacity or 0,
        "aux_loss": float(aux_loss),
        "z_loss": float(z_loss),
        "d_logits": logits.grad.tolist(),
    }
    if bias is not None:
        updated = get_updated_expert_bias(torch.tensor(tokens_per_expert, dtype=torch.float64),
                                          bias, cfg["moe_router_bias_update_rate"])
        case["updated_bias"] = updated.tolist()
    return case


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generator = torch.Generator().manual_seed(args.seed)
    cases = []
    for entry in CASES:
        name, n_tokens, n_experts, cfg = entry[:4]
        seq_length = entry[4] if len(entry) > 4 else None
        skew = entry[5] if len(entry) > 5 else 0.0
        cases.append(run_case(name, n_tokens, n_experts, cfg, seq_length, skew, generator))
        print(f"{name}: dropped {cases[-1]['dropped']}, aux {cases[-1]['aux_loss']:.6g}, "
              f"z {cases[-1]['z_loss']:.6g}")
    golden = {
        "command": "/usr/bin/python3 tests/reference/megatron_router_reference.py "
                   f"--out tests/golden/megatron_router_cases.json --seed {args.seed}",
        "source": MEGATRON,
        "cases": cases,
    }
    with open(args.out, "w") as f:
        json.dump(golden, f)
        f.write("\n")


if __name__ == "__main__":
    main()
