#include "lib/json_tree.h"

#include <yajl/yajl_tree.h>

#include <cerrno>
#include <cstdlib>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace berth::json {

bool Value::is_null() const { return v_ && YAJL_IS_NULL(v_); }
bool Value::is_object() const { return v_ && YAJL_IS_OBJECT(v_); }
bool Value::is_array() const { return v_ && YAJL_IS_ARRAY(v_); }
bool Value::is_string() const { return v_ && YAJL_IS_STRING(v_); }
bool Value::is_number() const { return v_ && YAJL_IS_NUMBER(v_); }
bool Value::is_bool() const { return v_ && (YAJL_IS_TRUE(v_) || YAJL_IS_FALSE(v_)); }

Value Value::Get(absl::string_view key) const {
  std::string child = path_.empty() ? std::string(key) : absl::StrCat(path_, ".", key);
  if (!is_object()) return Value(nullptr, child);
  for (size_t i = 0; i < v_->u.object.len; ++i) {
    if (key == v_->u.object.keys[i]) return Value(v_->u.object.values[i], child);
  }
  return Value(nullptr, child);
}

std::vector<std::pair<std::string, Value>> Value::Members() const {
  std::vector<std::pair<std::string, Value>> out;
  if (!is_object()) return out;
  out.reserve(v_->u.object.len);
  for (size_t i = 0; i < v_->u.object.len; ++i) {
    std::string key = v_->u.object.keys[i];
    std::string child = path_.empty() ? key : absl::StrCat(path_, ".", key);
    out.emplace_back(key, Value(v_->u.object.values[i], child));
  }
  return out;
}

std::vector<Value> Value::Elements() const {
  std::vector<Value> out;
  if (!is_array()) return out;
  out.reserve(v_->u.array.len);
  for (size_t i = 0; i < v_->u.array.len; ++i) {
    out.emplace_back(v_->u.array.values[i], absl::StrCat(path_, "[", i, "]"));
  }
  return out;
}

absl::Status Value::Error(absl::string_view what) const {
  return absl::InvalidArgumentError(absl::StrCat(path_.empty() ? "(document)" : path_, ": ", what));
}

absl::StatusOr<std::string> Value::AsString() const {
  if (!is_string()) return Error("must be a string");
  return std::string(v_->u.string);
}

absl::StatusOr<bool> Value::AsBool() const {
  if (!is_bool()) return Error("must be a boolean");
  return static_cast<bool>(YAJL_IS_TRUE(v_));
}

absl::StatusOr<int64_t> Value::AsInt64() const {
  if (!YAJL_IS_INTEGER(v_)) {
    // yajl marks integers that overflow long long as doubles only.
    return Error("must be an integer");
  }
  return static_cast<int64_t>(YAJL_GET_INTEGER(v_));
}

absl::StatusOr<uint64_t> Value::AsUint64() const {
  if (!is_number()) return Error("must be a non-negative integer");
  // Parse the raw text ourselves: values above INT64_MAX (e.g. RLIM_INFINITY
  // written as 18446744073709551615) are valid uint64 JSON numbers.
  const char* text = v_->u.number.r;
  if (text == nullptr || *text == '-' || *text == '\0')
    return Error("must be a non-negative integer");
  errno = 0;
  char* end = nullptr;
  unsigned long long n = std::strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0')
    return Error("must be a non-negative integer that fits in 64 bits");
  return static_cast<uint64_t>(n);
}

absl::StatusOr<uint32_t> Value::AsUint32() const {
  auto n = AsUint64();
  if (!n.ok()) return Error("must be a non-negative 32-bit integer");
  if (*n > std::numeric_limits<uint32_t>::max())
    return Error("must be a non-negative 32-bit integer");
  return static_cast<uint32_t>(*n);
}

absl::StatusOr<int32_t> Value::AsInt32() const {
  auto n = AsInt64();
  if (!n.ok() || *n < std::numeric_limits<int32_t>::min() ||
      *n > std::numeric_limits<int32_t>::max()) {
    return Error("must be a 32-bit integer");
  }
  return static_cast<int32_t>(*n);
}

absl::StatusOr<std::vector<std::string>> Value::AsStringArray() const {
  if (!is_array()) return Error("must be an array of strings");
  std::vector<std::string> out;
  out.reserve(v_->u.array.len);
  for (const Value& e : Elements()) {
    if (!e.is_string()) return e.Error("must be a string");
    out.emplace_back(e.v_->u.string);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Document>> Document::Parse(absl::string_view text,
                                                          absl::string_view name) {
  std::string copy(text);  // yajl_tree_parse wants a NUL-terminated buffer
  char err[512] = {0};
  yajl_val root = yajl_tree_parse(copy.c_str(), err, sizeof err);
  if (root == nullptr) {
    std::string msg(err);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    for (char& c : msg) {
      if (c == '\n') c = ' ';
    }
    return absl::InvalidArgumentError(absl::StrCat(name, ": invalid JSON: ", msg));
  }
  return std::unique_ptr<Document>(new Document(root));
}

Document::~Document() { yajl_tree_free(root_); }

}  // namespace berth::json
