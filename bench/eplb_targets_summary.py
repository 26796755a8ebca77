"""Tables for bench/eplb_targets.sh from its work directory: ours vs DeepSeek's max/mean rank load
(target: within 1 %), and the budgeted re-plan's share of a full re-plan's improvement and bytes
(target: >= 90 % of the improvement for <= 30 % of the bytes). Plain Python, no torch."""
import json
import os
import sys


def load(work, name):
    with open(os.path.join(work, name)) as f:
        return json.load(f)


def mean(values):
    return sum(values) / len(values)


def main(work):
    cases = [line.split() for line in open(os.path.join(work, "cases.txt")) if line.strip()]
    print("| case | layers x experts | slots / ranks / nodes / groups | policy | ours mean (worst) "
          "| DeepSeek mean (worst) | mean ratio | worst layer ratio |")
    print("|---|---|---|---|---:|---:|---:|---:|")
    for name, slots, ranks, nodes, groups in cases:
        n_experts = len(load(work, name + ".json")[0])
        for policy in ("hierarchical", "global"):
            ours = [row["max_mean_after"] for row in load(work, f"{name}.{policy}.ours.json")]
            ref = [row["max_mean"] for row in load(work, f"{name}.{policy}.ref.json")]
            worst = max((o / r for o, r in zip(ours, ref)), key=lambda x: abs(x - 1))
            print(f"| {name} | {len(ours)} x {n_experts} | {slots} / {ranks} / {nodes} / {groups} "
                  f"| {policy} | {mean(ours):.4f} ({max(ours):.4f}) | {mean(ref):.4f} ({max(ref):.4f}) "
                  f"| {mean(ours) / mean(ref):.4f} | {worst:.4f} |")
    print()
    print("| case | budget (of full bytes/layer) | max/mean before | full global | budgeted "
          "| improvement (mean; worst layer) | bytes vs full |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, *_ in cases:
        full = load(work, f"{name}.full.json")
        before = [row["max_mean_before"] for row in full]
        after_full = [row["max_mean_after"] for row in full]
        full_bytes = sum(row["bytes_moved"] for row in full)
        for pct in (10, 20, 30):
            rows = load(work, f"{name}.budget{pct}.json")
            after = [row["max_mean_after"] for row in rows]
            gain = (mean(before) - mean(after)) / (mean(before) - mean(after_full))
            worst = min((b - a) / (b - f) for b, a, f in zip(before, after, after_full) if b - f > 1e-9)
            moved = sum(row["bytes_moved"] for row in rows) / full_bytes
            print(f"| {name} | {pct} % | {mean(before):.4f} | {mean(after_full):.4f} | {mean(after):.4f} "
                  f"| {100 * gain:.1f} %; {100 * worst:.1f} % | {100 * moved:.1f} % |")


if __name__ == "__main__":
    main(sys.argv[1])
