// One function per subcommand; each returns the process exit status.
#pragma once

#include <string>
#include <vector>

namespace berth::cli {

struct GlobalOptions {
  std::string root = "/run/berth";
  std::string log;
  std::string log_format = "text";
  bool debug = false;
  // --systemd-cgroup: the container's cgroup is a transient systemd scope.
  bool systemd_cgroup = false;
  // --rootless true|false|auto: accepted as runc does; berth detects rootless
  // from its euid either way.
  std::string rootless = "auto";
};

using Args = std::vector<std::string>;

int SpecCommand(const GlobalOptions& g, const Args& args);
int CreateCommand(const GlobalOptions& g, const Args& args);
int StartCommand(const GlobalOptions& g, const Args& args);
int RunCommand(const GlobalOptions& g, const Args& args);
int StateCommand(const GlobalOptions& g, const Args& args);
int KillCommand(const GlobalOptions& g, const Args& args);
int DeleteCommand(const GlobalOptions& g, const Args& args);
int ListCommand(const GlobalOptions& g, const Args& args);
int ExecCommand(const GlobalOptions& g, const Args& args);
int PsCommand(const GlobalOptions& g, const Args& args);
int PauseCommand(const GlobalOptions& g, const Args& args);
int ResumeCommand(const GlobalOptions& g, const Args& args);
int UpdateCommand(const GlobalOptions& g, const Args& args);
int EventsCommand(const GlobalOptions& g, const Args& args);
int FeaturesCommand(const GlobalOptions& g, const Args& args);

}  // namespace berth::cli
