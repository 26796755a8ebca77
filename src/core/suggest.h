// "did you mean" for unknown keys and names: the closest known spelling, or the list of valid ones.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace moe {

// Levenshtein distance (insertions, deletions, substitutions).
size_t edit_distance(const std::string& a, const std::string& b);

// " (did you mean 'known'?)" when a known name is close to `name` (edit distance, or one contains
// the other), else " (valid keys: a, b, c)".
std::string suggest_known(const std::string& name, const std::vector<std::string>& known);

}  // namespace moe
