#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "berth/v1/events.grpc.pb.h"
#include "supervisor/services/convert.h"
#include "supervisor/services/service_list.h"

namespace berth::supervisor {
namespace {

constexpr size_t kPage = 500;

bool Matches(const EventRecord& e, const v1::EventFilter& f) {
  if (!f.namespace_().empty() && e.ns != f.namespace_()) return false;
  if (!f.container_id().empty() && e.container_id != f.container_id()) return false;
  if (f.topics().empty()) return true;
  for (const std::string& t : f.topics()) {
    if (t == e.topic || (absl::EndsWith(t, "/") && absl::StartsWith(e.topic, t))) return true;
  }
  return false;
}

class EventsService final : public v1::Events::Service {
 public:
  explicit EventsService(Engine* engine) : engine_(engine) {}

  // Events after `*cursor` up to `upto` from the log, with a `lost` message
  // for what the log no longer holds; `emit` returns false to stop.
  bool Replay(uint64_t* cursor, uint64_t upto, const v1::EventFilter& filter,
              const std::function<bool(const v1::SubscribeResponse&)>& emit) {
    while (*cursor < upto) {
      uint64_t after = *cursor;
      auto page = engine_->Sync<absl::StatusOr<std::vector<EventRecord>>>(
          [&](auto reply) { reply(engine_->EventsAfter(after, kPage)); });
      if (!page.ok()) return false;
      uint64_t next = page->empty() ? upto + 1 : page->front().seq;
      if (next > *cursor + 1) {
        v1::SubscribeResponse lost;
        lost.mutable_lost()->set_from_seq(*cursor + 1);
        lost.mutable_lost()->set_to_seq(std::min(next, upto + 1) - 1);
        if (!emit(lost)) return false;
        *cursor = lost.lost().to_seq();
      }
      for (const EventRecord& e : *page) {
        if (e.seq > upto) break;
        *cursor = e.seq;
        if (!Matches(e, filter)) continue;
        v1::SubscribeResponse out;
        ToProto(e, out.mutable_event());
        if (!emit(out)) return false;
      }
      if (page->empty()) break;
    }
    return true;
  }

  grpc::Status Subscribe(grpc::ServerContext* ctx, const v1::SubscribeRequest* req,
                         grpc::ServerWriter<v1::SubscribeResponse>* writer) override {
    // Registered and the log's end read in one step on the engine's thread:
    // everything after `last` comes through the subscription.
    using Start = std::pair<std::shared_ptr<Subscription>, uint64_t>;
    Start start = engine_->Sync<Start>(
        [&](auto reply) { reply(Start(engine_->Subscribe(), engine_->LastEventSeq())); });
    std::shared_ptr<Subscription> sub = start.first;
    uint64_t cursor = req->from_now() ? start.second : std::min(req->after_seq(), start.second);
    const v1::EventFilter& filter = req->filter();
    auto emit = [&](const v1::SubscribeResponse& r) { return writer->Write(r); };
    bool ok = Replay(&cursor, start.second, filter, emit);
    while (ok && !ctx->IsCancelled()) {
      bool overflowed = false, closed = false;
      std::optional<EventRecord> e = sub->Next(absl::Milliseconds(500), &overflowed, &closed);
      if (overflowed) {
        uint64_t last =
            engine_->Sync<uint64_t>([&](auto reply) { reply(engine_->LastEventSeq()); });
        ok = Replay(&cursor, last, filter, emit);
        continue;
      }
      if (closed) break;
      if (!e || e->seq <= cursor) continue;
      if (e->seq > cursor + 1 && !Replay(&cursor, e->seq - 1, filter, emit)) break;
      cursor = e->seq;
      if (!Matches(*e, filter)) continue;
      v1::SubscribeResponse out;
      ToProto(*e, out.mutable_event());
      ok = writer->Write(out);
    }
    sub->Cancel();
    return grpc::Status::OK;
  }

  grpc::Status List(grpc::ServerContext*, const v1::ListEventsRequest* req,
                    v1::ListEventsResponse* resp) override {
    size_t limit = req->limit() == 0 ? 1000 : std::min<size_t>(req->limit(), 10000);
    uint64_t last = engine_->Sync<uint64_t>([&](auto reply) { reply(engine_->LastEventSeq()); });
    uint64_t cursor = std::min(req->after_seq(), last);
    size_t count = 0;
    Replay(&cursor, last, req->filter(), [&](const v1::SubscribeResponse& r) {
      *resp->add_events() = r;
      return ++count < limit;
    });
    resp->set_last_seq(last);
    return grpc::Status::OK;
  }

 private:
  Engine* engine_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeEventsService(Engine* engine) {
  return std::make_unique<EventsService>(engine);
}

}  // namespace berth::supervisor
