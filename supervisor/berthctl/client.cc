#include "supervisor/berthctl/client.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/file_util.h"
#include "lib/version.h"

namespace berth::ctl {
namespace {

constexpr auto kCallDeadline = std::chrono::seconds(30);

}  // namespace

Client::Client(const GlobalOptions& g) : options_(g) {
  channel_ =
      grpc::CreateChannel(absl::StrCat("unix:", g.address), grpc::InsecureChannelCredentials());
  containers_ = v1::Containers::NewStub(channel_);
  tasks_ = v1::Tasks::NewStub(channel_);
  events_ = v1::Events::NewStub(channel_);
  namespaces_ = v1::Namespaces::NewStub(channel_);
  system_ = v1::System::NewStub(channel_);
  images_ = v1::Images::NewStub(channel_);
}

void Client::Prepare(grpc::ClientContext& ctx, bool deadline) const {
  ctx.AddMetadata("berth-namespace", options_.ns);
  if (deadline) ctx.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
}

absl::Status Client::Check(const grpc::Status& status) const {
  if (status.ok()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(status.error_code());
  std::string message = status.error_message();
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      (channel_->GetState(false) != GRPC_CHANNEL_READY ||
       absl::StrContains(message, "failed to connect"))) {
    struct stat st;
    std::string why = ::stat(options_.address.c_str(), &st) != 0 ? "no such socket"
                      : !S_ISSOCK(st.st_mode)                    ? "not a socket"
                                                                 : message;
    return absl::UnavailableError(absl::StrCat("cannot connect to berthd at ", options_.address,
                                               ": ", why,
                                               " (is berthd running? see --address and "
                                               "BERTH_ADDRESS)"));
  }
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && message.empty())
    message = "berthd did not answer in time";
  return absl::Status(code, message);
}

absl::StatusOr<v1::Container> Client::Resolve(const std::string& ref) {
  v1::GetContainerRequest req;
  req.set_id(ref);
  auto resp = Call(&v1::Containers::Stub::Get, req);
  if (!resp.ok()) return resp.status();
  return resp->container();
}

absl::StatusOr<v1::Task> Client::GetTask(const std::string& container_id) {
  v1::GetTaskRequest req;
  req.set_container_id(container_id);
  auto resp = Call(&v1::Tasks::Stub::Get, req);
  if (!resp.ok()) return resp.status();
  return resp->task();
}

int Fail(const absl::Status& status) {
  std::string message = status.message().empty() ? absl::StatusCodeToString(status.code())
                                                 : std::string(status.message());
  std::fflush(stdout);
  std::fprintf(stderr, "berthctl: %s\n", message.c_str());
  return kErrorExit;
}

int UsageError(const FlagSet& flags, absl::string_view message) {
  std::string text =
      absl::StrCat("berthctl: ", flags.command(), ": ", message, "\n", flags.UsageLine(),
                   "\nSee 'berthctl ", flags.command(), " --help'.\n");
  std::fputs(text.c_str(), stderr);
  return kErrorExit;
}

int PrintHelp(const FlagSet& flags) {
  Print(flags.Help());
  return 0;
}

void Print(absl::string_view text) {
  std::fflush(stdout);
  (void)WriteAll(STDOUT_FILENO, text);
}

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  if (!IsSet(ts)) return absl::InfinitePast();
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

bool IsSet(const google::protobuf::Timestamp& ts) { return ts.seconds() != 0 || ts.nanos() != 0; }

absl::string_view ClientVersion() { return kVersion; }
absl::string_view ClientRevision() { return kRevision; }

}  // namespace berth::ctl
