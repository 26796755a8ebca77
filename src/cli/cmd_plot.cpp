// `moe plot --log FILE --out PNG`: the training log as a picture (loss curves with eval points, the
// router's aux and z losses, each expert's share of the routed tokens against the ideal 1/E) and a
// short text summary on stdout.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "plot/canvas.h"
#include "plot/line_chart.h"
#include "plot/ticks.h"
#include "runtime/train_log_reader.h"

namespace moe::cli {

namespace {

struct PlotOptions {
  std::string log;
  std::string out;
  std::string layer = "all";
  int64_t width = 1000;
  int64_t height = 800;
};

// Tableau's 10 categorical colours: distinct on white and for the common colour-vision deficiencies.
constexpr plot::Rgb kPalette[] = {{31, 119, 180}, {255, 127, 14},  {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
                                  {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
constexpr int64_t kPaletteSize = std::size(kPalette);

std::optional<int64_t> parse_layer(const std::string& text, int64_t n_layers) {
  if (text == "all") return std::nullopt;
  size_t used = 0;
  int64_t layer = -1;
  try {
    layer = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  MOE_CHECK(used == text.size() && layer >= 0 && layer < n_layers, UsageError, "--layer: '", text,
            "' is neither 'all' nor a layer of the log (0..", n_layers - 1, ")");
  return layer;
}

plot::Series series(std::string label, plot::Rgb color, plot::Series::Style style = plot::Series::Style::kLine) {
  return {std::move(label), color, style, {}, {}};
}

void add_point(plot::Series& s, int64_t step, double y) {
  s.x.push_back(static_cast<double>(step));
  s.y.push_back(y);
}

plot::Chart loss_chart(const runtime::TrainLog& log) {
  plot::Chart chart;
  chart.title = "training loss";
  plot::Series loss = series("loss", kPalette[0]), lm = series("lm_loss", kPalette[1]),
               eval = series("eval_loss", kPalette[3], plot::Series::Style::kMarkers);
  for (const runtime::TrainLogStep& s : log.steps) {
    add_point(loss, s.step, s.loss);
    add_point(lm, s.step, s.lm_loss);
    if (s.eval_loss) add_point(eval, s.step, *s.eval_loss);
  }
  chart.series = {std::move(loss), std::move(lm)};
  if (!eval.x.empty()) chart.series.push_back(std::move(eval));
  return chart;
}

double finite_max(const std::vector<double>& values) {
  double max = 0;
  for (double v : values)
    if (std::isfinite(v)) max = std::max(max, v);
  return max;
}

// A panel of its own: the router losses are orders of magnitude below the LM loss. The z-loss is
// often 100x below the aux loss too; it is then scaled by a power of ten to share the axis.
plot::Chart router_loss_chart(const runtime::TrainLog& log) {
  plot::Chart chart;
  chart.title = "router losses (own scale)";
  chart.y_floor = 0.0;
  plot::Series aux = series("aux_loss", kPalette[2]), z = series("z_loss", kPalette[4]);
  for (const runtime::TrainLogStep& s : log.steps) {
    add_point(aux, s.step, s.aux_loss);
    add_point(z, s.step, s.z_loss);
  }
  const double aux_max = finite_max(aux.y), z_max = finite_max(z.y);
  if (aux_max == 0 && z_max == 0) chart.note = "both 0 at every step";
  if (aux_max > 0 && z_max > 0 && aux_max >= 10 * z_max) {
    const double scale = std::pow(10.0, std::floor(std::log10(aux_max / z_max)));
    for (double& v : z.y) v *= scale;
    z.label = "z_loss x" + plot::format_tick(scale, 0);
    chart.note = "z_loss drawn " + plot::format_tick(scale, 0) + " times larger";
  }
  chart.series = {std::move(aux), std::move(z)};
  return chart;
}

plot::Chart expert_chart(const runtime::TrainLog& log, std::optional<int64_t> layer) {
  const int64_t n_experts = log.n_experts;
  plot::Chart chart;
  chart.title = layer ? "expert load, layer " + std::to_string(*layer)
                      : "expert load, mean over " + std::to_string(log.n_layers) + " layers";
  char note[128];
  std::snprintf(note, sizeof note, "share of the layer's routed tokens; ideal 1/E = %.4g", 1.0 / n_experts);
  chart.note = note;
  if (n_experts > kPaletteSize) chart.note += "; colours repeat every " + std::to_string(kPaletteSize);
  chart.x_label = "step";
  chart.y_floor = 0.0;
  // The ideal first, so that an expert exactly on it stays visible.
  const double first = static_cast<double>(log.steps.front().step), last = static_cast<double>(log.steps.back().step);
  chart.series.push_back(
      {"ideal 1/E", {0, 0, 0}, plot::Series::Style::kDashed, {first, last}, {1.0 / n_experts, 1.0 / n_experts}});
  for (int64_t expert = 0; expert < n_experts; ++expert)
    chart.series.push_back(
        series(expert < kPaletteSize ? "expert " + std::to_string(expert) : "", kPalette[expert % kPaletteSize]));
  for (const runtime::TrainLogStep& s : log.steps) {
    const std::vector<double> shares = runtime::expert_shares(s, layer);
    for (int64_t expert = 0; expert < n_experts; ++expert) add_point(chart.series[1 + expert], s.step, shares[expert]);
  }
  return chart;
}

void print_summary(const runtime::TrainLog& log, const std::string& path) {
  const runtime::TrainLogStep &first = log.steps.front(), &last = log.steps.back();
  std::printf("%s: %zu steps (%lld..%lld), %lld layers x %lld experts\n", path.c_str(), log.steps.size(),
              static_cast<long long>(first.step), static_cast<long long>(last.step),
              static_cast<long long>(log.n_layers), static_cast<long long>(log.n_experts));
  const runtime::TrainLogStep* best = nullptr;
  for (const runtime::TrainLogStep& s : log.steps)
    if (std::isfinite(s.loss) && (!best || s.loss < best->loss)) best = &s;
  std::printf("loss: first %.4f, last %.4f", first.loss, last.loss);
  if (best) std::printf(", min %.4f at step %lld", best->loss, static_cast<long long>(best->step));
  std::printf("\n");
  const auto last_eval =
      std::find_if(log.steps.rbegin(), log.steps.rend(), [](const auto& s) { return s.eval_loss.has_value(); });
  if (last_eval != log.steps.rend())
    std::printf("eval_loss: %.4f at step %lld\n", *last_eval->eval_loss, static_cast<long long>(last_eval->step));
  std::printf("expert load at step %lld (max/mean tokens per expert):", static_cast<long long>(last.step));
  for (int64_t layer = 0; layer < log.n_layers; ++layer) {
    const std::vector<double> shares = runtime::expert_shares(last, layer);
    std::printf(" layer %lld %.3f%s", static_cast<long long>(layer),
                *std::max_element(shares.begin(), shares.end()) * static_cast<double>(log.n_experts),
                layer + 1 < log.n_layers ? "," : "\n");
  }
}

}  // namespace

void add_plot_command(CLI::App& app) {
  auto o = std::make_shared<PlotOptions>();
  CLI::App* cmd = app.add_subcommand("plot", "Draw a training log's loss and expert-load curves as a PNG");
  cmd->add_option("--log", o->log, "Training log (JSON lines, as moe train writes it)")->required();
  cmd->add_option("--out", o->out, "PNG to write")->required();
  cmd->add_option("--layer", o->layer,
                  "Layer whose expert load to draw, or 'all' for each expert's share averaged over the layers")
      ->capture_default_str();
  cmd->add_option("--width", o->width, "Image width in pixels (400..10000)")->capture_default_str();
  cmd->add_option("--height", o->height, "Image height in pixels (400..10000)")->capture_default_str();
  cmd->callback([o] {
    MOE_CHECK(o->width >= 400 && o->width <= 10000, UsageError, "--width: ", o->width, " is not in 400..10000");
    MOE_CHECK(o->height >= 400 && o->height <= 10000, UsageError, "--height: ", o->height, " is not in 400..10000");
    const runtime::TrainLog log = runtime::read_train_log(o->log);
    const std::optional<int64_t> layer = parse_layer(o->layer, log.n_layers);
    // Panels top to bottom: 45% loss, 20% router losses, the rest expert load.
    const plot::Canvas canvas(o->width, o->height);
    const int64_t loss_height = o->height * 45 / 100, router_height = o->height * 20 / 100;
    plot::draw_chart(canvas, {0, 0, o->width, loss_height}, loss_chart(log));
    plot::draw_chart(canvas, {0, loss_height, o->width, router_height}, router_loss_chart(log));
    plot::draw_chart(canvas, {0, loss_height + router_height, o->width, o->height - loss_height - router_height},
                     expert_chart(log, layer));
    canvas.write_png(o->out);
    print_summary(log, o->log);
    std::printf("wrote %s (%lldx%lld)\n", o->out.c_str(), static_cast<long long>(o->width),
                static_cast<long long>(o->height));
  });
}

}  // namespace moe::cli
