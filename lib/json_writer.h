// A small fluent wrapper over yajl's generator (state.json, --format json,
// log lines, `berth spec`). Not thread-safe; one document per writer.
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

struct yajl_gen_t;

namespace berth {

class JsonWriter {
 public:
  // indent: "" for one line, e.g. "\t" or "  " for a beautified document.
  explicit JsonWriter(absl::string_view indent = "");
  ~JsonWriter();
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(absl::string_view key);
  JsonWriter& String(absl::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

  // The document so far; yajl's beautifier ends it with a newline, which is
  // stripped (runc prints state without one).
  std::string Take();

 private:
  yajl_gen_t* gen_;
  std::string indent_;
};

}  // namespace berth
