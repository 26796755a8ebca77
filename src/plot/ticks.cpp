// The smallest of the steps 1, 2, 5 x 10^k that needs at most max_ticks ticks.
#include "plot/ticks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace moe::plot {

Ticks nice_ticks(double lo, double hi, int max_ticks) {
  MOE_ASSERT(max_ticks >= 2 && std::isfinite(lo) && std::isfinite(hi) && lo <= hi);
  if (hi == lo && lo == 0) {
    hi = 1;               // all zero (a loss that is off): 0..1, not -1..1
  } else if (hi == lo) {  // one value: a range around it
    lo -= std::abs(lo) * 0.1;
    hi += std::abs(hi) * 0.1;
  }
  const double raw = (hi - lo) / (max_ticks - 1);
  // pow of an integer exponent each time: repeated "decade *= 10" would drift from 0.01.
  for (int exponent = static_cast<int>(std::floor(std::log10(raw)));; ++exponent)
    for (double multiple : {1.0, 2.0, 5.0}) {
      const double step = multiple * std::pow(10.0, exponent);
      // The tolerance keeps 0.30000000000000004 / 0.1 from adding a tick.
      const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
      if (last - first + 1 > max_ticks) continue;
      Ticks ticks;
      ticks.step = step;
      ticks.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
      for (double i = first; i <= last; ++i) ticks.values.push_back(i * step);
      return ticks;
    }
}

std::string format_tick(double value, int decimals) {
  char text[64];
  // Exponent notation where fixed would be too wide for the label column (a diverged loss, 1e-8).
  if (decimals > 6 || std::abs(value) >= 1e6)
    std::snprintf(text, sizeof text, "%.3g", value);
  else
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
  const std::string s = text;
  return s.find_first_not_of("-0.") == std::string::npos ? s.substr(s[0] == '-') : s;  // no "-0.0"
}

}  // namespace moe::plot
