// berth: an OCI runtime with runc's command line.
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/log.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/flags.h"
#include "runtime/cli/report.h"

namespace {

using berth::cli::GlobalOptions;

constexpr char kUsage[] =
    "usage: berth [global options] COMMAND [options] [ARGS]\n"
    "\n"
    "Global options: --root DIR (default /run/berth), --log FILE,\n"
    "  --log-format text|json, --debug, --version\n"
    "\n"
    "Commands:\n"
    "  spec     write a default config.json\n"
    "  create   create a container from a bundle\n"
    "  start    start the process of a created container\n"
    "  run      create and start a container, and wait for it\n"
    "  state    print the state of a container\n"
    "  kill     send a signal to a container\n"
    "  delete   delete a container\n"
    "  list     list containers\n"
    "  exec     run a new process in a running container\n"
    "  ps       list the processes of a container\n"
    "  pause    freeze every process of a container\n"
    "  resume   thaw a paused container\n"
    "  update   change the resource limits of a container\n"
    "  events   print resource usage and OOM events of a container\n"
    "  features print what berth supports (runtime-spec features JSON)\n"
    "\n"
    "See berth(8) and berth-COMMAND(8).\n";

struct Command {
  const char* name;
  int (*run)(const GlobalOptions&, const berth::cli::Args&);
};

// -h/--help among a subcommand's flags (before `--`; for exec and ps, before
// the container ID: what follows belongs to the process).
bool WantsHelp(const berth::cli::Args& args, bool stop_at_positional) {
  for (const std::string& a : args) {
    if (a == "--") return false;
    if (a == "-h" || a == "--h" || a == "-help" || a == "--help") return true;
    if (stop_at_positional && (a.empty() || a[0] != '-')) return false;
  }
  return false;
}

constexpr Command kCommands[] = {
    {"spec", berth::cli::SpecCommand},
    {"create", berth::cli::CreateCommand},
    {"start", berth::cli::StartCommand},
    {"run", berth::cli::RunCommand},
    {"state", berth::cli::StateCommand},
    {"kill", berth::cli::KillCommand},
    {"delete", berth::cli::DeleteCommand},
    {"list", berth::cli::ListCommand},
    {"ps", berth::cli::PsCommand},
    {"exec", berth::cli::ExecCommand},
    {"pause", berth::cli::PauseCommand},
    {"resume", berth::cli::ResumeCommand},
    {"update", berth::cli::UpdateCommand},
    {"events", berth::cli::EventsCommand},
    {"features", berth::cli::FeaturesCommand},
    {"checkpoint", nullptr},
    {"restore", nullptr},
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  GlobalOptions g;
  bool version = false;
  berth::cli::FlagSet flags("berth");
  flags.String({"root"}, &g.root);
  flags.String({"log"}, &g.log);
  flags.String({"log-format"}, &g.log_format);
  flags.Bool({"debug"}, &g.debug);
  flags.Bool({"systemd-cgroup"}, &g.systemd_cgroup);
  flags.String({"rootless"}, &g.rootless);
  flags.Bool({"version", "v"}, &version);
  // Rootless: like runc, state lives in $XDG_RUNTIME_DIR unless --root says otherwise.
  if (::geteuid() != 0) {
    const char* xdg = ::getenv("XDG_RUNTIME_DIR");
    g.root = xdg != nullptr && *xdg != '\0' ? absl::StrCat(xdg, "/berth")
                                            : absl::StrCat("/tmp/berth-", ::geteuid());
  }
  auto rest = flags.Parse(args, /*interspersed=*/false);
  if (!rest.ok()) return berth::cli::Fail(rest.status());
  if (version) {
    berth::cli::Print("berth version " BERTH_VERSION "\ncommit: " BERTH_VERSION "\nspec: 1.2.0\n");
    return 0;
  }
  if (flags.help_requested() || rest->empty()) {
    berth::cli::Print(kUsage);
    return rest->empty() && !flags.help_requested() ? 1 : 0;
  }
  if (g.rootless != "true" && g.rootless != "false" && g.rootless != "auto") {
    return berth::cli::Usage("--rootless must be true, false or auto");
  }
  if (g.log_format != "text" && g.log_format != "json") {
    return berth::cli::Usage("--log-format must be text or json");
  }
  auto format = g.log_format == "json" ? berth::log::Format::kJson : berth::log::Format::kText;
  if (absl::Status st = berth::log::Init(g.log, format, g.debug); !st.ok()) {
    return berth::cli::Fail(st);
  }
  const std::string& name = (*rest)[0];
  berth::cli::Args sub(rest->begin() + 1, rest->end());
  for (const Command& c : kCommands) {
    if (name != c.name) continue;
    if (c.run == nullptr) {
      return berth::cli::Usage(
          absl::StrCat(name, ": not supported yet (see the feature table in README.md)"));
    }
    if (WantsHelp(sub, name == "exec" || name == "ps")) {
      // As runc: help on stdout, status 0, and nothing done (`spec --help`
      // must not write a config.json).
      berth::cli::Print(absl::StrCat("usage: berth ", name, " [flags] ...\nSee berth-", name,
                                     "(8) for its flags.\n"));
      return 0;
    }
    return c.run(g, sub);
  }
  return berth::cli::Usage(absl::StrCat("unknown command \"", name, "\"; see berth --help"));
}
