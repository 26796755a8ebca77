// The pair-merge loop shared by the SPM and BPE encoders: a doubly linked list of symbols over a
// text, and an agenda of candidate merges popped best-first; a candidate whose symbols changed
// since it was queued is stale and skipped. Each encoder supplies how candidates are found and
// ranked (SPM: highest piece score; BPE: lowest merge rank; ties leftmost).
#pragma once

#include <cstddef>
#include <queue>
#include <vector>

namespace moe::tokenizer {

struct MergeSymbol {
  size_t start, len;  // bytes of the text; len 0 once merged into its left neighbour
  int prev, next;     // neighbours, -1 at the ends
};

// Candidate needs `left`, `right`, `len` and an operator< whose greatest element merges first;
// add_candidate(left, right) queues the pair if it may merge (either index may be -1).
template <typename Candidate, typename AddCandidate>
void merge_symbols(std::vector<MergeSymbol>& symbols, std::priority_queue<Candidate>& agenda,
                   const AddCandidate& add_candidate) {
  for (size_t idx = 1; idx < symbols.size(); ++idx) add_candidate(static_cast<int>(idx) - 1, static_cast<int>(idx));
  while (!agenda.empty()) {
    const Candidate top = agenda.top();
    agenda.pop();
    MergeSymbol& left = symbols[top.left];
    MergeSymbol& right = symbols[top.right];
    if (left.len == 0 || right.len == 0 || left.len + right.len != top.len) continue;  // stale
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.left;
    add_candidate(left.prev, top.left);
    add_candidate(top.left, left.next);
  }
}

}  // namespace moe::tokenizer
