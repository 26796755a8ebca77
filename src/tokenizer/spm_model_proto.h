// The few fields of SentencePiece's ModelProto (sentencepiece_model.proto) that tokenizer.model
// files need, encoded by hand: no protobuf dependency.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tokenizer/vocab.h"

namespace moe::tokenizer {

// A BPE-type model: the pieces with scores and types, byte_fallback when the 256 byte pieces are
// there, the special pieces, and an identity normalizer with add_dummy_prefix and
// remove_extra_whitespaces off. FormatError if the vocab is not SPM or has no unknown token.
std::string encode_spm_model_proto(const Vocab& vocab);

// TrainerSpec.model_type of a serialized ModelProto (1 unigram, 2 BPE, ...; absent = 1);
// nullopt if the bytes are not a well-formed message.
std::optional<int> spm_model_type(std::string_view serialized);

// Why libsentencepiece must not be handed these bytes, or nullopt: a piece that is empty, holds a
// NUL byte or comes twice (its trie builder throws through a noexcept frame on those, which ends
// the process), or bytes that are not a well-formed message.
std::optional<std::string> spm_pieces_problem(std::string_view serialized);

}  // namespace moe::tokenizer
