#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/json_writer.h"
#include "lib/subprocess.h"
#include "lib/unique_fd.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/container_cgroup.h"
#include "runtime/cli/flags.h"
#include "runtime/cli/report.h"

namespace berth::cli {
namespace {

// Runs ps(1) with `args` and returns what it printed.
absl::StatusOr<std::string> RunPs(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ps"};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions o;
  o.fds = {{2, STDERR_FILENO}};
  o.capture_stdout = true;
  BERTH_ASSIGN_OR_RETURN(SpawnResult r, RunProcess(argv, o));
  if (!r.success()) {
    return absl::InternalError(
        absl::StrCat("ps ", absl::StrJoin(args, " "), " failed (", r.Describe(), "): ", r.out));
  }
  return r.out;
}

// The header, then the lines whose PID column is one of `pids`.
absl::StatusOr<std::string> FilterByPid(const std::string& table, const std::vector<pid_t>& pids) {
  std::vector<absl::string_view> lines = absl::StrSplit(table, '\n', absl::SkipEmpty());
  if (lines.empty()) return absl::InternalError("ps printed nothing");
  std::vector<absl::string_view> header = absl::StrSplit(lines[0], ' ', absl::SkipEmpty());
  auto pid_column = std::find(header.begin(), header.end(), "PID");
  if (pid_column == header.end()) {
    return absl::InvalidArgumentError("couldn't find PID field in ps output");
  }
  size_t index = static_cast<size_t>(pid_column - header.begin());
  absl::flat_hash_set<pid_t> wanted(pids.begin(), pids.end());
  std::string out = absl::StrCat(lines[0], "\n");
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<absl::string_view> f = absl::StrSplit(lines[i], ' ', absl::SkipEmpty());
    pid_t pid;
    if (index < f.size() && absl::SimpleAtoi(f[index], &pid) && wanted.contains(pid)) {
      absl::StrAppend(&out, lines[i], "\n");
    }
  }
  return out;
}

std::string PidsJson(const std::vector<pid_t>& pids) {
  JsonWriter w;
  w.BeginArray();
  for (pid_t p : pids) w.Int(p);
  w.EndArray();
  return absl::StrCat(w.Take(), "\n");
}

}  // namespace

// The processes in a container's cgroup: `--format json` a JSON array of
// pids; `--format table` (default) ps(1)'s output for them, where every
// argument after the ID goes to ps (default -ef).
int PsCommand(const GlobalOptions& g, const Args& args) {
  std::string format = "table";
  FlagSet flags("ps");
  flags.String({"format", "f"}, &format);
  auto rest = flags.Parse(args, /*interspersed=*/true, /*max_interspersed_positionals=*/1);
  if (!rest.ok()) return Fail(rest.status());
  if (rest->empty()) return Usage("ps: requires the container ID");
  if (format != "table" && format != "json") return Usage("ps: invalid format option");
  auto c = OpenContainerCgroup(g, (*rest)[0], /*lock=*/false);
  if (!c.ok()) return Fail(c.status());
  auto pids = c->cgroup->Pids();
  if (!pids.ok()) return Fail(pids.status());
  if (format == "json") {
    Print(PidsJson(*pids));
    return 0;
  }
  // containerd passes its ps options as one argument, possibly empty.
  std::vector<std::string> ps_args;
  for (size_t i = 1; i < rest->size(); ++i) {
    if (!(*rest)[i].empty()) ps_args.push_back((*rest)[i]);
  }
  if (ps_args.empty()) ps_args = {"-ef"};
  auto table = RunPs(ps_args);
  if (!table.ok()) return Fail(table.status());
  auto filtered = FilterByPid(*table, *pids);
  if (!filtered.ok()) return Fail(filtered.status());
  Print(*filtered);
  return 0;
}

}  // namespace berth::cli
