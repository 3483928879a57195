// berthd's gRPC server on its unix socket. berthd accepts the connections
// itself so it can check each peer (SO_PEERCRED: root, or a member of the
// group "berth" when it exists) before handing the connection to gRPC; the
// socket is mode 0660, group "berth" when it exists.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/unique_fd.h"

namespace berth::supervisor {

class ApiServer {
 public:
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(
      const std::string& path, std::vector<std::unique_ptr<grpc::Service>> services);
  ~ApiServer();
  // Stops accepting, ends open calls (streams get CANCELLED) within `grace`.
  void Shutdown(std::chrono::milliseconds grace);

 private:
  ApiServer() = default;
  void AcceptLoop();
  bool Allowed(int fd) const;

  std::string path_;
  UniqueFd listener_;
  UniqueFd wake_;  // eventfd: ends AcceptLoop
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
  std::thread acceptor_;
  int group_ = -1;  // gid of "berth", or -1
};

}  // namespace berth::supervisor
