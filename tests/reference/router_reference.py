#!/usr/bin/python3
"""Golden routing cases for the C++ router, from seeded random logits.

    /usr/bin/python3 tests/reference/router_reference.py --out tests/golden/router_cases.json

Modes (scores computed in float64 from the float32 logits stored in the file):
  softmax_topk          softmax over all E, top-k, weights = the k probabilities,
                        NOT renormalised (Qwen2-MoE / OLMoE norm_topk_prob=false,
                        TRT-LLM "NONE")
  renorm                top-k of the logits, softmax over those k (Mixtral, TRT-LLM
                        "RENORM"; equal to renormalised top-k softmax probabilities)
  sigmoid_bias          DeepSeek-V3 inference/model.py Gate with n_group 1:
                        s = sigmoid(logits); select top-k of s + bias;
                        weights = s[chosen] / sum(s[chosen]) * routed_scaling_factor
  sigmoid_bias_group    as sigmoid_bias plus group-limited top-k: E experts in
                        n_group contiguous groups, group score = sum of the top-2
                        biased scores of the group, keep the topk_group best groups,
                        top-k over the experts of the kept groups only
  softmax_group         DeepSeek-V2 style: p = softmax(logits); group score = max p
                        in the group; keep topk_group groups; top-k of p inside them;
                        weights = p[chosen] (not renormalised) * routed_scaling_factor
                        (1.0 here)
Every ordering (experts and groups) is by descending score with exact ties
broken by the LOWEST index. Each "experts" row is the chosen set listed by
descending WEIGHT, ties lowest id (for the bias modes the set was chosen by the
biased score but is listed by the unbiased weight); "weights" are aligned with
"experts". "kept_groups" lists the kept groups by descending group score.
"""

import argparse
import json
import os
import shlex
import sys

import numpy as np


def order_desc(v):
    """indices sorted by (-v, index)"""
    return sorted(range(len(v)), key=lambda i: (-v[i], i))


def softmax(v):
    m = max(v)
    e = [np.exp(x - m) for x in v]
    z = sum(e)
    return [x / z for x in e]


def sigmoid(v):
    return [1.0 / (1.0 + np.exp(-x)) for x in v]


def group_mask(sel, n_group, topk_group, group_score):
    """returns the set of allowed expert ids"""
    E = len(sel)
    gs = E // n_group
    scores = [group_score(sel[g * gs:(g + 1) * gs]) for g in range(n_group)]
    keep = order_desc(scores)[:topk_group]
    allowed = set()
    for g in keep:
        allowed.update(range(g * gs, (g + 1) * gs))
    return allowed, keep, scores


def route_row(logits, mode, k, bias=None, n_group=1, topk_group=1, scale=1.0):
    """returns (ids, weights, kept groups or None); ids listed by descending
    weight, ties lowest id (for the bias modes the SET is chosen by the biased
    score, the listing order is by the unbiased weight)."""
    ids, ws, keep = _route_row(logits, mode, k, bias, n_group, topk_group, scale)
    order = sorted(range(len(ids)), key=lambda j: (-ws[j], ids[j]))
    return [ids[j] for j in order], [ws[j] for j in order], keep


def _route_row(logits, mode, k, bias=None, n_group=1, topk_group=1, scale=1.0):
    x = [float(v) for v in logits]
    E = len(x)
    if mode == "softmax_topk":
        p = softmax(x)
        ids = order_desc(p)[:k]
        return ids, [p[i] for i in ids], None
    if mode == "renorm":
        ids = order_desc(x)[:k]
        w = softmax([x[i] for i in ids])
        return ids, w, None
    if mode in ("sigmoid_bias", "sigmoid_bias_group"):
        s = sigmoid(x)
        sel = [s[i] + float(bias[i]) for i in range(E)]
        allowed, keep = set(range(E)), None
        if mode == "sigmoid_bias_group":
            allowed, keep, _ = group_mask(sel, n_group, topk_group, lambda g: sum(sorted(g, reverse=True)[:2]))
        ids = [i for i in order_desc(sel) if i in allowed][:k]
        tot = sum(s[i] for i in ids)
        return ids, [s[i] / tot * scale for i in ids], keep
    if mode == "softmax_group":
        p = softmax(x)
        allowed, keep, _ = group_mask(p, n_group, topk_group, max)
        ids = [i for i in order_desc(p) if i in allowed][:k]
        return ids, [p[i] * scale for i in ids], keep
    raise ValueError(mode)


def min_selection_gap(logits, mode, bias):
    """smallest gap between adjacent selection scores (to warn about near-ties
    that an f32 engine could order differently)."""
    x = [float(v) for v in logits]
    if mode in ("softmax_topk", "renorm", "softmax_group"):
        v = x
    else:
        s = sigmoid(x)
        v = [s[i] + float(bias[i]) for i in range(len(x))]
    v = sorted(v, reverse=True)
    return min(v[i] - v[i + 1] for i in range(len(v) - 1))


def make_case(name, logits, k, bias, n_group, topk_group, scale, note=""):
    T, E = logits.shape
    modes = {}
    for mode in ("softmax_topk", "renorm", "sigmoid_bias", "sigmoid_bias_group", "softmax_group"):
        ids, ws, groups = [], [], []
        for t in range(T):
            grp = n_group if mode.endswith("group") else 1
            sc = 1.0 if mode == "softmax_group" else (scale if mode.startswith("sigmoid") else 1.0)
            i, w, g = route_row(logits[t], mode, k, bias, grp, topk_group, sc)
            ids.append(i)
            ws.append(w)
            groups.append(g)
        entry = {"experts": ids, "weights": ws}
        if mode.startswith("sigmoid"):
            entry["routed_scaling_factor"] = scale
            entry["uses_bias"] = True
        else:
            entry["routed_scaling_factor"] = 1.0
            entry["uses_bias"] = False
        if mode.endswith("group"):
            entry["n_group"] = n_group
            entry["topk_group"] = topk_group
            entry["group_score"] = "sum_top2_biased" if mode.startswith("sigmoid") else "max"
            entry["kept_groups"] = groups
        modes[mode] = entry
    return {"name": name, "note": note, "tokens": T, "experts": E, "k": k,
            "logits": logits.tolist(), "bias": [float(b) for b in bias], "modes": modes}


def f32(x):
    return "%.9g" % float(np.float32(x))


def dump(o):
    """compact JSON: logits/bias printed as float32 (exactly the values used),
    weights printed with 17 significant digits (float64 results)."""
    def enc(v, key=None):
        if isinstance(v, dict):
            return "{" + ", ".join(json.dumps(k) + ": " + enc(x, k) for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ", ".join(enc(x, key) for x in v) + "]"
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, (int, np.integer)):
            return str(int(v))
        if key in ("logits", "bias"):
            return f32(v)
        return "%.17g" % float(v)
    return enc(o)


def build():
    rng = np.random.RandomState(20240607)
    cases = []
    # (a) 6 tokens x 16 experts, k = 4, 4 groups of 4, keep 2 groups
    lg = (rng.standard_normal((6, 16)) * 2.0).astype(np.float32)
    bias = (rng.standard_normal(16) * 0.05).astype(np.float32)
    cases.append(make_case("t6_e16_k4", lg, 4, bias, 4, 2, 2.5))
    # (b) 5 tokens x 8 experts, k = 2, 4 groups of 2, keep 2 groups
    lg = (rng.standard_normal((5, 8)) * 2.0).astype(np.float32)
    bias = (rng.standard_normal(8) * 0.05).astype(np.float32)
    cases.append(make_case("t5_e8_k2", lg, 2, bias, 4, 2, 2.5))
    # (c) exact ties: integer logits, zero bias -> every ordering decided by lowest index
    lg = np.array([[1, 1, 1, 1, 0, 0, 0, 0],
                   [0, 2, 2, 0, 2, 2, 0, 0],
                   [3, 0, 0, 3, 0, 0, 3, 3],
                   [0, 0, 0, 0, 0, 0, 0, 0]], dtype=np.float32)
    cases.append(make_case("ties_e8_k2", lg, 2, np.zeros(8, dtype=np.float32), 4, 2, 2.5,
                           note="exact ties everywhere: experts and groups break ties by lowest index"))
    # sanity: random cases have no near-ties an f32 engine could reorder
    for c in cases[:2]:
        for mode in ("softmax_topk", "sigmoid_bias"):
            for row in c["logits"]:
                g = min_selection_gap(row, mode, c["bias"])
                if g < 1e-4:
                    raise SystemExit("near tie %.2e in %s/%s: change the seed" % (g, c["name"], mode))
        # coverage: the bias and the group limit must change the chosen set somewhere
        nb = sum(set(route_row(row, "sigmoid_bias", c["k"], c["bias"])[0]) !=
                 set(route_row(row, "sigmoid_bias", c["k"], [0.0] * c["experts"])[0]) for row in c["logits"])
        ng = sum(set(a) != set(b) for a, b in zip(c["modes"]["sigmoid_bias"]["experts"],
                                                 c["modes"]["sigmoid_bias_group"]["experts"]))
        if nb == 0 or ng == 0:
            raise SystemExit("case %s: bias or group limit never changes the selection; change the seed" % c["name"])
    return cases


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description="write golden router cases")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    doc = {
        "command": " ".join(shlex.quote(a) for a in [sys.executable or "/usr/bin/python3", sys.argv[0]] + list(argv)),
        "description": __doc__.strip().split("\n\n", 2)[2],
        "cases": build(),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(dump(doc) + "\n")
    json.load(open(args.out))  # parses
    print("wrote", args.out, "with", len(doc["cases"]), "cases")


if __name__ == "__main__":
    sys.exit(main())
