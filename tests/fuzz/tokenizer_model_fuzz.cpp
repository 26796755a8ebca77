// tokenizer.model (SentencePiece's ModelProto, read through libsentencepiece), then a tokenizer
// over the vocabulary read.
#include "fuzz_input.h"
#include "tokenizer/hf_files.h"
#include "tokenizer/tokenizer.h"

namespace {
using namespace moe;

void run(std::string_view bytes) {
  static const std::string dir = [] {
    std::filesystem::create_directories(fuzz::work_dir() + "/spm");
    return fuzz::work_dir() + "/spm";
  }();
  fuzz::write_file("spm/tokenizer.model", bytes);
  fuzz::refuse_or_accept([&] {
    const tokenizer::Tokenizer tok(tokenizer::load_hf_vocab(dir));
    tok.decode(tok.encode("Hello world, <s> in the beginning\n caf\xc3\xa9", true));
  });
}

}  // namespace

MOE_FUZZ_TARGET(tokenizer_model, run)
