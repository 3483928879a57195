// Readers for config.json fields on top of lib/json_tree.h, shared by every
// parser of the spec (config, resources, seccomp). Optional fields treat
// absent and null alike; errors name the field's JSON path.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/errors.h"
#include "lib/json_tree.h"

namespace berth::spec {

bool Absent(const json::Value& v);
absl::Status ExpectObject(const json::Value& v);

absl::Status ReadString(const json::Value& v, std::string* out);
absl::Status ReadBool(const json::Value& v, bool* out);
absl::Status ReadBool(const json::Value& v, std::optional<bool>* out);
absl::Status ReadUint32(const json::Value& v, uint32_t* out);
absl::Status ReadUint32(const json::Value& v, std::optional<uint32_t>* out);
absl::Status ReadUint16(const json::Value& v, std::optional<uint16_t>* out);
absl::Status ReadInt64(const json::Value& v, std::optional<int64_t>* out);
absl::Status ReadUint64(const json::Value& v, uint64_t* out);
absl::Status ReadUint64(const json::Value& v, std::optional<uint64_t>* out);
absl::Status ReadStringArray(const json::Value& v, std::vector<std::string>* out);
absl::Status ReadStringMap(const json::Value& v, std::map<std::string, std::string>* out);
// Required fields: absent or null is "is required".
absl::StatusOr<std::string> RequiredString(const json::Value& v);
absl::StatusOr<bool> RequiredBool(const json::Value& v);
absl::StatusOr<uint32_t> RequiredUint32(const json::Value& v);
absl::StatusOr<int64_t> RequiredInt64(const json::Value& v);
absl::StatusOr<uint64_t> RequiredUint64(const json::Value& v);

// Applies `parse` to each element of an optional array.
template <typename Fn>
absl::Status ForEachElement(const json::Value& v, Fn&& parse) {
  if (Absent(v)) return absl::OkStatus();
  if (!v.is_array()) return v.Error("must be an array");
  for (const json::Value& e : v.Elements()) BERTH_RETURN_IF_ERROR(parse(e));
  return absl::OkStatus();
}

}  // namespace berth::spec
