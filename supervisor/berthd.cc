// berthd: the supervisor daemon. Flags, signals and wiring only; the work is
// in daemon/ (the engine and the gRPC server) and services/.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/version.h"
#include "supervisor/daemon/api_server.h"
#include "supervisor/daemon/config.h"
#include "supervisor/daemon/engine.h"
#include "supervisor/services/services.h"

namespace {

using berth::supervisor::Config;

constexpr std::chrono::seconds kShutdownLimit(10);

constexpr char kUsage[] =
    "usage: berthd [--address PATH] [--root DIR] [--state DIR] [--shim PATH]\n"
    "              [--runtime PATH] [--runc PATH] [--registry-auth FILE]\n"
    "              [--insecure-registry HOST[:PORT]]... [--debug] [--version]\n";

// The file called `name` beside this executable, else `name` (found on PATH).
std::string Beside(const std::string& name) {
  absl::StatusOr<std::string> self = berth::proc::SelfExe();
  if (!self.ok()) return name;
  std::string dir = self->substr(0, self->rfind('/'));
  for (const std::string& candidate :
       {absl::StrCat(dir, "/", name),
        // The build tree: supervisor/berthd beside shim/, runtime/.
        absl::StrCat(dir, "/../shim/", name), absl::StrCat(dir, "/../runtime/", name)}) {
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;
}

// --flag VALUE or --flag=VALUE (one or two dashes); false on a usage error.
bool ParseFlags(int argc, char** argv, Config* c, bool* version) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (!absl::StartsWith(arg, "-")) return false;
    arg = arg.substr(arg.find_first_not_of('-'));
    std::string value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    if (arg == "debug") {
      c->debug = true;
      continue;
    }
    if (arg == "version" || arg == "v") {
      *version = true;
      continue;
    }
    if (arg == "help" || arg == "h") return false;
    if (arg == "insecure-registry") {
      if (!has_value) {
        if (i + 1 >= argc) {
          std::fprintf(stderr, "berthd: flag --%s needs a value\n", arg.c_str());
          return false;
        }
        value = argv[++i];
      }
      c->insecure_registries.push_back(value);
      continue;
    }
    std::string* target = arg == "address"         ? &c->address
                          : arg == "root"          ? &c->root
                          : arg == "state"         ? &c->state
                          : arg == "shim"          ? &c->shim_binary
                          : arg == "runtime"       ? &c->runtime_binary
                          : arg == "runc"          ? &c->runc_binary
                          : arg == "registry-auth" ? &c->registry_auth
                                                   : nullptr;
    if (target == nullptr) {
      std::fprintf(stderr, "berthd: unknown flag --%s\n", arg.c_str());
      return false;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "berthd: flag --%s needs a value\n", arg.c_str());
        return false;
      }
      value = argv[++i];
    }
    if (value.empty() || (target != &c->runc_binary && value[0] != '/')) {
      std::fprintf(stderr, "berthd: --%s: an absolute path is needed\n", arg.c_str());
      return false;
    }
    *target = value;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  bool version = false;
  if (!ParseFlags(argc, argv, &config, &version)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (version) {
    std::printf("berthd %s (%s)\n", berth::kVersion, berth::kRevision);
    return 0;
  }
  berth::log::SetProgramName("berthd");
  berth::log::SetStderrLevel(berth::log::Level::kInfo);
  berth::log::Init("", berth::log::Format::kText, config.debug).IgnoreError();
  if (config.shim_binary.empty()) config.shim_binary = Beside("containerd-shim-berth-v2");
  if (config.shim_binary == "containerd-shim-berth-v2") config.shim_binary = Beside("berth-shim");
  if (config.runtime_binary.empty()) config.runtime_binary = Beside("berth");

  // Signals are read from a signalfd; nothing berthd starts inherits the
  // mask (lib/subprocess resets it). A client that hangs up must not kill us.
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);

  auto engine = berth::supervisor::Engine::Open(config);
  if (!engine.ok()) {
    berth::log::Error(std::string(engine.status().message()));
    return 1;
  }
  if (absl::Status st = (*engine)->Start(); !st.ok()) {
    berth::log::Error(std::string(st.message()));
    return 1;
  }
  auto server = berth::supervisor::ApiServer::Start(config.address,
                                                    berth::supervisor::MakeServices(engine->get()));
  if (!server.ok()) {
    berth::log::Error(std::string(server.status().message()));
    (*engine)->Stop();
    return 1;
  }
  berth::log::Info(absl::StrCat("serving on ", config.address, " (root ", config.root, ", state ",
                                config.state, ", shim ", config.shim_binary, ", runtime ",
                                config.runtime_binary, ")"));
  int sig = 0;
  sigwait(&mask, &sig);
  berth::log::Info(
      absl::StrCat("signal ", strsignal(sig), ": shutting down (containers keep running)"));
  // A call the engine never answers (a shim that never replies to a call
  // without deadline) must not keep berthd from stopping: every state
  // change is already committed, so ending here loses nothing.
  std::thread([] {
    std::this_thread::sleep_for(kShutdownLimit);
    berth::log::Warn("shutdown took too long: exiting with calls still open");
    _exit(0);
  }).detach();
  (*server)->Shutdown(std::chrono::seconds(2));
  (*engine)->Stop();
  std::fflush(nullptr);
  // Worker threads may still be finishing a shim command; their results are
  // not needed (recovery redoes what they did not finish).
  _exit(0);
}
