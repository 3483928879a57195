#include "supervisor/daemon/api_server.h"

#include <grp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_posix.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/log.h"

namespace berth::supervisor {
namespace {

// gRPC's default receive limit is 4 MiB; a runtime spec is far smaller, an
// Attach message carries at most a read's worth of input.
constexpr int kMaxMessageBytes = 4 << 20;

// The supplementary groups of a peer, from /proc/PID/status.
bool InGroup(pid_t pid, gid_t gid) {
  absl::StatusOr<std::string> status = ReadFile(absl::StrCat("/proc/", pid, "/status"));
  if (!status.ok()) return false;
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    if (!absl::ConsumePrefix(&line, "Groups:")) continue;
    for (absl::string_view g : absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
      gid_t v;
      if (absl::SimpleAtoi(g, &v) && v == gid) return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(
    const std::string& path, std::vector<std::unique_ptr<grpc::Service>> services) {
  std::unique_ptr<ApiServer> s(new ApiServer());
  s->path_ = path;
  if (struct group* g = getgrnam("berth")) s->group_ = static_cast<int>(g->gr_gid);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(absl::StrCat("--address ", path, ": path too long"));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  s->listener_ = UniqueFd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s->listener_) return ErrnoError("socket");
  unlink(path.c_str());
  if (bind(s->listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return ErrnoError(absl::StrCat("bind ", path));
  }
  if (s->group_ >= 0 && chown(path.c_str(), 0, static_cast<gid_t>(s->group_)) != 0) {
    return ErrnoError(absl::StrCat("chown ", path));
  }
  if (chmod(path.c_str(), 0660) != 0) return ErrnoError(absl::StrCat("chmod ", path));
  if (listen(s->listener_.get(), SOMAXCONN) != 0)
    return ErrnoError(absl::StrCat("listen on ", path));
  s->wake_ = UniqueFd(eventfd(0, EFD_CLOEXEC));

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  for (auto& service : services) builder.RegisterService(service.get());
  s->services_ = std::move(services);
  s->server_ = builder.BuildAndStart();
  if (!s->server_) return absl::InternalError("gRPC server did not start");
  s->acceptor_ = std::thread([raw = s.get()] { raw->AcceptLoop(); });
  return s;
}

bool ApiServer::Allowed(int fd) const {
  struct ucred cred = {};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  if (cred.uid == 0) return true;
  if (group_ < 0) return false;
  gid_t gid = static_cast<gid_t>(group_);
  return cred.gid == gid || InGroup(cred.pid, gid);
}

void ApiServer::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log::Error(absl::StrCat("accept on ", path_, ": ", strerror(errno)));
      return;
    }
    if (fds[1].revents != 0) return;
    int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) usleep(100000);  // let fds free up
      continue;
    }
    if (!Allowed(fd)) {
      struct ucred cred = {};
      socklen_t len = sizeof cred;
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
      log::Warn(absl::StrCat("refused a connection from uid ", cred.uid, " pid ", cred.pid,
                             ": not root and not in group berth"));
      close(fd);
      continue;
    }
    grpc::AddInsecureChannelFromFd(server_.get(), fd);  // takes the fd
  }
}

void ApiServer::Shutdown(std::chrono::milliseconds grace) {
  if (acceptor_.joinable()) {
    uint64_t one = 1;
    (void)!write(wake_.get(), &one, sizeof one);
    acceptor_.join();
  }
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + grace);
  unlink(path_.c_str());
}

ApiServer::~ApiServer() { Shutdown(std::chrono::milliseconds(0)); }

}  // namespace berth::supervisor
