// Chart layout: title lines on top, y tick labels on the left, x tick labels and the x label below,
// the legend in a column on the right. The label and legend columns have fixed minimum widths, so
// that charts stacked in one image line up their x axes. Lines are 1-pixel Bresenham segments
// clipped to the plot box.
#include "runtime/line_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace moe::runtime {

namespace {

constexpr io::Rgb kTextColor{40, 40, 40};
constexpr io::Rgb kNoteColor{110, 110, 110};
constexpr io::Rgb kFrameColor{90, 90, 90};
constexpr io::Rgb kGridColor{228, 228, 228};
constexpr int64_t kTickLength = 4;
constexpr int64_t kMarkerRadius = 2;  // markers are 5x5 squares
constexpr int64_t kDashOn = 5, kDashPeriod = 9;
constexpr int64_t kLegendWidth = 130;                    // labels up to 14 characters
constexpr int64_t kMinLabelWidth = 8 * io::kGlyphWidth;  // y tick labels up to "0.000125"

void put(io::RgbImage& image, const Rect& clip, int64_t x, int64_t y, io::Rgb c) {
  if (x >= clip.x && y >= clip.y && x < clip.x + clip.width && y < clip.y + clip.height) image.set(x, y, c.r, c.g, c.b);
}

// Bresenham from (x0, y0) to (x1, y1); `dash` counts pixels across the segments of one series.
void draw_segment(io::RgbImage& image, const Rect& clip, int64_t x0, int64_t y0, int64_t x1, int64_t y1, io::Rgb c,
                  int64_t* dash) {
  const int64_t dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  const int64_t sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  int64_t err = dx + dy;
  while (true) {
    if (!dash || (*dash)++ % kDashPeriod < kDashOn) put(image, clip, x0, y0, c);
    if (x0 == x1 && y0 == y1) break;
    const int64_t e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += sy;
    }
  }
}

void draw_marker(io::RgbImage& image, const Rect& clip, int64_t x, int64_t y, io::Rgb c) {
  for (int64_t dy = -kMarkerRadius; dy <= kMarkerRadius; ++dy)
    for (int64_t dx = -kMarkerRadius; dx <= kMarkerRadius; ++dx) put(image, clip, x + dx, y + dy, c);
}

// A 1-pixel rectangle just outside r.
void outline(io::RgbImage& image, const Rect& r, io::Rgb c) {
  const Rect all{0, 0, image.width, image.height};
  draw_segment(image, all, r.x - 1, r.y - 1, r.x + r.width, r.y - 1, c, nullptr);
  draw_segment(image, all, r.x - 1, r.y + r.height, r.x + r.width, r.y + r.height, c, nullptr);
  draw_segment(image, all, r.x - 1, r.y - 1, r.x - 1, r.y + r.height, c, nullptr);
  draw_segment(image, all, r.x + r.width, r.y - 1, r.x + r.width, r.y + r.height, c, nullptr);
}

void draw_series(io::RgbImage& image, const Axes& axes, const Series& s) {
  int64_t dash = 0;
  std::optional<std::pair<int64_t, int64_t>> previous;
  for (size_t i = 0; i < s.x.size(); ++i) {
    if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
      previous.reset();
      continue;
    }
    const int64_t x = axes.column(s.x[i]), y = axes.row(s.y[i]);
    if (s.style == Series::Style::kMarkers)
      draw_marker(image, axes.box, x, y, s.color);
    else if (previous)
      draw_segment(image, axes.box, previous->first, previous->second, x, y, s.color,
                   s.style == Series::Style::kDashed ? &dash : nullptr);
    else
      put(image, axes.box, x, y, s.color);  // a lone point stays visible
    previous = {x, y};
  }
}

// Beside the box, top-aligned: a sample of each labelled series' line or marker, then its label.
void draw_legend(io::RgbImage& image, const Axes& axes, const std::vector<Series>& series) {
  constexpr int64_t kSample = 16;  // length of the line drawn before each label
  const Rect column{axes.box.x + axes.box.width + 10, axes.box.y, kLegendWidth - 10, axes.box.height};
  int64_t y = column.y, dash = 0;
  for (const Series& s : series) {
    if (s.label.empty()) continue;
    const int64_t mid = y + 5;
    if (s.style == Series::Style::kMarkers)
      draw_marker(image, column, column.x + kSample / 2, mid, s.color);
    else
      draw_segment(image, column, column.x, mid, column.x + kSample, mid, s.color,
                   s.style == Series::Style::kDashed ? &dash : nullptr);
    io::draw_text(image, column.x + kSample + 4, y, s.label, kTextColor);
    y += io::kLineHeight;
  }
}

}  // namespace

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

int64_t Axes::column(double x) const {
  return box.x + std::llround((x - x_min) / (x_max - x_min) * static_cast<double>(box.width - 1));
}

int64_t Axes::row(double y) const {
  return box.y + std::llround((y_max - y) / (y_max - y_min) * static_cast<double>(box.height - 1));
}

Axes draw_chart(io::RgbImage& image, const Rect& area, const Chart& chart) {
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const Series& s : chart.series)
    for (size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) {
        x_lo = std::min(x_lo, s.x[i]), x_hi = std::max(x_hi, s.x[i]);
        y_lo = std::min(y_lo, s.y[i]), y_hi = std::max(y_hi, s.y[i]);
      }
  if (chart.y_floor) y_lo = std::min(y_lo, *chart.y_floor), y_hi = std::max(y_hi, *chart.y_floor);
  if (x_lo > x_hi) x_lo = x_hi = 0;  // nothing finite to draw: an empty frame
  if (y_lo > y_hi) y_lo = y_hi = 0;
  // About one x tick per 90 pixels and one y tick per 35, so that labels never touch.
  const Ticks x_ticks = nice_ticks(x_lo, x_hi, static_cast<int>(std::clamp<int64_t>(area.width / 90, 2, 11)));
  const Ticks y_ticks = nice_ticks(y_lo, y_hi, static_cast<int>(std::clamp<int64_t>(area.height / 35, 2, 9)));

  int64_t label_width = kMinLabelWidth;
  for (double v : y_ticks.values) label_width = std::max(label_width, io::text_width(format_tick(v, y_ticks.decimals)));
  constexpr int64_t kTopGap = 6;  // keeps the title clear of a chart stacked above
  const int64_t title_height = kTopGap + io::kLineHeight * (chart.note.empty() ? 1 : 2) + 4;
  const int64_t below = io::kLineHeight + kTickLength + 3 + (chart.x_label.empty() ? 0 : io::kLineHeight);
  Axes axes;
  axes.box = {area.x + label_width + kTickLength + 4, area.y + title_height, 0, 0};
  axes.box.width = area.x + area.width - kLegendWidth - axes.box.x;
  axes.box.height = area.y + area.height - below - axes.box.y;
  MOE_CHECK(axes.box.width >= 40 && axes.box.height >= 20, UsageError, "chart '", chart.title, "': ", area.width, "x",
            area.height, " pixels leave no room for its plot");
  axes.x_min = x_ticks.values.front(), axes.x_max = x_ticks.values.back();
  axes.y_min = y_ticks.values.front(), axes.y_max = y_ticks.values.back();
  const Rect& box = axes.box;

  io::draw_text(image, box.x, area.y + kTopGap, chart.title, kTextColor);
  if (!chart.note.empty()) io::draw_text(image, box.x, area.y + kTopGap + io::kLineHeight, chart.note, kNoteColor);
  const Rect all{0, 0, image.width, image.height};
  for (double v : y_ticks.values) {
    const int64_t y = axes.row(v);
    draw_segment(image, box, box.x, y, box.x + box.width - 1, y, kGridColor, nullptr);
    draw_segment(image, all, box.x - kTickLength - 1, y, box.x - 2, y, kFrameColor, nullptr);
    const std::string label = format_tick(v, y_ticks.decimals);
    io::draw_text(image, box.x - kTickLength - 3 - io::text_width(label), y - 5, label, kTextColor);
  }
  for (double v : x_ticks.values) {
    const int64_t x = axes.column(v);
    draw_segment(image, box, x, box.y, x, box.y + box.height - 1, kGridColor, nullptr);
    draw_segment(image, all, x, box.y + box.height + 1, x, box.y + box.height + kTickLength, kFrameColor, nullptr);
    const std::string label = format_tick(v, x_ticks.decimals);
    io::draw_text(image, x - io::text_width(label) / 2, box.y + box.height + kTickLength + 3, label, kTextColor);
  }
  if (!chart.x_label.empty())
    io::draw_text(image, box.x + (box.width - io::text_width(chart.x_label)) / 2,
                  box.y + box.height + kTickLength + 3 + io::kLineHeight, chart.x_label, kTextColor);
  for (const Series& s : chart.series) draw_series(image, axes, s);
  outline(image, box, kFrameColor);
  draw_legend(image, axes, chart.series);
  return axes;
}

}  // namespace moe::runtime
