#include "supervisor/daemon/image_process.h"

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "supervisor/images/image_user.h"

namespace berth::supervisor {

absl::StatusOr<v1::ProcessConfig> ImageProcess(const ImageConfig& image,
                                               const v1::ProcessConfig& given,
                                               const std::vector<std::string>& layers) {
  v1::ProcessConfig p = given;
  std::vector<std::string> entrypoint =
      given.override_entrypoint()
          ? std::vector<std::string>(given.entrypoint().begin(), given.entrypoint().end())
          : image.entrypoint;
  std::vector<std::string> cmd;
  if (!given.args().empty()) {
    cmd.assign(given.args().begin(), given.args().end());
  } else if (!given.override_entrypoint()) {
    cmd = image.cmd;
  }
  p.clear_args();
  for (const std::string& a : entrypoint) p.add_args(a);
  for (const std::string& a : cmd) p.add_args(a);
  if (p.args().empty()) {
    return absl::InvalidArgumentError(
        "no command: the image has no Entrypoint or Cmd, and none was given");
  }
  // The image's Env first; the client's entries override by key.
  p.clear_env();
  for (const std::string& e : image.env) p.add_env(e);
  for (const std::string& e : given.env()) p.add_env(e);
  if (p.cwd().empty()) p.set_cwd(image.working_dir.empty() ? "/" : image.working_dir);
  std::string user = given.user().empty() ? image.user : given.user();
  absl::StatusOr<std::string> resolved = ResolveImageUser(user, layers);
  if (!resolved.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(given.user().empty() ? "the image's User: " : "process.user: ",
                     resolved.status().message()));
  }
  p.set_user(*resolved);
  return p;
}

}  // namespace berth::supervisor
