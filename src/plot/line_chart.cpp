// Chart layout: title lines on top, y tick labels on the left, x tick labels and the x label below,
// the legend in a column on the right. The label and legend columns have fixed minimum widths, so
// that charts stacked in one image line up their x axes. Grid, ticks and frame are 1-pixel lines on
// pixel centres (crisp); series are anti-aliased, lines clipped to the plot box, markers drawn
// whole over the lines.
#include "plot/line_chart.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"
#include "plot/ticks.h"

namespace moe::plot {

namespace {

constexpr Rgb kTextColor{40, 40, 40};
constexpr Rgb kNoteColor{110, 110, 110};
constexpr Rgb kFrameColor{90, 90, 90};
constexpr Rgb kGridColor{228, 228, 228};
constexpr Font kTitleFont{12, true};
constexpr Font kLabelFont{11, false};
constexpr int64_t kLineHeight = 15;  // one line of text
constexpr double kBaseline = 11;     // the baseline's offset in a line of text
constexpr double kCapMiddle = 4;     // half the cap height: centres a label on a tick
constexpr int64_t kTickLength = 4;
constexpr double kLineWidth = 1.5;  // series; covers the pixel row it is centred on
constexpr double kMarkerRadius = 3;
constexpr double kDotRadius = 1.5;      // a point with no neighbour to join
constexpr double kDash[] = {5, 4};      // on, off
constexpr int64_t kLegendWidth = 130;   // labels up to about 16 characters
constexpr int64_t kMinLabelWidth = 56;  // y tick labels up to "0.000125"

void dot(cairo_t* cr, double x, double y, double radius) {
  cairo_new_sub_path(cr);
  cairo_arc(cr, x, y, radius, 0, 2 * std::numbers::pi);
}

void set_line_style(cairo_t* cr, Series::Style style) {
  cairo_set_line_width(cr, kLineWidth);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  const bool dashed = style == Series::Style::kDashed;
  // Square caps cover a line's first and last pixels whole; dashes keep their length.
  cairo_set_line_cap(cr, dashed ? CAIRO_LINE_CAP_BUTT : CAIRO_LINE_CAP_SQUARE);
  cairo_set_dash(cr, kDash, dashed ? 2 : 0, 0);
}

// Runs of consecutive finite points become polylines, a lone point a dot; markers are dots.
void draw_series(const Canvas& canvas, const Axes& axes, const Series& s) {
  cairo_t* cr = canvas.cr();
  canvas.set_color(s.color);
  set_line_style(cr, s.style);
  const auto finite = [&](size_t i) { return i < s.x.size() && std::isfinite(s.x[i]) && std::isfinite(s.y[i]); };
  for (size_t i = 0; i < s.x.size(); ++i) {
    if (!finite(i)) continue;
    const double x = axes.x_at(s.x[i]), y = axes.y_at(s.y[i]);
    const bool joins_previous = i > 0 && finite(i - 1), joins_next = finite(i + 1);
    if (s.style == Series::Style::kMarkers || (!joins_previous && !joins_next)) {
      dot(cr, x, y, s.style == Series::Style::kMarkers ? kMarkerRadius : kDotRadius);
      cairo_fill(cr);
    } else if (joins_previous) {
      cairo_line_to(cr, x, y);
      if (!joins_next) cairo_stroke(cr);
    } else {
      cairo_move_to(cr, x, y);
    }
  }
}

// Beside the box, top-aligned: a sample of each labelled series' line or marker, then its label.
void draw_legend(const Canvas& canvas, const Axes& axes, const std::vector<Series>& series) {
  constexpr double kSample = 18;  // length of the line drawn before each label
  cairo_t* cr = canvas.cr();
  const double left = static_cast<double>(axes.box.x + axes.box.width + 12);
  int64_t top = axes.box.y;
  for (const Series& s : series) {
    if (s.label.empty()) continue;
    const double middle = static_cast<double>(top + kLineHeight / 2) + 0.5;
    canvas.set_color(s.color);
    set_line_style(cr, s.style);
    if (s.style == Series::Style::kMarkers) {
      dot(cr, left + kSample / 2, middle, kMarkerRadius);
      cairo_fill(cr);
    } else {
      cairo_move_to(cr, left, middle);
      cairo_line_to(cr, left + kSample, middle);
      cairo_stroke(cr);
    }
    canvas.text(left + kSample + 6, middle + kCapMiddle, s.label, kTextColor, kLabelFont);
    top += kLineHeight;
  }
}

// Grid lines inside the box and tick marks outside it, at every tick; then the tick labels.
void draw_axes(const Canvas& canvas, const Axes& axes, const Ticks& x_ticks, const Ticks& y_ticks) {
  cairo_t* cr = canvas.cr();
  const Rect& box = axes.box;
  const double left = static_cast<double>(box.x), right = static_cast<double>(box.x + box.width);
  const double top = static_cast<double>(box.y), bottom = static_cast<double>(box.y + box.height);
  cairo_set_line_width(cr, 1);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
  cairo_set_dash(cr, nullptr, 0, 0);
  for (const auto& [color, tick_marks] : {std::pair{kGridColor, false}, std::pair{kFrameColor, true}}) {
    for (double v : y_ticks.values) {
      const double y = static_cast<double>(axes.row(v)) + 0.5;
      cairo_move_to(cr, tick_marks ? left - 1 - kTickLength : left, y);
      cairo_line_to(cr, tick_marks ? left - 1 : right, y);
    }
    for (double v : x_ticks.values) {
      const double x = static_cast<double>(axes.column(v)) + 0.5;
      cairo_move_to(cr, x, tick_marks ? bottom + 1 : top);
      cairo_line_to(cr, x, tick_marks ? bottom + 1 + kTickLength : bottom);
    }
    canvas.set_color(color);
    cairo_stroke(cr);
  }
  for (double v : y_ticks.values)
    canvas.text(left - kTickLength - 4, static_cast<double>(axes.row(v)) + 0.5 + kCapMiddle,
                format_tick(v, y_ticks.decimals), kTextColor, kLabelFont, 1);
  for (double v : x_ticks.values)
    canvas.text(static_cast<double>(axes.column(v)) + 0.5, bottom + kTickLength + 3 + kBaseline,
                format_tick(v, x_ticks.decimals), kTextColor, kLabelFont, 0.5);
}

}  // namespace

double Axes::x_at(double x) const {
  return static_cast<double>(box.x) + 0.5 + (x - x_min) / (x_max - x_min) * static_cast<double>(box.width - 1);
}

double Axes::y_at(double y) const {
  return static_cast<double>(box.y) + 0.5 + (y_max - y) / (y_max - y_min) * static_cast<double>(box.height - 1);
}

int64_t Axes::column(double x) const { return static_cast<int64_t>(std::floor(x_at(x))); }

int64_t Axes::row(double y) const { return static_cast<int64_t>(std::floor(y_at(y))); }

Axes draw_chart(const Canvas& canvas, const Rect& area, const Chart& chart) {
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

  double label_width = kMinLabelWidth;
  for (double v : y_ticks.values)
    label_width = std::max(label_width, canvas.text_width(format_tick(v, y_ticks.decimals), kLabelFont));
  constexpr int64_t kTopGap = 6;  // keeps the title clear of a chart stacked above
  const int64_t title_height = kTopGap + kLineHeight * (chart.note.empty() ? 1 : 2) + 4;
  const int64_t below = kTickLength + 3 + kLineHeight * (chart.x_label.empty() ? 1 : 2);
  Axes axes;
  axes.box = {area.x + static_cast<int64_t>(std::ceil(label_width)) + kTickLength + 6, area.y + title_height, 0, 0};
  axes.box.width = area.x + area.width - kLegendWidth - axes.box.x;
  axes.box.height = area.y + area.height - below - axes.box.y;
  MOE_CHECK(axes.box.width >= 40 && axes.box.height >= 20, UsageError, "chart '", chart.title, "': ", area.width, "x",
            area.height, " pixels leave no room for its plot");
  axes.x_min = x_ticks.values.front(), axes.x_max = x_ticks.values.back();
  axes.y_min = y_ticks.values.front(), axes.y_max = y_ticks.values.back();
  const Rect& box = axes.box;

  cairo_t* cr = canvas.cr();
  const double title_baseline = static_cast<double>(area.y + kTopGap) + kBaseline;
  canvas.text(static_cast<double>(box.x), title_baseline, chart.title, kTextColor, kTitleFont);
  if (!chart.note.empty())
    canvas.text(static_cast<double>(box.x), title_baseline + kLineHeight, chart.note, kNoteColor, kLabelFont);
  draw_axes(canvas, axes, x_ticks, y_ticks);
  if (!chart.x_label.empty())
    canvas.text(static_cast<double>(box.x) + static_cast<double>(box.width) / 2,
                static_cast<double>(box.y + box.height + kTickLength + 3 + kLineHeight) + kBaseline, chart.x_label,
                kTextColor, kLabelFont, 0.5);
  cairo_save(cr);
  cairo_rectangle(cr, static_cast<double>(box.x), static_cast<double>(box.y), static_cast<double>(box.width),
                  static_cast<double>(box.height));
  cairo_clip(cr);
  for (const Series& s : chart.series)
    if (s.style != Series::Style::kMarkers) draw_series(canvas, axes, s);
  cairo_restore(cr);
  for (const Series& s : chart.series)  // whole, on top: a point on the frame (the last step's eval) too
    if (s.style == Series::Style::kMarkers) draw_series(canvas, axes, s);
  cairo_set_line_width(cr, 1);
  cairo_set_dash(cr, nullptr, 0, 0);
  cairo_rectangle(cr, static_cast<double>(box.x) - 0.5, static_cast<double>(box.y) - 0.5,
                  static_cast<double>(box.width) + 1, static_cast<double>(box.height) + 1);
  canvas.set_color(kFrameColor);
  cairo_stroke(cr);
  draw_legend(canvas, axes, chart.series);
  return axes;
}

}  // namespace moe::plot
