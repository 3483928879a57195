// berthctl: the command line of berthd, with docker's verbs, flags and
// output where docker has them.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "supervisor/berthctl/client.h"
#include "supervisor/berthctl/commands.h"
#include "supervisor/berthctl/flags.h"

namespace berth::ctl {
namespace {

struct Command {
  const char* name;
  int (*run)(const GlobalOptions&, const Args&);
  const char* summary;
};

constexpr Command kCommands[] = {
    {"run", RunCommand, "Create and run a new container"},
    {"create", CreateCommand, "Create a new container"},
    {"start", StartCommand, "Start one or more created or stopped containers"},
    {"exec", ExecCommand, "Run a command in a running container"},
    {"ps", PsCommand, "List containers"},
    {"stop", StopCommand, "Stop one or more running containers"},
    {"kill", KillCommand, "Kill one or more running containers"},
    {"rm", RmCommand, "Remove one or more containers"},
    {"pause", PauseCommand, "Pause all processes within one or more containers"},
    {"unpause", UnpauseCommand, "Unpause all processes within one or more containers"},
    {"wait", WaitCommand, "Block until containers stop, then print their exit codes"},
    {"stats", StatsCommand, "Display a live stream of container resource usage"},
    {"top", TopCommand, "Display the running processes of a container"},
    {"inspect", InspectCommand, "Return the container and task records as JSON"},
    {"events", EventsCommand, "Get events from berthd"},
    {"pull", PullCommand, "Pull an image from a registry"},
    {"images", ImagesCommand, "List images"},
    {"image", ImageCommand, "Manage images (import, inspect, ls, prune, rm, tag)"},
    {"load", LoadCommand, "Load an image archive (OCI layout or docker save)"},
    {"rmi", RmiCommand, "Remove one or more images"},
    {"tag", TagCommand, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"},
    {"system", SystemCommand, "Show disk usage (system df)"},
    {"namespace", NamespaceCommand, "Manage namespaces (create, ls, rm)"},
    {"version", VersionCommand, "Show the berthctl and berthd versions"},
    {"info", InfoCommand, "Display berthd's information"},
};

std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

std::string MainHelp(const FlagSet& flags) {
  std::string out = absl::StrCat(flags.Help(), "\nCommands:\n");
  for (const Command& c : kCommands)
    absl::StrAppend(&out, absl::StrFormat("  %-11s%s\n", c.name, c.summary));
  absl::StrAppend(&out, "\nRun 'berthctl COMMAND --help' for more information on a command.\n");
  return out;
}

int Main(int argc, char** argv) {
  GlobalOptions g;
  g.address = EnvOr("BERTH_ADDRESS", "/run/berth/berthd.sock");
  g.ns = EnvOr("BERTH_NAMESPACE", "default");
  bool version = false;
  FlagSet flags("berthctl", "[OPTIONS] COMMAND [ARG...]");
  flags.String({"address"}, &g.address, "berthd's socket (env BERTH_ADDRESS)");
  flags.String({"n", "namespace"}, &g.ns, "Namespace of the containers (env BERTH_NAMESPACE)");
  flags.Bool({"v", "version"}, &version, "Print berthctl's version and exit");
  auto rest = flags.Parse(Args(argv + 1, argv + argc), /*interspersed=*/false);
  if (!rest.ok()) {
    std::fprintf(stderr, "berthctl: %s\n%s\nSee 'berthctl --help'.\n",
                 std::string(rest.status().message()).c_str(), flags.UsageLine().c_str());
    return kErrorExit;
  }
  if (version) {
    Print(absl::StrCat("berthctl version ", ClientVersion(), "\ncommit: ", ClientRevision(), "\n"));
    return 0;
  }
  if (flags.help_requested() || (!rest->empty() && (*rest)[0] == "help")) {
    Print(MainHelp(flags));
    return 0;
  }
  if (rest->empty()) {
    std::fputs(MainHelp(flags).c_str(), stderr);
    return kErrorExit;
  }
  if (g.ns.empty()) {
    std::fputs("berthctl: the namespace must not be empty\n", stderr);
    return kErrorExit;
  }
  const std::string& name = (*rest)[0];
  for (const Command& c : kCommands) {
    if (name == c.name) return c.run(g, Args(rest->begin() + 1, rest->end()));
  }
  std::fprintf(stderr, "berthctl: '%s' is not a berthctl command.\nSee 'berthctl --help'.\n",
               name.c_str());
  return kErrorExit;
}

}  // namespace
}  // namespace berth::ctl

int main(int argc, char** argv) { return berth::ctl::Main(argc, argv); }
