#include "runtime/container/signals.h"

#include <signal.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace berth::container {
namespace {

struct Named {
  const char* name;
  int number;
};
constexpr Named kSignals[] = {
    {"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"BUS", SIGBUS},       {"CHLD", SIGCHLD},
    {"CLD", SIGCHLD},  {"CONT", SIGCONT}, {"FPE", SIGFPE},       {"HUP", SIGHUP},
    {"ILL", SIGILL},   {"INT", SIGINT},   {"IO", SIGIO},         {"IOT", SIGIOT},
    {"KILL", SIGKILL}, {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},     {"PROF", SIGPROF},
    {"PWR", SIGPWR},   {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},     {"STKFLT", SIGSTKFLT},
    {"STOP", SIGSTOP}, {"SYS", SIGSYS},   {"TERM", SIGTERM},     {"TRAP", SIGTRAP},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH},
    {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
};

}  // namespace

absl::StatusOr<int> ParseSignal(absl::string_view text) {
  int n;
  if (absl::SimpleAtoi(text, &n)) {
    if (n <= 0 || n > SIGRTMAX)
      return absl::InvalidArgumentError(absl::StrCat("invalid signal number ", text));
    return n;
  }
  std::string name = absl::AsciiStrToUpper(text);
  if (absl::StartsWith(name, "SIG")) name = name.substr(3);
  for (const Named& s : kSignals) {
    if (name == s.name) return s.number;
  }
  for (auto [prefix, base, sign] :
       {std::tuple{"RTMIN", SIGRTMIN, 1}, std::tuple{"RTMAX", SIGRTMAX, -1}}) {
    if (!absl::StartsWith(name, prefix)) continue;
    absl::string_view rest = absl::string_view(name).substr(5);
    int offset = 0;
    if (!rest.empty() &&
        (rest[0] != (sign > 0 ? '+' : '-') || !absl::SimpleAtoi(rest.substr(1), &offset)))
      break;
    int sig = base + sign * offset;
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) return sig;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown signal \"", text, "\""));
}

}  // namespace berth::container
