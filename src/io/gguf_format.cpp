// Rules of the GGUF format shared by its reader and writer: the alignment key and ggml type names.
#include "core/error.h"
#include "io/gguf.h"

namespace moe::io {

int64_t gguf_alignment(const GgufMetadata& metadata) {
  const std::string key = "general.alignment";
  if (!metadata.has(key)) return kGgufDefaultAlignment;
  const std::string prefix = metadata.source().empty() ? "" : metadata.source() + ": ";
  MOE_CHECK(metadata.type(key) == GgufType::kUint32, FormatError, prefix, "key '", key, "' has type ",
            gguf_type_name(metadata.type(key)), ", expected uint32");
  const int64_t alignment = *metadata.get_int(key);
  MOE_CHECK(alignment > 0 && (alignment & (alignment - 1)) == 0, FormatError, prefix, "key '", key, "' is ", alignment,
            ", expected a power of two");
  return alignment;
}

const char* ggml_type_name(uint32_t id) {
  // ggml_type ids; the gaps (4, 5, 31-33, 36-38) are types ggml has removed.
  static const char* const kNames[] = {
      "f32",    "f16",   "q4_0",  "q4_1",   "",      "",      "q5_0",    "q5_1",   "q8_0",    "q8_1",
      "q2_K",   "q3_K",  "q4_K",  "q5_K",   "q6_K",  "q8_K",  "iq2_xxs", "iq2_xs", "iq3_xxs", "iq1_s",
      "iq4_nl", "iq3_s", "iq2_s", "iq4_xs", "i8",    "i16",   "i32",     "i64",    "f64",     "iq1_m",
      "bf16",   "",      "",      "",       "tq1_0", "tq2_0", "",        "",       "",        "mxfp4",
  };
  constexpr uint32_t kCount = sizeof(kNames) / sizeof(kNames[0]);
  return id < kCount && kNames[id][0] != '\0' ? kNames[id] : "unknown";
}

}  // namespace moe::io
