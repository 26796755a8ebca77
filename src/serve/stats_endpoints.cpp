// GET /metrics (Prometheus text: the scheduler's counters and histograms, and the engine's
// figures) and GET /v1/moe/stats (the --record-stats JSON of the traffic so far, which `moe stats`
// reads). The engine's figures are gathered from every rank at the end of the next step.
#include "serve/endpoints.h"
#include "serve/metrics.h"

namespace moe::serve {

namespace {
// Long enough for a step of a long prompt chunk.
constexpr std::chrono::seconds kFiguresTimeout{30};
}  // namespace

void add_stats_endpoints(httplib::Server& server, const ServeContext& context) {
  server.Get("/metrics", [&context](const httplib::Request&, httplib::Response& response) {
    Metrics metrics = context.scheduler->metrics();
    const std::optional<EngineFigures> figures = context.scheduler->engine_figures(kFiguresTimeout);
    if (figures) metrics.set_kv(figures->kv);  // every slot's pool, not only rank 0's
    response.set_content(prometheus_text(metrics, figures ? &*figures : nullptr, context.model.name),
                         "text/plain; version=0.0.4");
  });
  server.Get("/v1/moe/stats", [&context](const httplib::Request&, httplib::Response& response) {
    respond(response, [&] {
      const std::optional<EngineFigures> figures = context.scheduler->engine_figures(kFiguresTimeout);
      MOE_CHECK(figures.has_value(), Overloaded, "the engine did not answer (shutting down, or a step over ",
                kFiguresTimeout.count(), " s)");
      response.set_content(runtime::stats_json(figures->stats, context.model.name), "application/json");
    });
  });
}

}  // namespace moe::serve
