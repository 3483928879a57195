#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/log.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/container_cgroup.h"
#include "runtime/cli/flags.h"
#include "runtime/cli/report.h"
#include "runtime/cli/update_flags.h"
#include "runtime/spec/parse_resources.h"

namespace berth::cli {
namespace {

// --resources FILE|-: a LinuxResources JSON document (containerd sends it on
// standard input).
absl::StatusOr<spec::Resources> ReadResourcesDocument(const std::string& source) {
  auto text = ReadFile(source == "-" ? "/dev/stdin" : source);
  if (!text.ok()) return Annotate(text.status(), "update: --resources");
  auto r = spec::ParseResourcesDocument(*text, "--resources");
  if (r.ok() && !r->devices.empty()) {
    // As runc: device rules are set at create only.
    log::Debug("update: --resources: devices are not updated");
  }
  return r;
}

}  // namespace

// Changes the resource limits of a container that is not stopped.
int UpdateCommand(const GlobalOptions& g, const Args& args) {
  UpdateFlags f;
  FlagSet flags("update");
  f.Register(flags);
  auto rest = flags.Parse(args);
  if (!rest.ok()) return Fail(rest.status());
  if (rest->size() != 1) return Usage("update: requires exactly one argument: the container ID");
  // As runc: a resources document, when given, replaces the individual flags.
  auto r = f.resources.empty() ? ResourcesFromFlags(f) : ReadResourcesDocument(f.resources);
  if (!r.ok()) return Fail(r.status());
  auto c = OpenContainerCgroup(g, (*rest)[0], /*lock=*/true);
  if (!c.ok()) return Fail(c.status());
  if (c->status == state::Status::kStopped) return Fail(NotRunningError());
  if (absl::Status st = c->cgroup->Update(*r); !st.ok()) return Fail(Annotate(st, "update"));
  return 0;
}

}  // namespace berth::cli
