// GGUF reader: header, metadata, tensor table and data bounds; then what moe.cpp reads from the
// metadata, the model config and the vocabulary (and the tokenizer built from it).
#include "fuzz_input.h"
#include "io/gguf.h"
#include "model/model_config.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/tokenizer.h"

namespace {
using namespace moe;

void run(std::string_view bytes) {
  const std::string path = fuzz::write_file("input.gguf", bytes);
  fuzz::refuse_or_accept([&] {
    const io::GgufFile file = io::GgufFile::open(path);
    fuzz::refuse_or_accept([&] { model::config_from_gguf(file.metadata(), path); });
    fuzz::refuse_or_accept([&] {
      const tokenizer::Tokenizer tok(tokenizer::vocab_from_gguf(file.metadata(), path));
      tok.decode(tok.encode("Hello world, <s> in the beginning\n", true));
    });
  });
}

}  // namespace

MOE_FUZZ_TARGET(gguf, run)
