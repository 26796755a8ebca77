"""DeepSeek's EPLB (github.com/deepseek-ai/EPLB, eplb.py) re-written in plain PyTorch, the
reference that `moe eplb --policy global|hierarchical` is measured against, plus the skewed load
matrices that bench/eplb_targets.sh feeds both. Same algorithm and tie rules as eplb.py: its
torch.sort (descending, not stable) orders items, its max(dim=-1) picks the first largest.

  python3 deepseek_eplb_reference.py gen --out-dir DIR
      DIR/<case>.json: load matrix [layers][experts]; DIR/<case>.drift.json: the same load drifted
      (for the budgeted re-plan); DIR/cases.txt: "<case> slots ranks nodes groups" per line.
  python3 deepseek_eplb_reference.py plan --stats M.json --slots S --ranks R --nodes N \
      --groups G --policy global|hierarchical
      prints [{"layer", "max_mean"}...], rank loads scored as `moe eplb` scores them (an expert's
      load split evenly over its replicas; slot s on rank s / (slots / ranks)).
"""
import argparse
import json
import os

import torch


def balanced_packing(weight, num_packs):
    """weight [L, n] -> pack_index, rank_in_pack [L, n]: n / num_packs items per pack, heaviest
    first into the lightest pack (lowest index on ties) that still has room."""
    n_layers, n_items = weight.shape
    per_pack = n_items // num_packs
    if per_pack == 1:
        return (torch.arange(n_items).expand(n_layers, n_items).clone(),
                torch.zeros(n_layers, n_items, dtype=torch.int64))
    order = weight.float().sort(-1, descending=True).indices
    pack_index = torch.full((n_layers, n_items), -1, dtype=torch.int64)
    rank_in_pack = torch.full_like(pack_index, -1)
    for layer in range(n_layers):
        load = [0.0] * num_packs
        count = [0] * num_packs
        for item in order[layer].tolist():
            open_packs = [p for p in range(num_packs) if count[p] < per_pack]
            pack = min(open_packs, key=lambda p: load[p])
            pack_index[layer, item] = pack
            rank_in_pack[layer, item] = count[pack]
            load[pack] += weight[layer, item]
            count[pack] += 1
    return pack_index, rank_in_pack


def replicate_experts(weight, num_phy):
    """weight [L, E] -> phy2log, replica rank [L, num_phy], logcnt [L, E]: each extra slot goes to
    the expert with the largest load per replica."""
    n_layers, num_log = weight.shape
    rows = torch.arange(n_layers)
    phy2log = torch.arange(num_phy).repeat(n_layers, 1)
    rank = torch.zeros(n_layers, num_phy, dtype=torch.int64)
    logcnt = torch.ones(n_layers, num_log, dtype=torch.int64)
    for phy in range(num_log, num_phy):
        best = (weight / logcnt).max(dim=-1).indices
        phy2log[:, phy] = best
        rank[:, phy] = logcnt[rows, best]
        logcnt[rows, best] += 1
    return phy2log, rank, logcnt


def inverse(perm):
    inv = torch.empty_like(perm)
    inv.scatter_(1, perm, torch.arange(perm.size(1)).expand(perm.shape).clone())
    return inv


def rebalance_hierarchical(weight, num_phy, num_groups, num_nodes, num_gpus):
    """Groups to nodes, replicas within each node, replicas to the node's GPUs.
    Returns phy2log [L, num_phy] (slots in GPU order) and logcnt [L, E]."""
    n_layers, num_log = weight.shape
    group_size = num_log // num_groups
    groups_per_node = num_groups // num_nodes
    phy_per_gpu = num_phy // num_gpus
    log_per_node = num_log // num_nodes

    group_load = weight.view(n_layers, num_groups, group_size).sum(-1)
    g_pack, g_rank = balanced_packing(group_load, num_nodes)
    log2mlog = (((g_pack * groups_per_node + g_rank) * group_size).unsqueeze(-1) +
                torch.arange(group_size)).flatten(-2)
    mlog2log = inverse(log2mlog)

    mlog_load = weight.gather(-1, mlog2log).view(-1, log_per_node)
    phy2mlog, phy_rank, mlogcnt = replicate_experts(mlog_load, num_phy // num_nodes)

    phy_load = (mlog_load / mlogcnt).gather(-1, phy2mlog)
    pack, rank_in_pack = balanced_packing(phy_load, num_gpus // num_nodes)
    pphy2phy = inverse(pack * phy_per_gpu + rank_in_pack)
    pphy2mlog = phy2mlog.gather(-1, pphy2phy).view(n_layers, num_nodes, -1)
    pphy2mlog = (pphy2mlog + torch.arange(0, num_log, log_per_node).view(1, -1, 1)).flatten(-2)
    phy2log = mlog2log.gather(-1, pphy2mlog)
    logcnt = mlogcnt.view(n_layers, -1).gather(-1, log2mlog)
    return phy2log, logcnt


def max_mean(load_row, phy2log_row, logcnt_row, ranks):
    per_slot = load_row[phy2log_row] / logcnt_row[phy2log_row]
    per_rank = per_slot.view(ranks, -1).sum(-1)
    mean = per_rank.mean().item()
    return per_rank.max().item() / mean if mean > 0 else 1.0


def plan(args):
    with open(args.stats) as f:
        load = torch.tensor(json.load(f), dtype=torch.float64)
    hierarchical = args.policy == "hierarchical"
    phy2log, logcnt = rebalance_hierarchical(
        load.float(), args.slots, args.groups if hierarchical else 1,
        args.nodes if hierarchical else 1, args.ranks)
    rows = [{"layer": layer,
             "max_mean": max_mean(load[layer], phy2log[layer], logcnt[layer].double(), args.ranks)}
            for layer in range(load.shape[0])]
    print(json.dumps(rows))


# Load matrices: Zipf over a per-layer random permutation of the experts, a few extra-hot experts,
# multinomial token counts. Drift: half the hot ranks move to other experts, 20 % fresh noise.
CASES = [  # name, layers, experts, slots, ranks, nodes, groups, zipf s, hot experts, tokens
    ("z08_e64", 8, 64, 96, 8, 1, 4, 0.8, 0, 65536),
    ("z12_e128", 16, 128, 160, 16, 2, 8, 1.2, 2, 262144),
    ("z16_e256", 58, 256, 288, 32, 4, 8, 1.6, 0, 262144),
    ("z12hot_e256", 58, 256, 320, 32, 4, 8, 1.2, 4, 524288),
    ("z08hot_e256", 32, 256, 288, 16, 2, 4, 0.8, 8, 262144),
    ("z16_e64", 24, 64, 128, 32, 4, 4, 1.6, 1, 131072),
]


def zipf_layer(gen, experts, s, hot, tokens, perm):
    p = 1.0 / torch.arange(1, experts + 1, dtype=torch.float64) ** s
    p[:hot] *= 4.0
    p = p / p.sum()
    counts = torch.zeros(experts, dtype=torch.float64)
    counts[perm] = torch.bincount(torch.multinomial(p, tokens, True, generator=gen),
                                  minlength=experts).double()
    return counts


def gen(args):
    os.makedirs(args.out_dir, exist_ok=True)
    lines = []
    for seed, (name, layers, experts, slots, ranks, nodes, groups, s, hot, tokens) in enumerate(CASES):
        g = torch.Generator().manual_seed(1000 + seed)
        base, drift = [], []
        for _ in range(layers):
            perm = torch.randperm(experts, generator=g)
            base.append(zipf_layer(g, experts, s, hot, tokens, perm))
            moved = perm.clone()  # the hottest half of the experts trade places at random
            half = torch.arange(experts // 2)
            moved[half] = perm[half[torch.randperm(experts // 2, generator=g)]]
            drifted = zipf_layer(g, experts, s, hot, tokens, moved)
            noise = zipf_layer(g, experts, s, hot, tokens // 5, torch.randperm(experts, generator=g))
            drift.append(drifted + noise)
        for suffix, mat in (("", base), (".drift", drift)):
            with open(os.path.join(args.out_dir, name + suffix + ".json"), "w") as f:
                json.dump([[int(v) for v in row.tolist()] for row in mat], f)
        lines.append(f"{name} {slots} {ranks} {nodes} {groups}")
    with open(os.path.join(args.out_dir, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_gen = sub.add_parser("gen")
    p_gen.add_argument("--out-dir", required=True)
    p_plan = sub.add_parser("plan")
    p_plan.add_argument("--stats", required=True)
    for key in ("slots", "ranks", "nodes", "groups"):
        p_plan.add_argument("--" + key, type=int, required=True)
    p_plan.add_argument("--policy", choices=("global", "hierarchical"), required=True)
    args = parser.parse_args()
    if args.cmd == "gen":
        gen(args)
    else:
        plan(args)


if __name__ == "__main__":
    main()
