#include "lib/json_writer.h"

#include <yajl/yajl_gen.h>

#include <cinttypes>
#include <cstdio>

#include "absl/strings/string_view.h"

namespace berth {

JsonWriter::JsonWriter(absl::string_view indent) : gen_(yajl_gen_alloc(nullptr)), indent_(indent) {
  if (!indent_.empty()) {
    yajl_gen_config(gen_, yajl_gen_beautify, 1);
    yajl_gen_config(gen_, yajl_gen_indent_string, indent_.c_str());
  }
}

JsonWriter::~JsonWriter() { yajl_gen_free(gen_); }

JsonWriter& JsonWriter::BeginObject() {
  yajl_gen_map_open(gen_);
  return *this;
}
JsonWriter& JsonWriter::EndObject() {
  yajl_gen_map_close(gen_);
  return *this;
}
JsonWriter& JsonWriter::BeginArray() {
  yajl_gen_array_open(gen_);
  return *this;
}
JsonWriter& JsonWriter::EndArray() {
  yajl_gen_array_close(gen_);
  return *this;
}
JsonWriter& JsonWriter::Key(absl::string_view key) { return String(key); }
JsonWriter& JsonWriter::String(absl::string_view value) {
  yajl_gen_string(gen_, reinterpret_cast<const unsigned char*>(value.data()), value.size());
  return *this;
}
JsonWriter& JsonWriter::Int(int64_t value) {
  yajl_gen_integer(gen_, static_cast<long long>(value));
  return *this;
}
JsonWriter& JsonWriter::Uint(uint64_t value) {
  // yajl_gen_integer takes a signed long long; print large values ourselves.
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%" PRIu64, value);
  yajl_gen_number(gen_, buf, static_cast<size_t>(n));
  return *this;
}
JsonWriter& JsonWriter::Bool(bool value) {
  yajl_gen_bool(gen_, value ? 1 : 0);
  return *this;
}
JsonWriter& JsonWriter::Null() {
  yajl_gen_null(gen_);
  return *this;
}

std::string JsonWriter::Take() {
  const unsigned char* buf = nullptr;
  size_t len = 0;
  yajl_gen_get_buf(gen_, &buf, &len);
  std::string out(reinterpret_cast<const char*>(buf), len);
  yajl_gen_clear(gen_);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace berth
