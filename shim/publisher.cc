#include "shim/publisher.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "berth_pb.pb.h"
#include "containerd_events.pb.h"
#include "lib/log.h"
#include "shim/timestamp.h"

namespace berth::shim {
namespace {

constexpr int kMaxAttempts = 5;
constexpr absl::Duration kRetryDelay = absl::Seconds(1);

}  // namespace

void Publisher::Publish(absl::string_view topic, const google::protobuf::MessageLite& event) {
  if (address_.empty()) return;
  containerd::events::ForwardRequest request;
  containerd::events::Envelope* envelope = request.mutable_envelope();
  ToTimestamp(absl::Now(), envelope->mutable_timestamp());
  envelope->set_namespace_(namespace_);
  envelope->set_topic(std::string(topic));
  envelope->mutable_event()->set_type_url(event.GetTypeName());
  envelope->mutable_event()->set_value(event.SerializeAsString());
  queue_.push_back({std::move(request), 0});
  SendNext();
}

void Publisher::SendNext() {
  if (in_flight_ || retry_scheduled_ || queue_.empty()) return;
  if (!client_ || client_->closed()) {
    auto client = ttrpc::Client::Connect(loop_, address_);
    if (!client.ok()) {
      log::Warn(absl::StrCat("publish events to ", address_, ": ", client.status().message()));
      RetryLater();
      return;
    }
    client_ = std::move(*client);
  }
  in_flight_ = true;
  client_->Call("containerd.services.events.ttrpc.v1.Events", "Forward",
                queue_.front().request, [this](absl::StatusOr<std::string> answer) {
                  in_flight_ = false;
                  if (answer.ok()) {
                    queue_.pop_front();
                    SendNext();
                  } else {
                    log::Warn(absl::StrCat("forward event: ", answer.status().message()));
                    RetryLater();
                  }
                });
}

void Publisher::RetryLater() {
  if (!queue_.empty() && ++queue_.front().attempts >= kMaxAttempts) {
    log::Error("dropping an event containerd did not take after several attempts");
    queue_.pop_front();
  }
  if (queue_.empty() || retry_scheduled_) return;
  retry_scheduled_ = true;
  loop_->After(kRetryDelay, [this] {
    retry_scheduled_ = false;
    SendNext();
  });
}

}  // namespace berth::shim
