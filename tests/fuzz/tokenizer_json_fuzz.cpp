// tokenizer.json (SPM-style and byte-level BPE), then a tokenizer over the vocabulary read.
#include "fuzz_input.h"
#include "tokenizer/hf_files.h"
#include "tokenizer/tokenizer.h"

namespace {
using namespace moe;

void run(std::string_view bytes) {
  static const std::string dir = [] {
    std::filesystem::create_directories(fuzz::work_dir() + "/json");
    return fuzz::work_dir() + "/json";
  }();
  fuzz::write_file("json/tokenizer.json", bytes);
  fuzz::refuse_or_accept([&] {
    const tokenizer::Tokenizer tok(tokenizer::load_hf_vocab(dir));
    tok.decode(tok.encode("Hello world, <s> in the beginning\n\xe2\x96\x81 caf\xc3\xa9", true));
  });
}

}  // namespace

MOE_FUZZ_TARGET(tokenizer_json, run)
