#include "runtime/cgroups/stat_files.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace berth::cgroups {
namespace {

bool ParseDevice(absl::string_view text, uint64_t* major, uint64_t* minor) {
  std::pair<absl::string_view, absl::string_view> mm = absl::StrSplit(text, ':');
  return absl::SimpleAtoi(mm.first, major) && absl::SimpleAtoi(mm.second, minor);
}

}  // namespace

std::map<std::string, uint64_t> ParseFlatKeyed(absl::string_view text) {
  std::map<std::string, uint64_t> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    uint64_t v;
    if (f.size() == 2 && absl::SimpleAtoi(f[1], &v)) out[std::string(f[0])] = v;
  }
  return out;
}

std::vector<uint64_t> ParseNumberList(absl::string_view text) {
  std::vector<uint64_t> out;
  for (absl::string_view f : absl::StrSplit(text, absl::ByAnyChar(" \t\n"), absl::SkipEmpty())) {
    uint64_t v;
    if (absl::SimpleAtoi(f, &v)) out.push_back(v);
  }
  return out;
}

std::vector<uint64_t> ParseRangeList(absl::string_view text) {
  std::vector<uint64_t> out;
  text = absl::StripAsciiWhitespace(text);
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> r = absl::StrSplit(part, '-');
    uint64_t lo, hi;
    if (!absl::SimpleAtoi(r.first, &lo)) continue;
    hi = lo;
    if (!r.second.empty() && !absl::SimpleAtoi(r.second, &hi)) continue;
    for (uint64_t i = lo; i <= hi && i - lo < 65536; ++i) out.push_back(i);
  }
  return out;
}

std::optional<uint64_t> ParseLimit(absl::string_view text, uint64_t max_value) {
  text = absl::StripAsciiWhitespace(text);
  if (text == "max") return max_value;
  uint64_t v;
  if (absl::SimpleAtoi(text, &v)) return v;
  return std::nullopt;
}

std::vector<BlkioEntry> ParseBlkioFile(absl::string_view text) {
  std::vector<BlkioEntry> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    BlkioEntry e;
    if (f.size() != 3 || !ParseDevice(f[0], &e.major, &e.minor) ||
        !absl::SimpleAtoi(f[2], &e.value)) {
      continue;  // "Total N" and anything unexpected
    }
    e.op = std::string(f[1]);
    out.push_back(std::move(e));
  }
  return out;
}

BlkioStats ParseIoStat(absl::string_view text) {
  BlkioStats out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    uint64_t major, minor;
    if (f.empty() || !ParseDevice(f[0], &major, &minor)) continue;
    for (size_t i = 1; i < f.size(); ++i) {
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(f[i], '=');
      uint64_t v;
      if (!absl::SimpleAtoi(kv.second, &v)) continue;
      if (kv.first == "rbytes") out.io_service_bytes_recursive.push_back({major, minor, "Read", v});
      if (kv.first == "wbytes")
        out.io_service_bytes_recursive.push_back({major, minor, "Write", v});
      if (kv.first == "rios") out.io_serviced_recursive.push_back({major, minor, "Read", v});
      if (kv.first == "wios") out.io_serviced_recursive.push_back({major, minor, "Write", v});
    }
  }
  return out;
}

}  // namespace berth::cgroups
