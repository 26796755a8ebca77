// "Nice" axis ticks (multiples of 1, 2 or 5 x 10^k) and their labels.
#pragma once

#include <string>
#include <vector>

namespace moe::plot {

struct Ticks {
  std::vector<double> values;  // ascending, multiples of step; the first <= lo, the last >= hi
  double step = 0;
  int decimals = 0;  // fraction digits that print every value exactly
};

// At most max_ticks (>= 2) ticks covering [lo, hi] with the smallest nice step. lo == hi is widened
// by 10% each way, or to 0..1 when both are 0.
Ticks nice_ticks(double lo, double hi, int max_ticks);
// `value` with `decimals` fraction digits ("-0.0" printed as "0.0"), or like "2.5e+07" for values of
// a million and more or steps below 1e-6.
std::string format_tick(double value, int decimals);

}  // namespace moe::plot
