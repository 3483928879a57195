// The process `berth exec` runs: the container's own process as the base
// (env, user, capabilities, rlimits, noNewPrivileges, labels), replaced by a
// --process file, or with its args replaced by the command line; then
// runc's flags on top.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/spec/spec.h"

namespace berth::container {

struct ExecFlags {
  std::vector<std::string> args;  // the command after the ID
  bool tty = false;
  std::string cwd;
  std::vector<std::string> env;              // KEY=value, override the base's
  std::string user;                          // "uid" or "uid:gid"
  std::vector<std::string> additional_gids;  // numbers
  std::vector<std::string> caps;             // CAP_* names
  bool no_new_privs = false;
  std::string apparmor;
  std::string process_label;
};

// `base` is the container's config process; `from_file` a parsed --process
// (replaces the base when given). CVE-2022-29162: --cap adds to the
// bounding, effective, permitted and ambient sets, never to inheritable.
absl::StatusOr<spec::Process> BuildExecProcess(const spec::Process& base,
                                               const spec::Process* from_file,
                                               const ExecFlags& flags);

}  // namespace berth::container
