#include "runtime/cgroups/controllers_v2.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/file_util.h"

namespace berth::cgroups {
namespace {

std::set<std::string> ReadList(const std::string& path) {
  std::set<std::string> out;
  auto text = ReadFile(path);
  if (!text.ok()) return out;
  for (absl::string_view c :
       absl::StrSplit(absl::StripAsciiWhitespace(*text), ' ', absl::SkipEmpty())) {
    out.emplace(c);
  }
  return out;
}

bool IsCgroup(const std::string& dir) {
  return ::access(absl::StrCat(dir, "/cgroup.subtree_control").c_str(), F_OK) == 0;
}

// The cgroups above `dir`, root first.
std::vector<std::string> Ancestors(const std::string& dir) {
  std::vector<std::string> out;
  std::string d = dir;
  for (;;) {
    size_t slash = d.rfind('/');
    if (slash == std::string::npos || slash == 0) break;
    d = d.substr(0, slash);
    if (!IsCgroup(d)) break;
    out.push_back(d);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::string Plus(const std::vector<std::string>& controllers) {
  std::vector<std::string> parts;
  for (const std::string& c : controllers) parts.push_back(absl::StrCat("+", c));
  return absl::StrJoin(parts, " ");
}

}  // namespace

std::map<std::string, std::string> ControllersOfWrites(const std::vector<FileWrite>& writes) {
  std::map<std::string, std::string> out;
  for (const FileWrite& w : writes) {
    if (w.optional || w.candidates.empty()) continue;
    const std::string& file = w.candidates.front().file;
    std::string controller = file.substr(0, file.find('.'));
    if (controller == "cgroup" || controller == file) continue;
    out.emplace(controller, w.field);
  }
  return out;
}

EnableFailures EnableControllersV2(const std::string& dir, const std::set<std::string>& wanted) {
  return EnableControllersV2(dir, wanted, WriteExisting);
}

EnableFailures EnableControllersV2(const std::string& dir, const std::set<std::string>& wanted,
                                   const FileWriter& write) {
  EnableFailures failures;
  for (const std::string& a : Ancestors(dir)) {
    std::set<std::string> available = ReadList(absl::StrCat(a, "/cgroup.controllers"));
    std::set<std::string> enabled = ReadList(absl::StrCat(a, "/cgroup.subtree_control"));
    std::vector<std::string> missing;
    for (const std::string& c : wanted) {
      // What this level lacks cannot be enabled below it either.
      if (available.count(c) != 0 && enabled.count(c) == 0) missing.push_back(c);
    }
    if (missing.empty()) continue;
    std::string file = absl::StrCat(a, "/cgroup.subtree_control");
    if (write(file, Plus(missing)).ok()) continue;
    for (const std::string& c : missing) {
      absl::Status st = write(file, absl::StrCat("+", c));
      if (!st.ok()) failures.emplace(c, absl::StrCat("enabling it failed: ", st.message()));
    }
  }
  return failures;
}

absl::Status CheckControllersV2(const std::string& dir,
                                const std::map<std::string, std::string>& needed,
                                const EnableFailures& failures) {
  std::set<std::string> here = ReadList(absl::StrCat(dir, "/cgroup.controllers"));
  for (const auto& [controller, field] : needed) {
    if (here.count(controller) != 0) continue;
    std::string why;
    if (auto f = failures.find(controller); f != failures.end()) {
      why = f->second;
    } else {
      // The highest level that does not offer it explains the rest.
      std::vector<std::string> ancestors = Ancestors(dir);
      for (const std::string& a : ancestors) {
        if (ReadList(absl::StrCat(a, "/cgroup.controllers")).count(controller) != 0) continue;
        why =
            a == ancestors.front()
                ? absl::StrCat("not in ", a, "/cgroup.controllers: the kernel has no ", controller,
                               " controller for cgroup2 (not built in, or bound to a cgroup v1 "
                               "hierarchy)")
                : absl::StrCat("not in ", a, "/cgroup.controllers: its parent does not enable it");
        break;
      }
      if (why.empty()) why = "not enabled in the parent's cgroup.subtree_control";
    }
    return absl::FailedPreconditionError(absl::StrCat(
        field, ": the ", controller, " cgroup controller is not available in ", dir, ": ", why));
  }
  return absl::OkStatus();
}

}  // namespace berth::cgroups
