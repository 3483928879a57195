#include "shim/publisher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "berth_pb.pb.h"
#include "containerd_events.pb.h"
#include "lib/log.h"
#include "lib/pb_timestamp.h"
#include "lib/shim_api.h"

namespace berth::shim {
namespace {

// Retries start quickly (a receiver restarting is back in well under a
// second) and settle at a cost of one connect attempt every few seconds.
constexpr absl::Duration kFirstRetry = absl::Milliseconds(100);
constexpr absl::Duration kMaxRetry = absl::Seconds(3);
constexpr absl::Duration kForwardTimeout = absl::Seconds(5);
constexpr char kExitTopic[] = "/tasks/exit";

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
  MakeRoom();
  queue_.push_back(std::move(request));
  SendNext();
}

void Publisher::MakeRoom() {
  if (queue_.size() < kMaxQueued) return;
  // Never the one in flight (the front) and never an exit.
  auto first = queue_.begin() + (in_flight_ ? 1 : 0);
  auto victim = std::find_if(first, queue_.end(),
                             [](const auto& r) { return r.envelope().topic() != kExitTopic; });
  if (victim == queue_.end()) victim = first;
  log::Warn(absl::StrCat("event queue full (", kMaxQueued, "): dropping the oldest ",
                         victim->envelope().topic(), " event"));
  queue_.erase(victim);
}

void Publisher::SendNext() {
  if (in_flight_ || retry_scheduled_ || queue_.empty()) return;
  if (!client_ || client_->closed()) {
    auto client = ttrpc::Client::Connect(loop_, address_);
    if (!client.ok()) {
      if (backoff_ == absl::ZeroDuration()) {
        log::Warn(absl::StrCat("publish events to ", address_, ": ", client.status().message(),
                               " (kept, retrying)"));
      }
      RetryLater();
      return;
    }
    client_ = std::move(*client);
  }
  in_flight_ = true;
  client_->Call(
      shim_api::kEventsService, shim_api::kForwardMethod, queue_.front(),
      [this](absl::StatusOr<std::string> answer) {
        in_flight_ = false;
        if (answer.ok()) {
          backoff_ = absl::ZeroDuration();
          queue_.pop_front();
          SendNext();
        } else {
          log::Warn(
              absl::StrCat("forward event: ", answer.status().message(), " (kept, retrying)"));
          client_.reset();
          RetryLater();
        }
      },
      kForwardTimeout);
}

void Publisher::RetryLater() {
  if (queue_.empty() || retry_scheduled_) return;
  backoff_ = backoff_ == absl::ZeroDuration() ? kFirstRetry : std::min(backoff_ * 2, kMaxRetry);
  retry_scheduled_ = true;
  loop_->After(backoff_, [this] {
    retry_scheduled_ = false;
    SendNext();
  });
}

}  // namespace berth::shim
