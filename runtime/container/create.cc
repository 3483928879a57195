#include "runtime/container/create.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/log.h"
#include "lib/mount_options.h"
#include "lib/proc.h"
#include "lib/time_format.h"
#include "runtime/cgroups/manager.h"
#include "runtime/container/init.h"
#include "runtime/container/seccomp_setup.h"
#include "runtime/container/sync.h"
#include "runtime/hooks/hooks.h"
#include "runtime/linux/capabilities.h"
#include "runtime/linux/devices.h"
#include "runtime/linux/namespaces.h"
#include "runtime/linux/process_attrs.h"
#include "runtime/linux/process_limits.h"
#include "runtime/linux/sysctl.h"
#include "runtime/linux/terminal.h"
#include "runtime/linux/userns.h"
#include "runtime/spec/parser.h"

namespace berth::container {
namespace {

using spec::NamespaceType;

absl::StatusOr<std::string> RealPath(const std::string& path, absl::string_view what) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return ErrnoError(absl::StrCat(what, " ", path));
  return std::string(buf);
}

// Every mount needs a type unless it is a bind mount. Whether the kernel
// knows the type is mount(2)'s to say (it loads filesystem modules on
// demand); the init reports ENODEV as "unknown filesystem type", naming the
// entry, and create rolls back.
absl::Status CheckMountTypes(const spec::Spec& s) {
  for (size_t i = 0; i < s.mounts.size(); ++i) {
    const spec::Mount& m = s.mounts[i];
    if (m.type.empty() && !ParseMountOptions(m.options).is_bind()) {
      return absl::InvalidArgumentError(
          absl::StrCat("mounts[", i, "] (", m.destination,
                       "): type is required unless the mount is a bind mount"));
    }
  }
  return absl::OkStatus();
}

// hostname/domainname in a joined uts namespace would be the host's if
// that namespace is the runtime's own.
absl::Status CheckJoinedUts(const spec::Spec& s,
                            const std::vector<linux_ns::NamespaceToJoin>& join) {
  if (s.hostname.empty() && s.domainname.empty()) return absl::OkStatus();
  struct stat own, joined;
  for (const linux_ns::NamespaceToJoin& ns : join) {
    if (ns.type != NamespaceType::kUts) continue;
    if (::stat("/proc/self/ns/uts", &own) != 0) return ErrnoError("stat /proc/self/ns/uts");
    if (::fstat(ns.fd.get(), &joined) != 0) return ErrnoError("stat the uts namespace to join");
    if (own.st_dev == joined.st_dev && own.st_ino == joined.st_ino) {
      return absl::InvalidArgumentError(
          "hostname: the uts namespace in linux.namespaces is the runtime's own; setting "
          "hostname or domainname there would change the host's");
    }
  }
  return absl::OkStatus();
}

// Without a mount namespace the container shares the runtime's (runc and
// crun allow it): no pivot_root, and nothing may be mounted or made on the
// host, so every part of the config that would need that is refused.
absl::Status CheckWithoutMountNamespace(const spec::Spec& s, const std::string& rootfs) {
  auto refuse = [](absl::string_view field, absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", why,
                     " without a mount namespace in linux.namespaces (it would be the host's)"));
  };
  const spec::Linux& lx = s.linux_cfg;
  if (rootfs != "/") return refuse("root.path", "the rootfs must be / (the runtime's own)");
  if (s.root.readonly) return refuse("root.readonly", "cannot make the root read-only");
  if (!s.mounts.empty()) return refuse("mounts", "cannot mount anything");
  if (!lx.masked_paths.empty()) return refuse("linux.maskedPaths", "cannot mask paths");
  if (!lx.readonly_paths.empty()) return refuse("linux.readonlyPaths", "cannot remount paths");
  if (!lx.devices.empty()) return refuse("linux.devices", "cannot create devices");
  if (!lx.rootfs_propagation.empty()) {
    return refuse("linux.rootfsPropagation", "cannot change mount propagation");
  }
  if (s.process->terminal) return refuse("process.terminal", "cannot bind /dev/console");
  return absl::OkStatus();
}

absl::Status Validate(const spec::Spec& s, const CreateOptions& o, const std::string& rootfs) {
  if (!s.process) return absl::InvalidArgumentError("process: required to create a container");
  const spec::Process& p = *s.process;
  const spec::Namespace* mnt = s.FindNamespace(NamespaceType::kMount);
  if (mnt == nullptr) BERTH_RETURN_IF_ERROR(CheckWithoutMountNamespace(s, rootfs));
  if (mnt != nullptr && !mnt->path.empty()) {
    return absl::InvalidArgumentError(
        "linux.namespaces: joining an existing mount namespace by path is not supported");
  }
  const spec::Namespace* time = s.FindNamespace(NamespaceType::kTime);
  if (!s.linux_cfg.time_offsets.empty() && (time == nullptr || !time->path.empty())) {
    return absl::InvalidArgumentError("linux.timeOffsets: needs a new time namespace");
  }
  BERTH_RETURN_IF_ERROR(linux_ns::ValidateLsm(s));
  if (s.linux_cfg.intel_rdt) {
    return absl::UnimplementedError("linux.intelRdt: Intel RDT is not supported");
  }
  if (s.linux_cfg.net_devices) {
    return absl::UnimplementedError(
        "linux.netDevices: moving network devices into the container is not supported");
  }
  BERTH_RETURN_IF_ERROR(linux_ns::ValidateIdMappings(s));
  const spec::Namespace* uts = s.FindNamespace(NamespaceType::kUts);
  // A joined uts namespace gets the names too (runc, crun); the runtime's
  // own is refused (CheckJoinedUts).
  if ((!s.hostname.empty() || !s.domainname.empty()) && uts == nullptr) {
    return absl::InvalidArgumentError(
        "hostname: setting a hostname or domainname needs a uts namespace in linux.namespaces");
  }
  if (p.terminal && o.console_socket.empty() && !o.terminal_to_caller) {
    return absl::InvalidArgumentError(
        "process.terminal is true: --console-socket is required when the runtime detaches");
  }
  if (!p.terminal && !o.console_socket.empty()) {
    return absl::InvalidArgumentError("--console-socket given but process.terminal is false");
  }
  BERTH_RETURN_IF_ERROR(linux_ns::ValidateSysctl(s));
  for (const spec::Rlimit& l : p.rlimits) {
    if (linux_ns::RlimitResource(l.type) < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("process.rlimits: unknown limit \"", l.type, "\""));
    }
  }
  if (p.capabilities) BERTH_RETURN_IF_ERROR(linux_ns::ValidateCapabilities(*p.capabilities));
  if (o.preserve_fds < 0 || o.preserve_fds > 65536) {
    return absl::InvalidArgumentError("--preserve-fds: must be between 0 and 65536");
  }
  return CheckMountTypes(s);
}

// clone3 as fork: a copy of this (single-threaded) process in new namespaces,
// with a pidfd for race-free signalling.
pid_t CloneInit(int flags, int* pidfd) {
  struct clone_args args = {};
  args.flags = static_cast<uint64_t>(flags) | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(pidfd);
  args.exit_signal = SIGCHLD;
  return static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
}

// Joins the pid namespace for our next child only, then clones.
absl::StatusOr<pid_t> CloneIntoNamespaces(const spec::Spec& s,
                                          const std::vector<linux_ns::NamespaceToJoin>& join,
                                          const InitConfig& init, int* pidfd) {
  UniqueFd own_pidns;
  for (const auto& ns : join) {
    if (ns.type != NamespaceType::kPid) continue;
    own_pidns.reset(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
    if (!own_pidns) return ErrnoError("open own pid namespace");
    BERTH_RETURN_IF_ERROR(linux_ns::Join(ns));
  }
  pid_t pid = CloneInit(linux_ns::NewNamespaceCloneFlags(s), pidfd);
  if (pid == 0) RunInit(init);
  int err = errno;
  if (own_pidns && ::setns(own_pidns.get(), CLONE_NEWPID) != 0) {
    return ErrnoError("return to own pid namespace");
  }
  if (pid < 0) return ErrnoError(err, "clone container init");
  return pid;
}

// The parent moves the init into its cgroup, then sets the limits while the
// init still waits for "go": nothing of the user's runs unlimited.
absl::Status JoinCgroupAndApplyResources(cgroups::Manager* cgroup, const spec::Spec& s, pid_t pid) {
  const std::optional<spec::Resources>& r = s.linux_cfg.resources;
  if (cgroup == nullptr) {
    if (r) log::Warn("linux.resources: ignored, running without cgroups (rootless)");
    return absl::OkStatus();
  }
  BERTH_RETURN_IF_ERROR(Annotate(cgroup->Join(pid), "join cgroup"));
  return cgroup->Apply(r ? *r : spec::Resources{}, s.linux_cfg.devices);
}

absl::Status InitExitedDuringSetup(const cgroups::Manager* cgroup) {
  if (cgroup != nullptr && cgroup->OomKilled()) {
    return absl::ResourceExhaustedError(
        "container init was killed by the OOM killer during setup: linux.resources.memory.limit "
        "is too low");
  }
  return absl::InternalError("container init exited during setup");
}

void RecordCgroup(const cgroups::Manager& m, state::ContainerState* cs) {
  const cgroups::Placement& p = m.placement();
  cs->cgroup_mode = cgroups::ModeName(p.mode);
  cs->cgroup_paths = p.PathsByKey();
  cs->created_cgroup_dirs = p.created_dirs;
  cs->systemd_unit = m.SystemdUnit();
  cs->systemd_user = m.SystemdUserManager();
}

// --systemd-cgroup: a scope of the system's systemd, or of the user's own
// instance when rootless (as runc).
cgroups::Driver CgroupDriver(const CreateOptions& o) {
  if (!o.systemd_cgroup) return cgroups::Driver::kCgroupfs;
  return ::geteuid() == 0 ? cgroups::Driver::kSystemd : cgroups::Driver::kSystemdUser;
}

}  // namespace

absl::StatusOr<spec::Spec> LoadSpecFile(const std::string& path, std::string* text_out) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto parsed = spec::ParseSpec(*text);
  if (!parsed.ok()) return Annotate(parsed.status(), path);
  if (text_out != nullptr) *text_out = std::move(*text);
  return parsed;
}

absl::StatusOr<CreatedContainer> Create(const CreateOptions& o) {
  BERTH_RETURN_IF_ERROR(state::ValidateId(o.id));
  BERTH_ASSIGN_OR_RETURN(std::string bundle, RealPath(o.bundle, "bundle"));
  std::string config_text;
  BERTH_ASSIGN_OR_RETURN(spec::Spec s,
                         LoadSpecFile(absl::StrCat(bundle, "/config.json"), &config_text));
  std::string root_path =
      s.root.path[0] == '/' ? s.root.path : absl::StrCat(bundle, "/", s.root.path);
  auto rootfs = RealPath(root_path, "root.path: rootfs");
  if (!rootfs.ok()) return rootfs.status();
  struct stat st;
  if (::stat(rootfs->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("root.path: rootfs ", *rootfs, " is not a directory"));
  }
  BERTH_RETURN_IF_ERROR(Validate(s, o, *rootfs));
  BERTH_ASSIGN_OR_RETURN(auto join, linux_ns::OpenNamespacesToJoin(s));
  BERTH_RETURN_IF_ERROR(CheckJoinedUts(s, join));

  UniqueFd console;  // our end of a socketpair, when we bridge the terminal
  UniqueFd console_child;
  if (s.process->terminal) {
    BERTH_ASSIGN_OR_RETURN(linux_ns::ConsoleChannel channel,
                           linux_ns::OpenConsoleChannel(o.console_socket));
    console = std::move(channel.ours);
    console_child = std::move(channel.child);
  }

  BERTH_ASSIGN_OR_RETURN(state::StateDir dir, state::StateDir::Create(o.root, o.id));
  // From here on, every failure undoes what was done.
  std::unique_ptr<cgroups::Manager> cgroup;  // null when rootless without cgroups
  pid_t pid = -1;
  UniqueFd pidfd;
  bool committed = false;
  auto rollback = absl::MakeCleanup([&] {
    if (committed) return;
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (cgroup) cgroup->Destroy().IgnoreError();
    dir.Remove().IgnoreError();
  });

  if (::mkfifoat(dir.fd(), "exec.fifo", 0600) != 0) return ErrnoError("create exec fifo");
  UniqueFd fifo(::openat(dir.fd(), "exec.fifo", O_RDWR | O_CLOEXEC));
  if (!fifo) return ErrnoError("open exec fifo");

  BERTH_ASSIGN_OR_RETURN(auto hierarchies, cgroups::DetectHierarchies());
  auto made = cgroups::CreateManager(hierarchies, s.linux_cfg.cgroups_path, o.id, CgroupDriver(o),
                                     s.linux_cfg.resources ? &*s.linux_cfg.resources : nullptr);
  if (made.ok()) {
    cgroup = *std::move(made);
  } else if (::geteuid() != 0 && !o.systemd_cgroup && absl::IsPermissionDenied(made.status())) {
    // Rootless, as runc: run without cgroups we are not allowed to create.
    log::Warn(
        absl::StrCat("cgroups: ", made.status().message(), "; running without cgroups (rootless)"));
  } else {
    return made.status();
  }

  // In a new user namespace the init can neither mknod nor open a node on a
  // file system of its own: linux.devices are made here, as crun does
  // (root only: a rootless runtime cannot make them either).
  UniqueFd staged_devices;
  const spec::Namespace* userns = s.FindNamespace(NamespaceType::kUser);
  if (userns != nullptr && userns->path.empty() && !s.linux_cfg.devices.empty() &&
      ::geteuid() == 0) {
    BERTH_ASSIGN_OR_RETURN(staged_devices,
                           linux_ns::StageDevices(s.linux_cfg.devices, s.linux_cfg.uid_mappings,
                                                  s.linux_cfg.gid_mappings));
  }

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return ErrnoError("socketpair");
  UniqueFd sync_parent(sv[0]);
  UniqueFd sync_child(sv[1]);

  BERTH_ASSIGN_OR_RETURN(InitSeccomp seccomp, InitSeccomp::Compile(s, sync_child.get(), o.root));
  InitConfig init;
  init.spec = &s;
  init.seccomp = &seccomp;
  init.id = o.id;
  init.rootfs = *rootfs;
  init.bundle = bundle;
  init.no_pivot = o.no_pivot;
  init.no_new_keyring = o.no_new_keyring;
  init.preserve_fds = static_cast<int>(o.preserve_fds);
  init.sync_fd = sync_child.get();
  init.fifo_fd = fifo.get();
  init.console_fd = console_child.get();
  init.staged_devices_fd = staged_devices.get();
  init.join = &join;
  init.parent_only_fds = {dir.fd(), sync_parent.get()};
  if (console) init.parent_only_fds.push_back(console.get());
  init.hierarchies = cgroup ? cgroup->placement().Hierarchies() : hierarchies;
  if (cgroup) init.cgroup_dirs = cgroup->placement().Paths();

  int raw_pidfd = -1;
  BERTH_ASSIGN_OR_RETURN(pid, CloneIntoNamespaces(s, join, init, &raw_pidfd));
  pidfd.reset(raw_pidfd);
  sync_child.reset();
  console_child.reset();

  // A new user namespace gets its maps before the init does anything.
  if (const spec::Namespace* user = s.FindNamespace(NamespaceType::kUser); user != nullptr) {
    BERTH_RETURN_IF_ERROR(
        linux_ns::WriteIdMappings(pid, s.linux_cfg.uid_mappings, s.linux_cfg.gid_mappings));
  }
  BERTH_RETURN_IF_ERROR(JoinCgroupAndApplyResources(cgroup.get(), s, pid));
  BERTH_RETURN_IF_ERROR(SendSync(sync_parent.get(), SyncType::kGo, absl::StrCat(pid)));
  auto reply = ReceiveSync(sync_parent.get());
  if (reply.ok() && reply->type == SyncType::kRunHooks) {
    std::string state = hooks::StateJson(s, o.id, "creating", pid, bundle);
    BERTH_RETURN_IF_ERROR(hooks::Run(s.hooks.prestart, "prestart", state));
    BERTH_RETURN_IF_ERROR(hooks::Run(s.hooks.create_runtime, "createRuntime", state));
    BERTH_RETURN_IF_ERROR(SendSync(sync_parent.get(), SyncType::kHooksDone));
    reply = ReceiveSync(sync_parent.get());
  }
  if (reply.ok() && reply->type == SyncType::kSeccompFd) {
    BERTH_RETURN_IF_ERROR(SendToSeccompListener(s, o.id, "creating", pid, bundle, reply->fd.get()));
    reply = ReceiveSync(sync_parent.get());
  }
  if (!reply.ok()) return InitExitedDuringSetup(cgroup.get());
  if (reply->type == SyncType::kError) return absl::FailedPreconditionError(reply->text);
  if (reply->type != SyncType::kReady)
    return absl::InternalError("unexpected message from container init");

  UniqueFd pty_master;
  if (console) {
    BERTH_ASSIGN_OR_RETURN(pty_master, linux_ns::ReceiveFd(console.get()));
  }
  state::ContainerState cs;
  cs.oci_version = s.oci_version;
  cs.id = o.id;
  cs.pid = pid;
  auto stat = proc::ReadStat(pid);
  if (!stat) return absl::InternalError("container init exited during setup");
  cs.pid_start_time = stat->start_time;
  cs.bundle = bundle;
  cs.rootfs = *rootfs;
  cs.created = FormatRfc3339Nano(absl::Now());
  cs.annotations = s.annotations;
  if (cgroup) RecordCgroup(*cgroup, &cs);
  BERTH_RETURN_IF_ERROR(dir.WriteState(cs));
  // exec (the container's process as a base), start and delete (poststart
  // and poststop hooks) work from the config as it was at create time, even
  // if the bundle has changed or gone since.
  BERTH_RETURN_IF_ERROR(
      WriteFileAtomic(absl::StrCat(dir.path(), "/config.json"), config_text, 0600));
  if (!o.pid_file.empty()) {
    BERTH_RETURN_IF_ERROR(Annotate(WriteFileAtomic(o.pid_file, absl::StrCat(pid)), "--pid-file"));
  }
  BERTH_RETURN_IF_ERROR(SendSync(sync_parent.get(), SyncType::kCommit));
  committed = true;
  return CreatedContainer{std::move(dir),  std::move(cs),         std::move(pidfd),
                          std::move(fifo), std::move(pty_master), s.process->terminal};
}

}  // namespace berth::container
