#include "supervisor/shims/event_sink.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "berth_pb.pb.h"
#include "lib/errors.h"
#include "lib/shim_api.h"

namespace berth::supervisor {

absl::StatusOr<std::unique_ptr<EventSink>> EventSink::Listen(EventLoop* loop,
                                                             const std::string& path,
                                                             Handler handler) {
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(absl::StrCat("events socket ", path, ": path too long"));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return ErrnoError("socket");
  unlink(path.c_str());
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return ErrnoError(absl::StrCat("bind ", path));
  }
  // Only root's shims publish here.
  if (chmod(path.c_str(), 0600) != 0) return ErrnoError(absl::StrCat("chmod ", path));
  if (listen(fd.get(), SOMAXCONN) != 0) return ErrnoError(absl::StrCat("listen on ", path));
  auto server = std::make_unique<ttrpc::Server>(loop, std::move(fd));
  server->Register(
      shim_api::kEventsService, shim_api::kForwardMethod,
      [handler = std::move(handler)](ttrpc::Call call, absl::string_view payload) {
        containerd::events::ForwardRequest request;
        if (!request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
          call.Fail(absl::InvalidArgumentError("Forward: malformed ForwardRequest"));
          return;
        }
        auto shared = std::make_shared<ttrpc::Call>(std::move(call));
        handler(request.envelope(), [shared] { shared->Reply(berth::pb::Empty()); });
      });
  BERTH_RETURN_IF_ERROR(server->Start());
  return std::unique_ptr<EventSink>(new EventSink(std::move(server)));
}

}  // namespace berth::supervisor
