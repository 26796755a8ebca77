// Closest-spelling suggestions by Levenshtein distance.
#include "core/suggest.h"

#include <algorithm>

namespace moe {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string suggest_known(const std::string& name, const std::vector<std::string>& known) {
  const std::string* best = nullptr;
  size_t best_distance = 0;
  for (const std::string& candidate : known) {
    size_t distance = edit_distance(name, candidate);
    if (candidate.find(name) != std::string::npos || name.find(candidate) != std::string::npos) distance = 0;
    if (best == nullptr || distance < best_distance) {
      best = &candidate;
      best_distance = distance;
    }
  }
  if (best != nullptr && best_distance <= std::max<size_t>(3, name.size() / 4))
    return " (did you mean '" + *best + "'?)";
  std::string valid;
  for (const std::string& candidate : known) valid += (valid.empty() ? "" : ", ") + candidate;
  return " (valid keys: " + valid + ")";
}

}  // namespace moe
