#include "supervisor/berthctl/format.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace berth::ctl {
namespace {

// Number of UTF-8 code points (continuation bytes not counted).
size_t DisplayWidth(absl::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

std::string HumanDuration(absl::Duration d) {
  int64_t seconds = absl::ToInt64Seconds(d);
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return absl::StrCat(seconds, " seconds");
  int64_t minutes = absl::ToInt64Minutes(d);
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return absl::StrCat(minutes, " minutes");
  int64_t hours = static_cast<int64_t>(absl::ToDoubleHours(d) + 0.5);
  if (hours == 1) return "About an hour";
  if (hours < 48) return absl::StrCat(hours, " hours");
  if (hours < 24 * 7 * 2) return absl::StrCat(hours / 24, " days");
  if (hours < 24 * 30 * 2) return absl::StrCat(hours / 24 / 7, " weeks");
  if (hours < 24 * 365 * 2) return absl::StrCat(hours / 24 / 30, " months");
  return absl::StrCat(absl::ToInt64Hours(d) / 24 / 365, " years");
}

std::string StatusText(absl::string_view status, const TaskTimes& t, absl::Time now) {
  if (status == "running" || status == "paused") {
    std::string up = t.started == absl::InfinitePast()
                         ? "Up"
                         : absl::StrCat("Up ", HumanDuration(now - t.started));
    return status == "paused" ? absl::StrCat(up, " (Paused)") : up;
  }
  if (status == "stopped") {
    std::string exited = absl::StrCat("Exited (", t.exit_status, ")");
    if (t.exited == absl::InfinitePast()) return exited;
    return absl::StrCat(exited, " ", HumanDuration(now - t.exited), " ago");
  }
  if (status == "created" || status.empty()) return "Created";
  if (status == "unknown") return "Unknown";
  return std::string(status);
}

std::string BytesSize(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  size_t i = 0;
  while (bytes >= 1024 && i + 1 < std::size(kUnits)) {
    bytes /= 1024;
    ++i;
  }
  return absl::StrFormat("%.4g%s", bytes, kUnits[i]);
}

double CpuPercent(uint64_t prev_cpu_ns, uint64_t cur_cpu_ns, absl::Duration wall) {
  if (cur_cpu_ns < prev_cpu_ns || wall <= absl::ZeroDuration()) return 0;
  return static_cast<double>(cur_cpu_ns - prev_cpu_ns) / absl::ToDoubleNanoseconds(wall) * 100;
}

std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          absl::StrAppendFormat(&out, "\\x%02x", u);
        } else {
          out += c;
        }
    }
  }
  out += "\"";
  return out;
}

std::string Ellipsis(absl::string_view s, size_t max) {
  if (DisplayWidth(s) <= max) return std::string(s);
  if (max == 0) return "";
  std::string out;
  size_t points = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    bool starts_point = (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
    if (starts_point && ++points == max) break;
    out += s[i];
  }
  return out + "\xE2\x80\xA6";  // U+2026 HORIZONTAL ELLIPSIS
}

std::string JoinCommand(const std::vector<std::string>& args) {
  // dockerd's list: an argument holding a space is shown in single quotes.
  return absl::StrJoin(args, " ", [](std::string* out, const std::string& arg) {
    if (arg.find(' ') == std::string::npos) {
      out->append(arg);
    } else {
      absl::StrAppend(out, "'", arg, "'");
    }
  });
}

std::string CommandColumn(const std::vector<std::string>& args, bool no_trunc) {
  std::string command = JoinCommand(args);
  return Quote(no_trunc ? command : Ellipsis(command, 20));
}

std::string ShortId(absl::string_view id) { return std::string(id.substr(0, 12)); }

std::string RenderTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (row.size() > widths.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], DisplayWidth(row[i]));
  }
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 == row.size()) break;
      size_t width = std::max<size_t>(widths[i] + 3, 10);
      out.append(width - DisplayWidth(row[i]), ' ');
    }
    out += '\n';
  }
  return out;
}

}  // namespace berth::ctl
