// Read-only access to a parsed JSON document (yajl's tree API), with the
// JSON path of every value tracked so errors can name it ("process.args[2]").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct yajl_val_s;

namespace berth::json {

class Document;

// A value inside a Document plus its path. Cheap to copy; valid while the
// Document lives.
class Value {
 public:
  Value() = default;
  Value(const yajl_val_s* v, std::string path) : v_(v), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  bool missing() const { return v_ == nullptr; }
  bool is_null() const;
  bool is_object() const;
  bool is_array() const;
  bool is_string() const;
  bool is_number() const;
  bool is_bool() const;

  // Member of an object (missing() if absent or not an object).
  Value Get(absl::string_view key) const;
  // Object members in document order.
  std::vector<std::pair<std::string, Value>> Members() const;
  // Array elements.
  std::vector<Value> Elements() const;

  // Typed reads: an error names path() and what was expected.
  absl::StatusOr<std::string> AsString() const;
  absl::StatusOr<bool> AsBool() const;
  absl::StatusOr<int64_t> AsInt64() const;
  absl::StatusOr<uint64_t> AsUint64() const;
  absl::StatusOr<uint32_t> AsUint32() const;
  absl::StatusOr<int32_t> AsInt32() const;
  absl::StatusOr<std::vector<std::string>> AsStringArray() const;

  // "<path>: <what>" as an InvalidArgument status.
  absl::Status Error(absl::string_view what) const;

 private:
  const yajl_val_s* v_ = nullptr;
  std::string path_;
};

class Document {
 public:
  // Parses text; `name` prefixes syntax errors ("config.json: ...").
  static absl::StatusOr<std::unique_ptr<Document>> Parse(absl::string_view text,
                                                         absl::string_view name);
  ~Document();
  Value root() const { return Value(root_, ""); }

 private:
  explicit Document(yajl_val_s* root) : root_(root) {}
  yajl_val_s* root_;
};

}  // namespace berth::json
