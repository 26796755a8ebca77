// safetensors: the reader checks every header field against the file (as the safetensors library
// does, tensors must tile the data area exactly); the writer pads the header as Hugging Face does.
#include "io/safetensors.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/output_file.h"

namespace moe::io {
namespace {

constexpr const char* kMetadataKey = "__metadata__";
constexpr int64_t kLengthBytes = 8;  // the u64 header length

struct DTypeName {
  const char* name;
  DType dtype;
};
constexpr DTypeName kDTypes[] = {{"F32", DType::kF32},
                                 {"F16", DType::kF16},
                                 {"BF16", DType::kBF16},
                                 {"I8", DType::kI8},
                                 {"F8_E4M3", DType::kF8_E4M3}};

const char* safetensors_dtype_name(DType dtype) {
  for (const DTypeName& entry : kDTypes)
    if (entry.dtype == dtype) return entry.name;
  return nullptr;
}

struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin;  // byte offsets in the data area
  uint64_t end;
};

const nlohmann::json* field(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// Parses one tensor's header entry and checks it against the data area of `data_size` bytes.
Entry parse_entry(const std::string& name, const nlohmann::json& value, uint64_t data_size, const std::string& where) {
  Entry entry{name, DType::kF32, {}, 0, 0};
  MOE_CHECK(value.is_object(), FormatError, where, " is not a JSON object");

  const nlohmann::json* dtype = field(value, "dtype");
  MOE_CHECK(dtype != nullptr && dtype->is_string(), FormatError, where, " has no string 'dtype'");
  const auto dtype_name = dtype->get<std::string>();
  const auto known = std::find_if(std::begin(kDTypes), std::end(kDTypes),
                                  [&](const DTypeName& entry) { return dtype_name == entry.name; });
  MOE_CHECK(known != std::end(kDTypes), FormatError, where, " has dtype ", dtype_name,
            ", expected F32, F16, BF16, I8 or F8_E4M3");
  entry.dtype = known->dtype;

  const nlohmann::json* shape = field(value, "shape");
  MOE_CHECK(shape != nullptr && shape->is_array(), FormatError, where, " has no array 'shape'");
  constexpr auto kMaxExtent = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  int64_t numel = 1;
  for (const nlohmann::json& extent : *shape) {
    MOE_CHECK(extent.is_number_unsigned() && extent.get<uint64_t>() <= kMaxExtent, FormatError, where, " has shape ",
              shape->dump(), ", expected non-negative integers");
    entry.shape.push_back(extent.get<int64_t>());
    MOE_CHECK(!__builtin_mul_overflow(numel, entry.shape.back(), &numel), FormatError, where, " has shape ",
              shape->dump(), ", more elements than int64 can count");
  }

  const nlohmann::json* offsets = field(value, "data_offsets");
  MOE_CHECK(offsets != nullptr && offsets->is_array() && offsets->size() == 2 && (*offsets)[0].is_number_unsigned() &&
                (*offsets)[1].is_number_unsigned(),
            FormatError, where, " has no 'data_offsets' [begin, end]");
  entry.begin = (*offsets)[0].get<uint64_t>();
  entry.end = (*offsets)[1].get<uint64_t>();
  MOE_CHECK(entry.begin <= entry.end, FormatError, where, " has data_offsets [", entry.begin, ", ", entry.end,
            "], which end before they begin");
  MOE_CHECK(entry.end <= data_size, FormatError, where, " has data_offsets [", entry.begin, ", ", entry.end,
            "] beyond the data area of ", data_size, " bytes (truncated file?)");
  const int64_t elem_bytes = dtype_info(entry.dtype).block_bytes;
  int64_t nbytes = 0;
  MOE_CHECK(
      !__builtin_mul_overflow(numel, elem_bytes, &nbytes) && static_cast<uint64_t>(nbytes) == entry.end - entry.begin,
      FormatError, where, " has ", entry.end - entry.begin, " bytes but shape ", shape->dump(), " of ", dtype_name,
      " needs ", numel, " x ", elem_bytes);
  return entry;
}

// Bytes aligned to their element size become a view of the mapping; others (a header or earlier
// tensors of odd length, which Hugging Face's writer avoids) are copied, so that kernels may load
// elements in place.
Tensor view_or_copy(const Entry& entry, const std::byte* data, const std::shared_ptr<MappedFile>& mapped) {
  const auto elem_bytes = static_cast<uintptr_t>(dtype_info(entry.dtype).block_bytes);
  if (reinterpret_cast<uintptr_t>(data) % elem_bytes == 0)
    return Tensor::mapped(entry.dtype, entry.shape, data, mapped);
  return Tensor::from_bytes(entry.dtype, entry.shape, std::vector<std::byte>(data, data + (entry.end - entry.begin)));
}

std::map<std::string, std::string> parse_metadata(const nlohmann::json& value, const std::string& path) {
  MOE_CHECK(value.is_object(), FormatError, path, ": ", kMetadataKey, " is not a JSON object");
  std::map<std::string, std::string> metadata;
  for (const auto& [key, text] : value.items()) {
    MOE_CHECK(text.is_string(), FormatError, path, ": ", kMetadataKey, " value '", key, "' is not a string");
    metadata.emplace(key, text.get<std::string>());
  }
  return metadata;
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile file;
  file.path_ = path;
  const std::shared_ptr<MappedFile> mapped = MappedFile::open(path);
  const int64_t size = mapped->size();
  MOE_CHECK(size >= kLengthBytes, FormatError, path, ": truncated: ", size,
            " bytes, too short for the 8-byte header length");
  uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, mapped->data(), kLengthBytes);
  MOE_CHECK(header_bytes <= static_cast<uint64_t>(size - kLengthBytes), FormatError, path,
            ": truncated: the header length is ", header_bytes, " bytes but only ", size - kLengthBytes, " follow it");

  const char* text = reinterpret_cast<const char*>(mapped->data()) + kLengthBytes;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, text + header_bytes);
  } catch (const nlohmann::json::exception& error) {
    throw FormatError(detail::concat(path, ": header is not valid JSON: ", error.what()));
  }
  MOE_CHECK(header.is_object(), FormatError, path, ": header is not a JSON object");

  const int64_t data_start = kLengthBytes + static_cast<int64_t>(header_bytes);
  const auto data_size = static_cast<uint64_t>(size - data_start);
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey) {
      file.metadata_ = parse_metadata(value, path);
    } else {
      entries.push_back(parse_entry(name, value, data_size, detail::concat(path, ": tensor '", name, "'")));
    }
  }

  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t covered = 0;
  for (const Entry& entry : entries) {
    MOE_CHECK(entry.begin == covered, FormatError, path, ": tensor '", entry.name, "' has data_offsets [", entry.begin,
              ", ", entry.end, "], expected it to start at ", covered,
              " (tensors must tile the data area without gaps or overlaps)");
    covered = entry.end;
    const std::byte* data = mapped->data() + data_start + static_cast<int64_t>(entry.begin);
    file.tensors_.emplace(entry.name, view_or_copy(entry, data, mapped));
  }
  MOE_CHECK(covered == data_size, FormatError, path, ": the tensors cover ", covered, " bytes but the data area has ",
            data_size);
  return file;
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    const char* dtype = safetensors_dtype_name(tensor.dtype());
    MOE_CHECK(dtype != nullptr, FormatError, path, ": tensor '", name, "' has dtype ", dtype_info(tensor.dtype()).name,
              ", expected F32, F16, BF16, I8 or F8_E4M3");
    MOE_CHECK(name != kMetadataKey && names.insert(name).second, FormatError, path, ": tensor name '", name,
              "' is used twice or reserved");
    const auto nbytes = static_cast<uint64_t>(tensor.nbytes());
    header[name] = {{"dtype", dtype}, {"shape", tensor.shape()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& error) {  // a name that is not UTF-8
    throw FormatError(detail::concat(path, ": cannot encode the header: ", error.what()));
  }
  // The data starts 8-aligned, as Hugging Face's writer pads the header with spaces.
  text.append((8 - text.size() % 8) % 8, ' ');

  OutputFile out(path);
  const uint64_t header_bytes = text.size();
  out.write(&header_bytes, sizeof(header_bytes));
  out.write(text.data(), text.size());
  for (const auto& entry : tensors) out.write(entry.second.data(), static_cast<size_t>(entry.second.nbytes()));
  out.commit();
}

}  // namespace moe::io
