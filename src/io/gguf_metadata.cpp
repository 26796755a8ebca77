// GGUF key/value pairs: validation when read, typed access, and the encoding written back.
#include "io/gguf_metadata.h"

#include <cstring>
#include <limits>

#include "core/error.h"
#include "io/byte_io.h"

namespace moe::io {
namespace {

constexpr uint32_t kLastType = static_cast<uint32_t>(GgufType::kFloat64);
constexpr int64_t kArrayHeaderBytes = 4 + 8;  // element type id, element count

// Bytes of one scalar of `type`; 0 for strings and arrays, whose size is in the data.
int64_t scalar_bytes(GgufType type) {
  switch (type) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool:
      return 1;
    case GgufType::kUint16:
    case GgufType::kInt16:
      return 2;
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kFloat32:
      return 4;
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kFloat64:
      return 8;
    case GgufType::kString:
    case GgufType::kArray:
      return 0;
  }
  return 0;
}

bool is_integer(GgufType type) {
  switch (type) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kUint16:
    case GgufType::kInt16:
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kUint64:
    case GgufType::kInt64:
      return true;
    default:
      return false;
  }
}

bool is_float(GgufType type) { return type == GgufType::kFloat32 || type == GgufType::kFloat64; }

template <typename T>
T load(const std::byte* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

// The integer at `bytes`, stored as `type`; `where` names the value in the error.
int64_t decode_int(const std::byte* bytes, GgufType type, const std::string& where) {
  switch (type) {
    case GgufType::kUint8:
      return load<uint8_t>(bytes);
    case GgufType::kInt8:
      return load<int8_t>(bytes);
    case GgufType::kUint16:
      return load<uint16_t>(bytes);
    case GgufType::kInt16:
      return load<int16_t>(bytes);
    case GgufType::kUint32:
      return load<uint32_t>(bytes);
    case GgufType::kInt32:
      return load<int32_t>(bytes);
    case GgufType::kInt64:
      return load<int64_t>(bytes);
    case GgufType::kUint64: {
      const uint64_t value = load<uint64_t>(bytes);
      MOE_CHECK(value <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), FormatError, where, " holds ",
                value, ", more than int64 can hold");
      return static_cast<int64_t>(value);
    }
    default:
      break;
  }
  throw Error(detail::concat("internal error: ", where, " is not an integer"));
}

double decode_number(const std::byte* bytes, GgufType type, const std::string& where) {
  if (type == GgufType::kFloat32) return load<float>(bytes);
  if (type == GgufType::kFloat64) return load<double>(bytes);
  return static_cast<double>(decode_int(bytes, type, where));
}

template <typename T>  // up to 32 bits, so that both limits fit int64
bool in_range(int64_t value) {
  static_assert(sizeof(T) <= 4);
  return value >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
         value <= static_cast<int64_t>(std::numeric_limits<T>::max());
}

// Appends `value` encoded as integer `type`; throws FormatError naming `where` if it does not fit.
void encode_int(std::vector<std::byte>& out, int64_t value, GgufType type, const std::string& where) {
  bool fits = false;
  switch (type) {
    case GgufType::kUint8:
      fits = in_range<uint8_t>(value);
      break;
    case GgufType::kInt8:
      fits = in_range<int8_t>(value);
      break;
    case GgufType::kUint16:
      fits = in_range<uint16_t>(value);
      break;
    case GgufType::kInt16:
      fits = in_range<int16_t>(value);
      break;
    case GgufType::kUint32:
      fits = in_range<uint32_t>(value);
      break;
    case GgufType::kInt32:
      fits = in_range<int32_t>(value);
      break;
    case GgufType::kUint64:
      fits = value >= 0;
      break;
    case GgufType::kInt64:
      fits = true;
      break;
    default:
      throw FormatError(detail::concat(where, ": ", gguf_type_name(type), " is not an integer type"));
  }
  MOE_CHECK(fits, FormatError, where, ": ", value, " does not fit ", gguf_type_name(type));
  // Little-endian two's complement: the low bytes of the int64 are the narrower encoding.
  const auto* bytes = reinterpret_cast<const std::byte*>(&value);
  out.insert(out.end(), bytes, bytes + scalar_bytes(type));
}

// Moves the reader past one value of `type`, checking it; `where` names the value.
void skip_value(ByteReader& reader, GgufType type, const std::string& where) {
  switch (type) {
    case GgufType::kString:
      reader.read_string(where);
      return;
    case GgufType::kBool: {
      const auto flag = reader.read<uint8_t>(where);
      MOE_CHECK(flag <= 1, FormatError, reader.source(), ": ", where, " is a bool holding ", static_cast<int>(flag),
                ", expected 0 or 1");
      return;
    }
    case GgufType::kArray: {
      const uint32_t elem_id = reader.read<uint32_t>(where);
      MOE_CHECK(elem_id <= kLastType, FormatError, reader.source(), ": ", where, " is an array of unknown GGUF type ",
                elem_id);
      const auto elem = static_cast<GgufType>(elem_id);
      MOE_CHECK(elem != GgufType::kArray, FormatError, reader.source(), ": ", where,
                " is an array of arrays, which llama.cpp does not read either");
      const uint64_t count = reader.read<uint64_t>(where);
      // Every element takes at least 8 bytes (a string's length) or its scalar size.
      const int64_t min_bytes = elem == GgufType::kString ? 8 : scalar_bytes(elem);
      MOE_CHECK(count <= static_cast<uint64_t>(reader.remaining() / min_bytes), FormatError, reader.source(),
                ": truncated: ", where, " claims ", count, " elements but only ", reader.remaining(), " bytes remain");
      if (elem == GgufType::kString) {
        for (uint64_t i = 0; i < count; ++i) reader.read_string(where);
      } else if (elem == GgufType::kBool) {
        for (uint64_t i = 0; i < count; ++i) skip_value(reader, elem, where);
      } else {
        reader.take(count * static_cast<uint64_t>(min_bytes), where);
      }
      return;
    }
    default:
      reader.take(static_cast<uint64_t>(scalar_bytes(type)), where);
      return;
  }
}

// An array value's element type, count and first element.
struct ArrayView {
  GgufType elem;
  uint64_t count;
  const std::byte* elems;
};

// Checks that a value is an array whose element type passes `accept`.
template <typename Accept>
ArrayView array_view(GgufType type, const std::vector<std::byte>& bytes, const std::string& where, const char* expected,
                     Accept accept) {
  const GgufType elem = type == GgufType::kArray ? static_cast<GgufType>(load<uint32_t>(bytes.data())) : type;
  MOE_CHECK(type == GgufType::kArray && accept(elem), FormatError, where, " has type ",
            type == GgufType::kArray ? "array of " : "", gguf_type_name(elem), ", expected ", expected);
  return {elem, load<uint64_t>(bytes.data() + 4), bytes.data() + kArrayHeaderBytes};
}

}  // namespace

const char* gguf_type_name(GgufType type) {
  switch (type) {
    case GgufType::kUint8:
      return "uint8";
    case GgufType::kInt8:
      return "int8";
    case GgufType::kUint16:
      return "uint16";
    case GgufType::kInt16:
      return "int16";
    case GgufType::kUint32:
      return "uint32";
    case GgufType::kInt32:
      return "int32";
    case GgufType::kFloat32:
      return "float32";
    case GgufType::kBool:
      return "bool";
    case GgufType::kString:
      return "string";
    case GgufType::kArray:
      return "array";
    case GgufType::kUint64:
      return "uint64";
    case GgufType::kInt64:
      return "int64";
    case GgufType::kFloat64:
      return "float64";
  }
  return "unknown";
}

GgufMetadata GgufMetadata::read(ByteReader& reader, uint64_t n_kv) {
  GgufMetadata metadata(reader.source());
  for (uint64_t i = 0; i < n_kv; ++i) {
    const std::string key(reader.read_string("a metadata key"));
    MOE_CHECK(!key.empty(), FormatError, reader.source(), ": metadata key ", i, " is empty");
    MOE_CHECK(!metadata.has(key), FormatError, reader.source(), ": duplicate metadata key '", key, "'");
    const std::string where = detail::concat("key '", key, "'");
    const uint32_t type_id = reader.read<uint32_t>(where);
    MOE_CHECK(type_id <= kLastType, FormatError, reader.source(), ": ", where, " has unknown GGUF type ", type_id);
    const auto type = static_cast<GgufType>(type_id);
    const std::byte* begin = reader.current();
    skip_value(reader, type, where);
    metadata.set(key, type, std::vector<std::byte>(begin, reader.current()));
  }
  return metadata;
}

void GgufMetadata::append_to(std::vector<std::byte>& out) const {
  for (const auto& [key, value] : entries_) {
    append_string(out, key);
    append<uint32_t>(out, static_cast<uint32_t>(value.type));
    out.insert(out.end(), value.bytes.begin(), value.bytes.end());
  }
}

std::vector<std::string> GgufMetadata::keys() const {
  std::vector<std::string> keys;
  keys.reserve(entries_.size());
  for (const auto& entry : entries_) keys.push_back(entry.first);
  return keys;
}

GgufType GgufMetadata::type(const std::string& key) const {
  const Value* value = find(key);
  MOE_CHECK(value != nullptr, FormatError, prefix(), "no metadata key '", key, "'");
  return value->type;
}

GgufType GgufMetadata::array_type(const std::string& key) const {
  const Value* value = find(key);
  MOE_CHECK(value != nullptr && value->type == GgufType::kArray, FormatError, prefix(), "metadata key '", key,
            "' is not an array");
  return static_cast<GgufType>(load<uint32_t>(value->bytes.data()));
}

std::optional<int64_t> GgufMetadata::get_int(const std::string& key) const {
  const Value* value = find(key);
  if (value == nullptr) return std::nullopt;
  const std::string where = detail::concat(prefix(), "key '", key, "'");
  MOE_CHECK(is_integer(value->type), FormatError, where, " has type ", gguf_type_name(value->type),
            ", expected an integer");
  return decode_int(value->bytes.data(), value->type, where);
}

std::optional<double> GgufMetadata::get_float(const std::string& key) const {
  const Value* value = find(key);
  if (value == nullptr) return std::nullopt;
  const std::string where = detail::concat(prefix(), "key '", key, "'");
  MOE_CHECK(is_float(value->type) || is_integer(value->type), FormatError, where, " has type ",
            gguf_type_name(value->type), ", expected a number");
  return decode_number(value->bytes.data(), value->type, where);
}

std::optional<bool> GgufMetadata::get_bool(const std::string& key) const {
  const Value* value = find(key);
  if (value == nullptr) return std::nullopt;
  MOE_CHECK(value->type == GgufType::kBool, FormatError, prefix(), "key '", key, "' has type ",
            gguf_type_name(value->type), ", expected bool");
  return value->bytes[0] != std::byte{0};
}

std::optional<std::string> GgufMetadata::get_string(const std::string& key) const {
  const Value* value = find(key);
  if (value == nullptr) return std::nullopt;
  MOE_CHECK(value->type == GgufType::kString, FormatError, prefix(), "key '", key, "' has type ",
            gguf_type_name(value->type), ", expected string");
  return std::string(reinterpret_cast<const char*>(value->bytes.data()) + 8, value->bytes.size() - 8);
}

std::optional<std::vector<std::string>> GgufMetadata::get_string_array(const std::string& key) const {
  const Value* value = find(key);
  if (value == nullptr) return std::nullopt;
  const std::string where = detail::concat(prefix(), "key '", key, "'");
  const ArrayView view = array_view(value->type, value->bytes, where, "array of string",
                                    [](GgufType elem) { return elem == GgufType::kString; });
  ByteReader reader(view.elems, static_cast<int64_t>(value->bytes.size()) - kArrayHeaderBytes, source_);
  std::vector<std::string> strings;
  strings.reserve(view.count);
  for (uint64_t i = 0; i < view.count; ++i) strings.emplace_back(reader.read_string(where));
  return strings;
}

std::optional<std::vector<float>> GgufMetadata::get_float_array(const std::string& key) const {
  const Value* value = find(key);
  if (value == nullptr) return std::nullopt;
  const std::string where = detail::concat(prefix(), "key '", key, "'");
  const ArrayView view = array_view(value->type, value->bytes, where, "an array of numbers",
                                    [](GgufType elem) { return is_float(elem) || is_integer(elem); });
  std::vector<float> values(view.count);
  const int64_t stride = scalar_bytes(view.elem);
  for (uint64_t i = 0; i < view.count; ++i)
    values[i] = static_cast<float>(decode_number(view.elems + i * stride, view.elem, where));
  return values;
}

std::optional<std::vector<int64_t>> GgufMetadata::get_int_array(const std::string& key) const {
  const Value* value = find(key);
  if (value == nullptr) return std::nullopt;
  const std::string where = detail::concat(prefix(), "key '", key, "'");
  const ArrayView view = array_view(value->type, value->bytes, where, "an array of integers",
                                    [](GgufType elem) { return is_integer(elem); });
  std::vector<int64_t> values(view.count);
  const int64_t stride = scalar_bytes(view.elem);
  for (uint64_t i = 0; i < view.count; ++i) values[i] = decode_int(view.elems + i * stride, view.elem, where);
  return values;
}

void GgufMetadata::set_int(const std::string& key, int64_t value, GgufType type) {
  std::vector<std::byte> bytes;
  encode_int(bytes, value, type, detail::concat("key '", key, "'"));
  set(key, type, std::move(bytes));
}

void GgufMetadata::set_float(const std::string& key, double value, GgufType type) {
  std::vector<std::byte> bytes;
  if (type == GgufType::kFloat32) {
    append<float>(bytes, static_cast<float>(value));
  } else {
    MOE_CHECK(type == GgufType::kFloat64, FormatError, "key '", key, "': ", gguf_type_name(type),
              " is not a float type");
    append<double>(bytes, value);
  }
  set(key, type, std::move(bytes));
}

void GgufMetadata::set_bool(const std::string& key, bool value) {
  set(key, GgufType::kBool, {std::byte{value ? uint8_t{1} : uint8_t{0}}});
}

void GgufMetadata::set_string(const std::string& key, const std::string& value) {
  std::vector<std::byte> bytes;
  append_string(bytes, value);
  set(key, GgufType::kString, std::move(bytes));
}

void GgufMetadata::set_string_array(const std::string& key, const std::vector<std::string>& values) {
  std::vector<std::byte> bytes;
  size_t total = kArrayHeaderBytes;
  for (const std::string& value : values) total += 8 + value.size();
  bytes.reserve(total);
  append<uint32_t>(bytes, static_cast<uint32_t>(GgufType::kString));
  append<uint64_t>(bytes, values.size());
  for (const std::string& value : values) append_string(bytes, value);
  set(key, GgufType::kArray, std::move(bytes));
}

void GgufMetadata::set_float_array(const std::string& key, const std::vector<float>& values) {
  std::vector<std::byte> bytes;
  append<uint32_t>(bytes, static_cast<uint32_t>(GgufType::kFloat32));
  append<uint64_t>(bytes, values.size());
  const auto* raw = reinterpret_cast<const std::byte*>(values.data());
  bytes.insert(bytes.end(), raw, raw + values.size() * sizeof(float));
  set(key, GgufType::kArray, std::move(bytes));
}

void GgufMetadata::set_int_array(const std::string& key, const std::vector<int64_t>& values, GgufType elem) {
  const std::string where = detail::concat("key '", key, "'");
  MOE_CHECK(is_integer(elem), FormatError, where, ": ", gguf_type_name(elem), " is not an integer type");
  std::vector<std::byte> bytes;
  append<uint32_t>(bytes, static_cast<uint32_t>(elem));
  append<uint64_t>(bytes, values.size());
  bytes.reserve(kArrayHeaderBytes + values.size() * scalar_bytes(elem));
  for (int64_t value : values) encode_int(bytes, value, elem, where);
  set(key, GgufType::kArray, std::move(bytes));
}

const GgufMetadata::Value* GgufMetadata::find(const std::string& key) const {
  const auto it = index_.find(key);
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}

void GgufMetadata::set(const std::string& key, GgufType type, std::vector<std::byte> bytes) {
  MOE_CHECK(!key.empty(), FormatError, prefix(), "metadata keys must not be empty");
  const auto it = index_.find(key);
  if (it != index_.end()) {
    entries_[it->second].second = Value{type, std::move(bytes)};
    return;
  }
  index_.emplace(key, entries_.size());
  entries_.emplace_back(key, Value{type, std::move(bytes)});
}

std::string GgufMetadata::prefix() const { return source_.empty() ? "" : source_ + ": "; }

}  // namespace moe::io
