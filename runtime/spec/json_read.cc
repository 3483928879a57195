#include "runtime/spec/json_read.h"

#include <limits>

namespace berth::spec {
namespace {

// Reads an optional scalar with one of Value's typed readers.
template <typename T, typename Reader>
absl::Status ReadOptional(const json::Value& v, Reader read, T* out) {
  if (Absent(v)) return absl::OkStatus();
  BERTH_ASSIGN_OR_RETURN(*out, (v.*read)());
  return absl::OkStatus();
}

}  // namespace

bool Absent(const json::Value& v) { return v.missing() || v.is_null(); }

absl::Status ExpectObject(const json::Value& v) {
  return v.is_object() ? absl::OkStatus() : v.Error("must be an object");
}

absl::Status ReadString(const json::Value& v, std::string* out) {
  return ReadOptional(v, &json::Value::AsString, out);
}
absl::Status ReadBool(const json::Value& v, bool* out) {
  return ReadOptional(v, &json::Value::AsBool, out);
}
absl::Status ReadBool(const json::Value& v, std::optional<bool>* out) {
  return ReadOptional(v, &json::Value::AsBool, out);
}
absl::Status ReadUint32(const json::Value& v, uint32_t* out) {
  return ReadOptional(v, &json::Value::AsUint32, out);
}
absl::Status ReadUint32(const json::Value& v, std::optional<uint32_t>* out) {
  return ReadOptional(v, &json::Value::AsUint32, out);
}
absl::Status ReadInt64(const json::Value& v, std::optional<int64_t>* out) {
  return ReadOptional(v, &json::Value::AsInt64, out);
}
absl::Status ReadUint64(const json::Value& v, uint64_t* out) {
  return ReadOptional(v, &json::Value::AsUint64, out);
}
absl::Status ReadUint64(const json::Value& v, std::optional<uint64_t>* out) {
  return ReadOptional(v, &json::Value::AsUint64, out);
}
absl::Status ReadStringArray(const json::Value& v, std::vector<std::string>* out) {
  return ReadOptional(v, &json::Value::AsStringArray, out);
}

absl::Status ReadUint16(const json::Value& v, std::optional<uint16_t>* out) {
  if (Absent(v)) return absl::OkStatus();
  auto n = v.AsUint64();
  if (!n.ok() || *n > std::numeric_limits<uint16_t>::max()) {
    return v.Error("must be a non-negative 16-bit integer");
  }
  *out = static_cast<uint16_t>(*n);
  return absl::OkStatus();
}

absl::Status ReadStringMap(const json::Value& v, std::map<std::string, std::string>* out) {
  if (Absent(v)) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  for (const auto& member : v.Members()) {
    BERTH_ASSIGN_OR_RETURN((*out)[member.first], member.second.AsString());
  }
  return absl::OkStatus();
}

namespace {

// Reads a required value with one of Value's typed readers.
template <typename Reader>
auto ReadRequired(const json::Value& v, Reader read) -> decltype((v.*read)()) {
  if (Absent(v)) return v.Error("is required");
  return (v.*read)();
}

}  // namespace

absl::StatusOr<std::string> RequiredString(const json::Value& v) {
  return ReadRequired(v, &json::Value::AsString);
}
absl::StatusOr<bool> RequiredBool(const json::Value& v) {
  return ReadRequired(v, &json::Value::AsBool);
}
absl::StatusOr<uint32_t> RequiredUint32(const json::Value& v) {
  return ReadRequired(v, &json::Value::AsUint32);
}
absl::StatusOr<int64_t> RequiredInt64(const json::Value& v) {
  return ReadRequired(v, &json::Value::AsInt64);
}
absl::StatusOr<uint64_t> RequiredUint64(const json::Value& v) {
  return ReadRequired(v, &json::Value::AsUint64);
}

}  // namespace berth::spec
