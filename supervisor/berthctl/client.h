// berthctl's connection to berthd: the channel, the stubs, the namespace
// metadata and deadline every call carries, and how errors are reported.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "berth/v1/containers.grpc.pb.h"
#include "berth/v1/events.grpc.pb.h"
#include "berth/v1/images.grpc.pb.h"
#include "berth/v1/system.grpc.pb.h"
#include "berth/v1/tasks.grpc.pb.h"
#include "supervisor/berthctl/flags.h"

namespace berth::ctl {

namespace v1 = ::berth::v1;

struct GlobalOptions {
  std::string address;  // berthd's socket
  std::string ns;       // sent as "berth-namespace"
};

using Args = std::vector<std::string>;

// docker's exit status for an error of the daemon or of the command line.
inline constexpr int kErrorExit = 125;

class Client {
 public:
  explicit Client(const GlobalOptions& g);

  v1::Containers::Stub& containers() { return *containers_; }
  v1::Tasks::Stub& tasks() { return *tasks_; }
  v1::Events::Stub& events() { return *events_; }
  v1::Namespaces::Stub& namespaces() { return *namespaces_; }
  v1::System::Stub& system() { return *system_; }
  v1::Images::Stub& images() { return *images_; }
  const GlobalOptions& options() const { return options_; }

  // Adds the namespace and, with `deadline`, the 30 s deadline of a call
  // that returns at once (not Wait, Attach or Subscribe).
  void Prepare(grpc::ClientContext& ctx, bool deadline = true) const;

  // An absl::Status carrying the gRPC one's code and message; a berthd that
  // cannot be reached is named by its socket.
  absl::Status Check(const grpc::Status& status) const;

  // One unary call with Prepare's metadata and deadline:
  //   client.Call(&v1::Tasks::Stub::Kill, request)
  template <typename Stub, typename Req, typename Resp>
  absl::StatusOr<Resp> Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                            const Req& request, bool deadline = true) {
    grpc::ClientContext ctx;
    Prepare(ctx, deadline);
    Resp response;
    grpc::Status status = (StubFor<Stub>().*method)(&ctx, request, &response);
    if (absl::Status s = Check(status); !s.ok()) return s;
    return response;
  }

  // The container an id, unique id prefix or name names (berthd resolves it).
  absl::StatusOr<v1::Container> Resolve(const std::string& ref);
  // Its task; NotFound when it has none.
  absl::StatusOr<v1::Task> GetTask(const std::string& container_id);

 private:
  template <typename Stub>
  Stub& StubFor() {
    if constexpr (std::is_same_v<Stub, v1::Containers::Stub>) return *containers_;
    if constexpr (std::is_same_v<Stub, v1::Tasks::Stub>) return *tasks_;
    if constexpr (std::is_same_v<Stub, v1::Events::Stub>) return *events_;
    if constexpr (std::is_same_v<Stub, v1::Namespaces::Stub>) return *namespaces_;
    if constexpr (std::is_same_v<Stub, v1::System::Stub>) return *system_;
    if constexpr (std::is_same_v<Stub, v1::Images::Stub>) return *images_;
  }

  GlobalOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Containers::Stub> containers_;
  std::unique_ptr<v1::Tasks::Stub> tasks_;
  std::unique_ptr<v1::Events::Stub> events_;
  std::unique_ptr<v1::Namespaces::Stub> namespaces_;
  std::unique_ptr<v1::System::Stub> system_;
  std::unique_ptr<v1::Images::Stub> images_;
};

// "berthctl: <message>" on stderr; returns kErrorExit.
int Fail(const absl::Status& status);
// "berthctl: <command>: <message>", the usage line and where help is;
// returns kErrorExit.
int UsageError(const FlagSet& flags, absl::string_view message);
// Prints the command's --help and returns 0.
int PrintHelp(const FlagSet& flags);
// Writes text to stdout in full.
void Print(absl::string_view text);

// Timestamps: unset (zero) ones are absl::InfinitePast().
absl::Time ToTime(const google::protobuf::Timestamp& ts);
bool IsSet(const google::protobuf::Timestamp& ts);

// berthctl's release and the commit it was built from (lib/version.h).
absl::string_view ClientVersion();
absl::string_view ClientRevision();

}  // namespace berth::ctl
