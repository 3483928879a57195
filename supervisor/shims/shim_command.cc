#include "supervisor/shims/shim_command.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "lib/subprocess.h"

extern char** environ;

namespace berth::supervisor {
namespace {

std::vector<std::string> Argv(const ShimCommand& c, const char* action) {
  return {c.binary,         "-namespace",      c.ns,     "-id",     c.id,     "-address",
          c.daemon_address, "-publish-binary", "berthd", "-bundle", c.bundle, "-socket-dir",
          c.socket_dir,     "-hold-stdin",     action};
}

SpawnOptions Options(const ShimCommand& c) {
  SpawnOptions o;
  o.cwd = c.bundle;
  o.capture_stdout = true;
  o.capture_stderr = true;
  std::vector<std::string>& env = o.env.emplace();
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "TTRPC_ADDRESS=")) env.emplace_back(*e);
  }
  env.push_back(absl::StrCat("TTRPC_ADDRESS=", c.events_address));
  return o;
}

absl::Status Failed(const ShimCommand& c, const char* action, const SpawnResult& r) {
  std::string why(absl::StripAsciiWhitespace(r.err));
  return absl::InternalError(absl::StrCat("shim ", action, " for container ", c.id, ": ",
                                          why.empty() ? r.Describe() : why));
}

}  // namespace

absl::StatusOr<std::string> StartShim(const ShimCommand& c) {
  SpawnOptions o = Options(c);
  o.stdin_data = c.options;
  absl::StatusOr<SpawnResult> r = RunProcess(Argv(c, "start"), o);
  if (!r.ok()) return r.status();
  if (!r->success()) return Failed(c, "start", *r);
  std::string address(absl::StripAsciiWhitespace(r->out));
  if (address.empty()) {
    return absl::InternalError(
        absl::StrCat("shim start for container ", c.id, " printed no address"));
  }
  return address;
}

absl::StatusOr<containerd::task::v2::DeleteResponse> DeleteShim(const ShimCommand& c) {
  absl::StatusOr<SpawnResult> r = RunProcess(Argv(c, "delete"), Options(c));
  if (!r.ok()) return r.status();
  if (!r->success()) return Failed(c, "delete", *r);
  containerd::task::v2::DeleteResponse resp;
  if (!resp.ParseFromString(r->out)) {
    return absl::InternalError(
        absl::StrCat("shim delete for container ", c.id, ": malformed answer"));
  }
  return resp;
}

}  // namespace berth::supervisor
