// GgufMetadata: GGUF's ordered key/value store. Each value keeps its exact GGUF type and encoded
// bytes, so metadata read from a file is written back byte for byte, and a 150k-entry tokenizer
// array costs one buffer, not 150k strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace moe::io {

class ByteReader;

// GGUF value types (gguf_type in llama.cpp), with their ids in the file.
enum class GgufType : uint32_t {
  kUint8 = 0,
  kInt8,
  kUint16,
  kInt16,
  kUint32,
  kInt32,
  kFloat32,
  kBool,
  kString,
  kArray,
  kUint64,
  kInt64,
  kFloat64,
};

const char* gguf_type_name(GgufType type);  // "uint32", "string", ...

class GgufMetadata {
 public:
  GgufMetadata() = default;
  // `source` (the file read) starts the messages of errors about these values.
  explicit GgufMetadata(std::string source) : source_(std::move(source)) {}

  // Reads `n_kv` pairs in GGUF layout at the reader's position, validating every byte.
  static GgufMetadata read(ByteReader& reader, uint64_t n_kv);
  // Appends the pairs in GGUF layout, in insertion order.
  void append_to(std::vector<std::byte>& out) const;

  const std::string& source() const { return source_; }
  bool has(const std::string& key) const { return index_.count(key) != 0; }
  int64_t size() const { return static_cast<int64_t>(entries_.size()); }
  std::vector<std::string> keys() const;              // insertion order
  GgufType type(const std::string& key) const;        // throws FormatError if absent
  GgufType array_type(const std::string& key) const;  // element type; throws unless an array

  // Getters return nullopt for an absent key and throw FormatError, naming the key and both
  // types, for a value of another type.
  std::optional<int64_t> get_int(const std::string& key) const;   // any integer type
  std::optional<double> get_float(const std::string& key) const;  // float32/64 or an integer
  std::optional<bool> get_bool(const std::string& key) const;
  std::optional<std::string> get_string(const std::string& key) const;
  std::optional<std::vector<std::string>> get_string_array(const std::string& key) const;
  std::optional<std::vector<float>> get_float_array(const std::string& key) const;
  std::optional<std::vector<int64_t>> get_int_array(const std::string& key) const;

  // Setters replace an existing key in place (its position is kept) or append a new one; a value
  // that does not fit the requested type throws FormatError.
  void set_int(const std::string& key, int64_t value, GgufType type = GgufType::kUint32);
  void set_float(const std::string& key, double value, GgufType type = GgufType::kFloat32);
  void set_bool(const std::string& key, bool value);
  void set_string(const std::string& key, const std::string& value);
  void set_string_array(const std::string& key, const std::vector<std::string>& values);
  void set_float_array(const std::string& key, const std::vector<float>& values);
  void set_int_array(const std::string& key, const std::vector<int64_t>& values, GgufType elem = GgufType::kInt32);

 private:
  struct Value {
    GgufType type;
    std::vector<std::byte> bytes;  // encoded as in the file, after the type id
  };
  const Value* find(const std::string& key) const;
  void set(const std::string& key, GgufType type, std::vector<std::byte> bytes);
  std::string prefix() const;  // "<source>: " or ""

  std::string source_;
  std::vector<std::pair<std::string, Value>> entries_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace moe::io
