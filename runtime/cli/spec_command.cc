#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/unique_fd.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/flags.h"
#include "runtime/cli/report.h"
#include "runtime/spec/default_spec.h"

namespace berth::cli {

int SpecCommand(const GlobalOptions&, const Args& args) {
  std::string bundle = ".";
  bool rootless = false;
  FlagSet flags("spec");
  flags.String({"bundle", "b"}, &bundle);
  flags.Bool({"rootless"}, &rootless);
  auto rest = flags.Parse(args);
  if (!rest.ok()) return Fail(rest.status());
  if (!rest->empty()) return Usage("spec: takes no arguments");
  std::string path = absl::StrCat(bundle, "/config.json");
  std::string json = spec::DefaultSpecJson(rootless, ::getuid(), ::getgid()) + "\n";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) {
    if (errno == EEXIST) return Usage(absl::StrCat("spec: ", path, " already exists"));
    return Fail(ErrnoError(absl::StrCat("spec: create ", path)));
  }
  if (absl::Status st = WriteAll(fd.get(), json); !st.ok()) return Fail(st);
  return 0;
}

}  // namespace berth::cli
