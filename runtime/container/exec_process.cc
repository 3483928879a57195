#include "runtime/container/exec_process.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace berth::container {
namespace {

void SetEnv(std::vector<std::string>& env, const std::string& kv) {
  std::string key = kv.substr(0, kv.find('=') + 1);
  auto it = std::find_if(env.begin(), env.end(),
                         [&](const std::string& e) { return e.rfind(key, 0) == 0; });
  if (it != env.end()) {
    *it = kv;
  } else {
    env.push_back(kv);
  }
}

void AddCap(std::vector<std::string>& set, const std::string& cap) {
  if (std::find(set.begin(), set.end(), cap) == set.end()) set.push_back(cap);
}

}  // namespace

absl::StatusOr<spec::Process> BuildExecProcess(const spec::Process& base,
                                               const spec::Process* from_file, const ExecFlags& f) {
  spec::Process p;
  if (from_file != nullptr) {
    p = *from_file;
  } else {
    p = base;
    if (f.args.empty()) {
      return absl::InvalidArgumentError("exec: a command (or --process) is required");
    }
    p.args = f.args;
    p.terminal = f.tty;
    p.console_size.reset();
    p.oom_score_adj.reset();  // exec'd processes inherit the container's
  }
  if (!f.cwd.empty()) {
    if (f.cwd[0] != '/') return absl::InvalidArgumentError("--cwd: must be an absolute path");
    p.cwd = f.cwd;
  }
  for (const std::string& kv : f.env) {
    if (kv.find('=') == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("--env: \"", kv, "\" must be KEY=value"));
    }
    SetEnv(p.env, kv);
  }
  if (!f.user.empty()) {
    std::vector<std::string> ids = absl::StrSplit(f.user, absl::MaxSplits(':', 1));
    uint32_t uid = 0, gid = 0;
    if (!absl::SimpleAtoi(ids[0], &uid) || (ids.size() == 2 && !absl::SimpleAtoi(ids[1], &gid))) {
      return absl::InvalidArgumentError(
          absl::StrCat("--user: \"", f.user, "\" must be UID or UID:GID (numbers)"));
    }
    p.user.uid = uid;
    p.user.gid = ids.size() == 2 ? gid : p.user.gid;
  }
  for (const std::string& g : f.additional_gids) {
    uint32_t gid;
    if (!absl::SimpleAtoi(g, &gid)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--additional-gids: \"", g, "\" is not a number"));
    }
    p.user.additional_gids.push_back(gid);
  }
  if (!f.caps.empty()) {
    if (!p.capabilities) p.capabilities.emplace();
    for (std::string cap : f.caps) {
      cap = absl::AsciiStrToUpper(cap);
      if (cap.rfind("CAP_", 0) != 0) cap = "CAP_" + cap;
      AddCap(p.capabilities->bounding, cap);
      AddCap(p.capabilities->effective, cap);
      AddCap(p.capabilities->permitted, cap);
      AddCap(p.capabilities->ambient, cap);
    }
  }
  if (f.no_new_privs) p.no_new_privileges = true;
  if (!f.apparmor.empty()) p.apparmor_profile = f.apparmor;
  if (!f.process_label.empty()) p.selinux_label = f.process_label;
  if (p.args.empty())
    return absl::InvalidArgumentError("args: must be a non-empty array of strings");
  return p;
}

}  // namespace berth::container
