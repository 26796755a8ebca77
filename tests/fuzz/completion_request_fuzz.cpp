// The body of POST /v1/completions, checked against a served model with a BPE vocabulary of 512.
#include "fuzz_input.h"
#include "serve/completion_request.h"
#include "tokenizer/make_vocab.h"

namespace {
using namespace moe;

void run(std::string_view bytes) {
  static const tokenizer::Tokenizer tok(tokenizer::make_vocab(tokenizer::Vocab::Kind::kBpe, 512));
  static const serve::ServedModel model{"tiny", &tok, 256};
  fuzz::refuse_or_accept([&] { serve::parse_completion_request(std::string(bytes), model); });
}

}  // namespace

MOE_FUZZ_TARGET(completion_request, run)
