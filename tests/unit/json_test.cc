#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "lib/json_tree.h"
#include "lib/json_writer.h"

namespace berth {
namespace {

std::unique_ptr<json::Document> MustParse(absl::string_view text) {
  auto doc = json::Document::Parse(text, "test");
  REQUIRE(doc.ok());
  return std::move(*doc);
}

std::string ErrorOf(const absl::Status& s) {
  REQUIRE_FALSE(s.ok());
  return std::string(s.message());
}

TEST_CASE("JsonWriter escapes strings", "[json]") {
  JsonWriter w;
  w.BeginObject().Key("k\"ey").String("a\"b\\c\nd\te\x01/f").EndObject();
  CHECK(w.Take() == R"({"k\"ey":"a\"b\\c\nd\te\u0001/f"})");
}

TEST_CASE("JsonWriter writes compact documents without indent", "[json]") {
  JsonWriter w;
  w.BeginObject().Key("a").Int(-3).Key("b").BeginArray().Bool(true).Null().EndArray().EndObject();
  CHECK(w.Take() == R"({"a":-3,"b":[true,null]})");
}

TEST_CASE("JsonWriter indents with the given string and drops the final newline", "[json]") {
  JsonWriter w("\t");
  w.BeginObject().Key("a").Int(1).Key("b").BeginArray().Bool(false).EndArray().EndObject();
  CHECK(w.Take() == "{\n\t\"a\": 1,\n\t\"b\": [\n\t\tfalse\n\t]\n}");
}

TEST_CASE("JsonWriter writes the full uint64 and int64 ranges", "[json]") {
  JsonWriter w;
  w.BeginArray()
      .Uint(std::numeric_limits<uint64_t>::max())
      .Int(std::numeric_limits<int64_t>::min())
      .Uint(0)
      .EndArray();
  CHECK(w.Take() == "[18446744073709551615,-9223372036854775808,0]");
}

TEST_CASE("Document::Parse reports syntax errors with the name", "[json]") {
  auto doc = json::Document::Parse("{\"a\": ", "config.json");
  REQUIRE_FALSE(doc.ok());
  CHECK(absl::IsInvalidArgument(doc.status()));
  CHECK_THAT(std::string(doc.status().message()), Catch::StartsWith("config.json: invalid JSON: "));
  CHECK(std::string(doc.status().message()).find('\n') == std::string::npos);
}

TEST_CASE("Values track their JSON path", "[json]") {
  auto doc = MustParse(R"({"a": {"b": [1, {"c": true}]}})");
  json::Value c = doc->root().Get("a").Get("b").Elements()[1].Get("c");
  CHECK(c.path() == "a.b[1].c");
  CHECK(c.is_bool());
  CHECK(*c.AsBool());
  CHECK(doc->root().path().empty());
}

TEST_CASE("Missing members keep a path", "[json]") {
  auto doc = MustParse(R"({"a": 1})");
  json::Value v = doc->root().Get("x").Get("y");
  CHECK(v.missing());
  CHECK(v.path() == "x.y");
  CHECK(ErrorOf(v.AsString().status()) == "x.y: must be a string");
  CHECK(doc->root().Get("a").Get("b").missing());  // member of a non-object
}

TEST_CASE("Members keep document order and Elements index", "[json]") {
  auto doc = MustParse(R"({"z": 1, "a": 2, "m": [3, 4]})");
  auto members = doc->root().Members();
  REQUIRE(members.size() == 3);
  CHECK(members[0].first == "z");
  CHECK(members[1].first == "a");
  CHECK(members[2].second.path() == "m");
  auto elements = members[2].second.Elements();
  REQUIRE(elements.size() == 2);
  CHECK(elements[1].path() == "m[1]");
  CHECK(*elements[1].AsInt64() == 4);
  CHECK(doc->root().Get("z").Elements().empty());
}

TEST_CASE("Typed reads name the path and the expected type", "[json]") {
  auto doc = MustParse(R"({"s": "x", "n": 7, "b": false, "z": null, "arr": ["a", 2]})");
  json::Value root = doc->root();
  CHECK(ErrorOf(root.Get("s").AsBool().status()) == "s: must be a boolean");
  CHECK(ErrorOf(root.Get("n").AsString().status()) == "n: must be a string");
  CHECK(ErrorOf(root.Get("b").AsInt64().status()) == "b: must be an integer");
  CHECK(ErrorOf(root.Get("s").AsUint64().status()) == "s: must be a non-negative integer");
  CHECK(ErrorOf(root.Get("arr").AsStringArray().status()) == "arr[1]: must be a string");
  CHECK(ErrorOf(root.Get("s").AsStringArray().status()) == "s: must be an array of strings");
  CHECK(ErrorOf(root.Error("must be an object")) == "(document): must be an object");
  CHECK(root.Get("z").is_null());
  CHECK_FALSE(root.Get("z").missing());
  CHECK(*root.Get("n").AsUint32() == 7u);
  CHECK(*root.Get("n").AsInt32() == 7);
}

TEST_CASE("Integer reads check ranges", "[json]") {
  auto doc = MustParse(R"({
    "max64": 18446744073709551615, "over64": 18446744073709551616, "neg": -1,
    "max32": 4294967295, "over32": 4294967296, "frac": 1.5,
    "minI32": -2147483648, "overI32": 2147483648})");
  json::Value root = doc->root();
  CHECK(*root.Get("max64").AsUint64() == std::numeric_limits<uint64_t>::max());
  CHECK(ErrorOf(root.Get("over64").AsUint64().status()) ==
        "over64: must be a non-negative integer that fits in 64 bits");
  CHECK(ErrorOf(root.Get("neg").AsUint64().status()) == "neg: must be a non-negative integer");
  CHECK_FALSE(root.Get("frac").AsUint64().ok());
  CHECK(*root.Get("max32").AsUint32() == std::numeric_limits<uint32_t>::max());
  CHECK(ErrorOf(root.Get("over32").AsUint32().status()) ==
        "over32: must be a non-negative 32-bit integer");
  CHECK(ErrorOf(root.Get("neg").AsUint32().status()) ==
        "neg: must be a non-negative 32-bit integer");
  CHECK(*root.Get("minI32").AsInt32() == std::numeric_limits<int32_t>::min());
  CHECK(ErrorOf(root.Get("overI32").AsInt32().status()) == "overI32: must be a 32-bit integer");
  CHECK(*root.Get("neg").AsInt64() == -1);
}

TEST_CASE("Writer output parses back", "[json]") {
  JsonWriter w("  ");
  w.BeginObject().Key("s").String("tab\there \"q\"").Key("u").Uint(1ull << 63).EndObject();
  auto doc = MustParse(w.Take());
  CHECK(*doc->root().Get("s").AsString() == "tab\there \"q\"");
  CHECK(*doc->root().Get("u").AsUint64() == (1ull << 63));
}

}  // namespace
}  // namespace berth
