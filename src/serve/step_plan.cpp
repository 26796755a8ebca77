// StepPlan bytes: flags, then the admitted requests with their slots, then the cancelled ids.
#include "serve/step_plan.h"

#include "io/byte_io.h"
#include "runtime/request_codec.h"

namespace moe::serve {

std::vector<std::byte> encode(const StepPlan& plan) {
  std::vector<std::byte> out;
  io::append<uint8_t>(out, (plan.step ? 1 : 0) | (plan.stop ? 2 : 0) | (plan.collect_figures ? 4 : 0));
  io::append<uint64_t>(out, plan.admitted.size());
  for (const PlacedRequest& placed : plan.admitted) {
    io::append<int32_t>(out, placed.slot);
    runtime::append_request(out, placed.request);
  }
  io::append<uint64_t>(out, plan.cancelled.size());
  for (const uint64_t id : plan.cancelled) io::append(out, id);
  return out;
}

StepPlan decode_step_plan(std::span<const std::byte> bytes, const std::string& source) {
  io::ByteReader in(bytes.data(), static_cast<int64_t>(bytes.size()), source);
  StepPlan plan;
  const auto flags = in.read<uint8_t>("flags");
  MOE_CHECK(flags <= 7, FormatError, source, ": flags ", int{flags},
            " hold bits other than step (1), stop (2) and collect figures (4)");
  plan.step = (flags & 1) != 0;
  plan.stop = (flags & 2) != 0;
  plan.collect_figures = (flags & 4) != 0;
  const auto n_admitted = in.read<uint64_t>("admitted count");
  for (uint64_t i = 0; i < n_admitted; ++i) {
    PlacedRequest& placed = plan.admitted.emplace_back();
    placed.slot = in.read<int32_t>("slot");
    placed.request = runtime::read_request(in);
  }
  const auto n_cancelled = in.read<uint64_t>("cancelled count");
  MOE_CHECK(n_cancelled <= static_cast<uint64_t>(in.remaining()) / sizeof(uint64_t), FormatError, source, ": ",
            n_cancelled, " cancelled ids claimed but ", in.remaining(), " bytes remain");
  for (uint64_t i = 0; i < n_cancelled; ++i) plan.cancelled.push_back(in.read<uint64_t>("cancelled id"));
  MOE_CHECK(in.remaining() == 0, FormatError, source, ": ", in.remaining(), " bytes after the plan");
  return plan;
}

}  // namespace moe::serve
