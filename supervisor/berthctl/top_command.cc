// top CONTAINER: its processes (Tasks.ListPids), described from /proc:
// berthd runs on this machine, in the same pid namespace.
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "supervisor/berthctl/commands.h"
#include "supervisor/berthctl/format.h"

namespace berth::ctl {
namespace {

// "Uid:" and "PPid:" of /proc/PID/status.
std::map<std::string, std::string> StatusFields(uint32_t pid) {
  std::map<std::string, std::string> fields;
  auto text = ReadFile(absl::StrCat("/proc/", pid, "/status"));
  if (!text.ok()) return fields;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits(':', 1));
    std::vector<absl::string_view> words =
        absl::StrSplit(kv.second, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (!words.empty()) fields[std::string(kv.first)] = std::string(words[0]);
  }
  return fields;
}

// The command line; a kernel thread or zombie has none: "[comm]", as ps.
std::string CommandLine(uint32_t pid, const std::map<std::string, std::string>& status) {
  auto cmdline = ReadFile(absl::StrCat("/proc/", pid, "/cmdline"));
  if (cmdline.ok() && !cmdline->empty()) {
    absl::string_view args = absl::StripSuffix(*cmdline, absl::string_view("\0", 1));
    return absl::StrReplaceAll(args, {{absl::string_view("\0", 1), " "}});
  }
  auto name = status.find("Name");
  return absl::StrCat("[", name == status.end() ? "?" : name->second, "]");
}

}  // namespace

int TopCommand(const GlobalOptions& g, const Args& args) {
  FlagSet flags("top", "top CONTAINER");
  auto refs = flags.Parse(args);
  if (!refs.ok()) return UsageError(flags, refs.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (refs->size() != 1) return UsageError(flags, "requires exactly 1 container");
  Client client(g);
  auto c = client.Resolve((*refs)[0]);
  if (!c.ok()) return Fail(Annotate(c.status(), (*refs)[0]));
  v1::ListPidsRequest req;
  req.set_container_id(c->id());
  auto pids = client.Call(&v1::Tasks::Stub::ListPids, req);
  if (!pids.ok()) return Fail(Annotate(pids.status(), (*refs)[0]));
  std::vector<std::vector<std::string>> rows = {{"UID", "PID", "PPID", "CMD"}};
  for (uint32_t pid : pids->pids()) {
    auto status = StatusFields(pid);
    auto field = [&](const char* key) {
      auto it = status.find(key);
      return it == status.end() ? std::string("?") : it->second;
    };
    rows.push_back({field("Uid"), absl::StrCat(pid), field("PPid"), CommandLine(pid, status)});
  }
  Print(RenderTable(rows));
  return 0;
}

}  // namespace berth::ctl
