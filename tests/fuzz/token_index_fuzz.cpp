// The token-file index (PREFIX.idx) against a fixed PREFIX.bin of 16 uint16 tokens.
#include "fuzz_input.h"
#include "train/token_data.h"

namespace {
using namespace moe;

void run(std::string_view bytes) {
  static const std::string prefix = [] {
    std::string bin;
    for (uint16_t id = 0; id < 16; ++id) bin += std::string{static_cast<char>(id * 7), 0};
    fuzz::write_file("tokens.bin", bin);
    return fuzz::work_dir() + "/tokens";
  }();
  fuzz::write_file("tokens.idx", bytes);
  fuzz::refuse_or_accept([&] {
    const train::TokenData tokens = train::TokenData::open(prefix);
    for (const train::DocumentSpan& doc : tokens.documents()) {
      std::vector<int32_t> ids(static_cast<size_t>(doc.tokens));
      tokens.read(doc.start, doc.tokens, ids.data());
    }
  });
}

}  // namespace

MOE_FUZZ_TARGET(token_index, run)
