// The container's init: what the cloned child does, inside its new
// namespaces, between clone and execve of the user's process.
#pragma once

#include <string>
#include <vector>

#include "runtime/cgroups/hierarchy.h"
#include "runtime/container/seccomp_setup.h"
#include "runtime/linux/exe_guard.h"
#include "runtime/linux/namespaces.h"
#include "runtime/spec/spec.h"

namespace berth::container {

struct InitConfig {
  const spec::Spec* spec = nullptr;
  std::string id;
  pid_t host_pid = 0;            // the init's pid in the runtime's pid namespace (from "go")
  linux_ns::FileId runtime_exe;  // the berth binary itself (CVE-2019-5736 check)
  std::string rootfs;            // absolute, resolved
  std::string bundle;            // absolute
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
  int sync_fd = -1;            // child end of the handshake socket
  int fifo_fd = -1;            // exec fifo, opened O_RDWR: init blocks reading it
  int console_fd = -1;         // where the pty master goes (console socket), or -1
  int staged_devices_fd = -1;  // linux.devices made for a user namespace (StageDevices), or -1
  const std::vector<linux_ns::NamespaceToJoin>* join = nullptr;
  const InitSeccomp* seccomp = nullptr;  // compiled by the parent (empty without linux.seccomp)
  // The parent's fds the child inherits but must not hold: the state
  // directory (its flock would block every later command until exec) and
  // the parent's ends of the sockets (so the child sees EOF if it dies).
  std::vector<int> parent_only_fds;
  std::vector<cgroups::Hierarchy> hierarchies;
  std::vector<std::string> cgroup_dirs;
};

// Never returns: execs the user's process or exits after reporting an error
// to the parent over sync_fd.
[[noreturn]] void RunInit(const InitConfig& config);

}  // namespace berth::container
