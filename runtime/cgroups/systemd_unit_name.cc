#include "runtime/cgroups/systemd_unit_name.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace berth::cgroups {
namespace {

constexpr char kForm[] =
    "with --systemd-cgroup it must have the form slice:prefix:name (e.g. "
    "system.slice:docker:ID)";

absl::Status BadPath(absl::string_view cgroups_path, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("linux.cgroupsPath: \"", cgroups_path, "\" ", why, "; ", kForm));
}

// systemd's unit name characters (unit-name.c: VALID_CHARS).
bool ValidUnitChars(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != ':' && c != '-' && c != '_' &&
        c != '.' && c != '\\') {
      return false;
    }
  }
  return true;
}

}  // namespace

bool LooksLikeSystemdCgroupsPath(absl::string_view cgroups_path) {
  return !absl::StrContains(cgroups_path, '/') &&
         std::count(cgroups_path.begin(), cgroups_path.end(), ':') == 2;
}

absl::StatusOr<std::string> ExpandSlice(absl::string_view slice) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("slice \"", slice, "\" is not a valid systemd slice name: ", why));
  };
  if (!absl::EndsWith(slice, ".slice")) return bad("it must end in .slice");
  if (absl::StrContains(slice, '/')) return bad("it must not contain '/'");
  absl::string_view base = slice.substr(0, slice.size() - 6);
  if (base == "-") return std::string();
  if (base.empty()) return bad("the name before .slice is empty");
  if (!ValidUnitChars(base)) return bad("it has characters systemd does not allow in unit names");
  if (absl::StrContains(base, "--") || absl::StartsWith(base, "-") || absl::EndsWith(base, "-")) {
    return bad("'-' separates parent slices and cannot lead, trail or repeat");
  }
  // Each '-' names one more parent: a-b-c.slice is in a-b.slice, in a.slice.
  std::string path;
  std::string prefix;
  for (absl::string_view part : absl::StrSplit(base, '-')) {
    if (!prefix.empty()) prefix += '-';
    absl::StrAppend(&prefix, part);
    absl::StrAppend(&path, "/", prefix, ".slice");
  }
  return path;
}

absl::StatusOr<SystemdUnitName> ParseSystemdCgroupsPath(absl::string_view cgroups_path,
                                                        absl::string_view id, bool user_manager) {
  std::string path(cgroups_path);
  if (path.empty()) path = absl::StrCat(":berth:", id);
  if (absl::StartsWith(path, "/")) return BadPath(cgroups_path, "is a path");
  std::vector<std::string> parts = absl::StrSplit(path, ':');
  if (parts.size() != 3) return BadPath(cgroups_path, "does not have three ':'-separated parts");
  SystemdUnitName out;
  out.slice = parts[0].empty() ? (user_manager ? "user.slice" : "system.slice") : parts[0];
  if (out.slice == "-") out.slice = "-.slice";
  if (auto expanded = ExpandSlice(out.slice); !expanded.ok()) {
    return BadPath(cgroups_path, expanded.status().message());
  }
  const std::string& prefix = parts[1];
  const std::string& name = parts[2];
  if (name.empty()) return BadPath(cgroups_path, "has an empty name");
  if (absl::EndsWith(name, ".slice")) {
    return absl::UnimplementedError(
        absl::StrCat("linux.cgroupsPath: \"", cgroups_path,
                     "\": a name ending in .slice (the container as a slice unit) is not "
                     "supported; give a scope name: slice:prefix:name"));
  }
  out.unit =
      prefix.empty() ? absl::StrCat(name, ".scope") : absl::StrCat(prefix, "-", name, ".scope");
  if (!ValidUnitChars(out.unit)) {
    return BadPath(
        cgroups_path,
        absl::StrCat("makes the unit name \"", out.unit,
                     "\", with characters systemd does not allow (A-Z a-z 0-9 : - _ . \\)"));
  }
  if (out.unit.size() > 255) return BadPath(cgroups_path, "makes a unit name over 255 characters");
  return out;
}

}  // namespace berth::cgroups
