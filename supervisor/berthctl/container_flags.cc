#include "supervisor/berthctl/container_flags.h"

#include <stdlib.h>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "supervisor/berthctl/options.h"
#include "supervisor/berthctl/spec_json.h"

namespace berth::ctl {
namespace {

// berthd does not share berthctl's working directory: paths go absolute.
absl::StatusOr<std::string> AbsolutePath(const std::string& path, absl::string_view flag) {
  char* resolved = ::realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return ErrnoError(absl::StrCat(flag, " ", path));
  std::string out = resolved;
  ::free(resolved);
  return out;
}

absl::Status FillProcessConfig(const ContainerFlags& f, const std::vector<std::string>& cmd,
                               const std::vector<std::string>& env, v1::ProcessConfig* p,
                               bool names = false) {
  for (const std::string& arg : cmd) p->add_args(arg);
  for (const std::string& e : env) p->add_env(e);
  p->set_cwd(f.workdir);
  // With an image, berthd resolves user and group names in its /etc/passwd.
  if (names) {
    p->set_user(f.user);
  } else if (!f.user.empty()) {
    auto user = ParseUser(f.user);
    if (!user.ok()) return user.status();
    p->set_user(f.user);
  }
  p->set_terminal(f.tty);
  p->set_hostname(f.hostname);
  if (!f.memory.empty()) {
    auto bytes = ParseSize(f.memory);
    if (!bytes.ok()) return Annotate(bytes.status(), "--memory");
    p->set_memory_bytes(*bytes);
  }
  if (!f.cpus.empty()) {
    auto cpus = ParseCpus(f.cpus);
    if (!cpus.ok()) return cpus.status();
    p->set_cpus(*cpus);
  }
  if (f.pids_limit < 0) return absl::InvalidArgumentError("--pids-limit must not be negative");
  p->set_pids_limit(f.pids_limit);
  for (const std::string& c : f.cap_add) p->add_cap_add(c);
  for (const std::string& c : f.cap_drop) p->add_cap_drop(c);
  p->set_privileged(f.privileged);
  return absl::OkStatus();
}

// Flags a bundle's config.json already says, which berthctl does not edit.
absl::Status RefuseWithBundle(const ContainerFlags& f) {
  struct {
    bool set;
    const char* flag;
  } const checks[] = {
      {!f.memory.empty(), "--memory"},     {!f.cpus.empty(), "--cpus"},
      {f.pids_limit != 0, "--pids-limit"}, {!f.cap_add.empty(), "--cap-add"},
      {!f.cap_drop.empty(), "--cap-drop"}, {f.privileged, "--privileged"},
      {!f.hostname.empty(), "--hostname"},
  };
  for (const auto& c : checks) {
    if (c.set) {
      return absl::InvalidArgumentError(absl::StrCat(
          c.flag, " cannot be used with --bundle: set it in the bundle's config.json"));
    }
  }
  return absl::OkStatus();
}

absl::Status FillFromBundle(const ContainerFlags& f, const std::vector<std::string>& cmd,
                            const std::vector<std::string>& env, v1::CreateContainerRequest* req) {
  BERTH_RETURN_IF_ERROR(RefuseWithBundle(f));
  auto dir = AbsolutePath(f.bundle, "--bundle");
  if (!dir.ok()) return dir.status();
  std::string config_path = absl::StrCat(*dir, "/config.json");
  auto text = ReadFile(config_path);
  if (!text.ok()) return text.status();
  SpecOverrides o;
  if (!cmd.empty()) o.args = cmd;
  o.env = env;
  if (!f.workdir.empty()) o.cwd = f.workdir;
  if (f.tty) o.terminal = true;
  if (!f.user.empty()) {
    auto user = ParseUser(f.user);
    if (!user.ok()) return user.status();
    o.uid = user->uid;
    o.gid = user->gid;
  }
  auto spec = RewriteSpec(*text, o, config_path);
  if (!spec.ok()) return spec.status();
  auto summary = SummarizeSpec(*spec, config_path);
  if (!summary.ok()) return summary.status();
  if (summary->root_path.empty())
    return absl::InvalidArgumentError(absl::StrCat(config_path, ": root.path is not set"));
  std::string root = summary->root_path.front() == '/'
                         ? summary->root_path
                         : absl::StrCat(*dir, "/", summary->root_path);
  auto rootfs = AbsolutePath(root, "root.path");
  if (!rootfs.ok()) return rootfs.status();
  req->set_spec_json(*spec);
  req->mutable_rootfs()->set_path(*rootfs);
  req->mutable_rootfs()->set_read_only(f.read_only || summary->root_readonly);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> CollectEnv(const std::vector<std::string>& env_files,
                                                    const std::vector<std::string>& env_flags) {
  std::vector<std::string> env;
  EnvLookup lookup = ProcessEnv();
  for (const std::string& file : env_files) {
    auto text = ReadFile(file);
    if (!text.ok()) return Annotate(text.status(), "--env-file");
    auto entries = ParseEnvFile(*text, file, lookup);
    if (!entries.ok()) return entries.status();
    env.insert(env.end(), entries->begin(), entries->end());
  }
  for (const std::string& flag : env_flags) {
    auto entry = ExpandEnv(flag, lookup);
    if (!entry.ok()) return entry.status();
    if (*entry) env.push_back(std::move(**entry));
  }
  return env;
}

void ContainerFlags::Register(FlagSet& flags) {
  flags.String({"rootfs"}, &rootfs, "Host directory used, unchanged, as the root filesystem");
  flags.String({"entrypoint"}, &entrypoint, "Overwrite the default ENTRYPOINT of the image");
  flags.String({"pull"}, &pull, "Pull the image before running: missing, always or never");
  flags.String({"bundle"}, &bundle, "OCI bundle directory whose config.json is run");
  flags.String({"name"}, &name, "Assign a name to the container");
  flags.StringList({"e", "env"}, &env, "Set environment variables (KEY=VALUE, or KEY from here)");
  flags.StringList({"env-file"}, &env_files, "Read in a file of environment variables");
  flags.String({"w", "workdir"}, &workdir, "Working directory inside the container");
  flags.String({"u", "user"}, &user, "Username or UID (format: <name|uid>[:<group|gid>])");
  flags.String({"h", "hostname"}, &hostname, "Container host name");
  flags.StringList({"l", "label"}, &labels, "Set metadata on a container (KEY=VALUE)");
  flags.String({"m", "memory"}, &memory, "Memory limit (bytes, or 64m, 1g, ...)");
  flags.String({"cpus"}, &cpus, "Number of CPUs (0.5, 2, ...)");
  flags.Int({"pids-limit"}, &pids_limit, "Limit the number of processes (0: no limit)");
  flags.Bool({"read-only"}, &read_only, "Mount the container's root filesystem read-only");
  flags.StringList({"cap-add"}, &cap_add, "Add Linux capabilities");
  flags.StringList({"cap-drop"}, &cap_drop, "Drop Linux capabilities");
  flags.Bool({"privileged"}, &privileged, "Give extended privileges to this container");
  flags.String({"runtime"}, &runtime, "OCI runtime the shim drives: berth (default) or runc");
  flags.Bool({"i", "interactive"}, &interactive, "Keep STDIN open");
  flags.Bool({"t", "tty"}, &tty, "Allocate a pseudo-TTY");
}

absl::StatusOr<v1::CreateContainerRequest> BuildCreateRequest(const ContainerFlags& f,
                                                              const std::vector<std::string>& cmd) {
  if (!f.rootfs.empty() && !f.bundle.empty())
    return absl::InvalidArgumentError("--rootfs DIR and --bundle DIR: give one, not both");
  bool from_image = f.rootfs.empty() && f.bundle.empty();
  if (from_image && cmd.empty()) {
    return absl::InvalidArgumentError(
        "an image is required (IMAGE [CMD [ARG...]]), or --rootfs DIR or --bundle DIR");
  }
  if (f.pull != "missing" && f.pull != "always" && f.pull != "never") {
    return absl::InvalidArgumentError(
        absl::StrCat("--pull: \"", f.pull, "\" is not missing, always or never"));
  }
  if (!from_image && f.entrypoint != ContainerFlags::kUnset) {
    return absl::InvalidArgumentError("--entrypoint needs an image");
  }
  v1::CreateContainerRequest req;
  req.set_name(f.name);
  req.set_runtime(f.runtime);
  for (const std::string& l : f.labels) {
    auto kv = ParseLabel(l);
    if (!kv.ok()) return kv.status();
    (*req.mutable_labels())[kv->first] = kv->second;
  }
  auto env = CollectEnv(f.env_files, f.env);
  if (!env.ok()) return env.status();
  if (from_image) {
    req.set_image(cmd[0]);
    req.mutable_rootfs()->set_read_only(f.read_only);
    std::vector<std::string> args(cmd.begin() + 1, cmd.end());
    BERTH_RETURN_IF_ERROR(FillProcessConfig(f, args, *env, req.mutable_process(), /*names=*/true));
    if (f.entrypoint != ContainerFlags::kUnset) {
      req.mutable_process()->set_override_entrypoint(true);
      if (!f.entrypoint.empty()) req.mutable_process()->add_entrypoint(f.entrypoint);
    }
    return req;
  }
  if (!f.bundle.empty()) {
    BERTH_RETURN_IF_ERROR(FillFromBundle(f, cmd, *env, &req));
    return req;
  }
  if (cmd.empty())
    return absl::InvalidArgumentError("a command is required with --rootfs (CMD [ARG...])");
  auto rootfs = AbsolutePath(f.rootfs, "--rootfs");
  if (!rootfs.ok()) return rootfs.status();
  req.mutable_rootfs()->set_path(*rootfs);
  req.mutable_rootfs()->set_read_only(f.read_only);
  BERTH_RETURN_IF_ERROR(FillProcessConfig(f, cmd, *env, req.mutable_process()));
  return req;
}

}  // namespace berth::ctl
