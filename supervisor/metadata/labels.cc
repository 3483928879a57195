#include "supervisor/metadata/labels.h"

#include <cstdint>
#include <memory>

#include "absl/strings/str_cat.h"
#include "lib/json_tree.h"
#include "lib/json_writer.h"

namespace berth::supervisor {
namespace {

// yajl's parser rejects invalid UTF-8 and its tree truncates strings at a
// NUL, so both are refused on the way in rather than lost on the way out.
bool IsStorableText(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> LabelsToJson(const Labels& labels) {
  JsonWriter w;
  w.BeginObject();
  for (const auto& [key, value] : labels) {
    if (!IsStorableText(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("label key \"", key, "\" contains a NUL byte or invalid UTF-8"));
    }
    if (!IsStorableText(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("value of label \"", key, "\" contains a NUL byte or invalid UTF-8"));
    }
    w.Key(key).String(value);
  }
  w.EndObject();
  return w.Take();
}

absl::StatusOr<Labels> LabelsFromJson(absl::string_view json, absl::string_view what) {
  auto corrupt = [&](absl::string_view why) {
    return absl::InternalError(
        absl::StrCat("metadata database: labels of ", what, " are not readable: ", why));
  };
  absl::StatusOr<std::unique_ptr<json::Document>> doc = json::Document::Parse(json, "labels");
  if (!doc.ok()) return corrupt(doc.status().message());
  json::Value root = (*doc)->root();
  if (!root.is_object()) return corrupt("not a JSON object");
  Labels labels;
  for (const auto& [key, value] : root.Members()) {
    absl::StatusOr<std::string> s = value.AsString();
    if (!s.ok()) return corrupt(s.status().message());
    labels[key] = *std::move(s);
  }
  return labels;
}

}  // namespace berth::supervisor
