// events [--since SEQ] [--filter topic=|container=|namespace=] [--format
// json]: berthd's event log replayed after SEQ (without --since: from now
// on), then followed live.
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/json_writer.h"
#include "lib/time_format.h"
#include "supervisor/berthctl/commands.h"
#include "supervisor/berthctl/options.h"

namespace berth::ctl {
namespace {

std::string TimeText(const google::protobuf::Timestamp& ts) {
  return IsSet(ts) ? FormatRfc3339Nano(ToTime(ts)) : "-";
}

bool IsExit(const v1::Event& e) { return e.topic() == "/tasks/exit" || IsSet(e.exited_at()); }

std::string PlainLine(const v1::Event& e) {
  std::string line = absl::StrCat(e.seq(), " ", TimeText(e.timestamp()), " ",
                                  e.namespace_().empty() ? "-" : e.namespace_(), " ", e.topic(),
                                  " ", e.container_id().empty() ? "-" : e.container_id());
  if (!e.exec_id().empty()) absl::StrAppend(&line, " exec_id=", e.exec_id());
  if (IsExit(e)) absl::StrAppend(&line, " exit_status=", e.exit_status());
  return line;
}

std::string JsonLine(const v1::Event& e) {
  JsonWriter w;
  w.BeginObject();
  w.Key("seq").Uint(e.seq());
  w.Key("time").String(TimeText(e.timestamp()));
  w.Key("namespace").String(e.namespace_());
  w.Key("topic").String(e.topic());
  w.Key("container_id").String(e.container_id());
  if (!e.exec_id().empty()) w.Key("exec_id").String(e.exec_id());
  if (e.pid() != 0) w.Key("pid").Uint(e.pid());
  if (IsExit(e)) {
    w.Key("exit_status").Uint(e.exit_status());
    w.Key("exited_at").String(TimeText(e.exited_at()));
  }
  w.EndObject();
  return w.Take();
}

// One value per key: the API's filter has one namespace and one container.
absl::StatusOr<std::string> Single(const Filters& filters, const std::string& key) {
  auto it = filters.find(key);
  if (it == filters.end()) return std::string();
  if (it->second.size() > 1)
    return absl::InvalidArgumentError(absl::StrCat("only one ", key, "= filter is supported"));
  return it->second[0];
}

}  // namespace

int EventsCommand(const GlobalOptions& g, const Args& args) {
  std::string since, format;
  std::vector<std::string> filter_flags;
  FlagSet flags("events", "events [OPTIONS]");
  flags.String({"since"}, &since, "Replay the events after this sequence number (0: all)");
  flags.StringList({"f", "filter"}, &filter_flags,
                   "Filter output: topic=T (or a prefix ending in /), container=, namespace=");
  flags.String({"format"}, &format, "plain (default) or json (one object per line)");
  auto rest = flags.Parse(args);
  if (!rest.ok()) return UsageError(flags, rest.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (!rest->empty()) return UsageError(flags, "accepts no arguments");
  if (!format.empty() && format != "plain" && format != "json")
    return UsageError(flags, "--format: only \"plain\" and \"json\" are supported");
  auto filters = ParseFilters(filter_flags, {"topic", "container", "namespace"});
  if (!filters.ok()) return UsageError(flags, filters.status().message());
  auto ns = Single(*filters, "namespace");
  auto container = Single(*filters, "container");
  if (!ns.ok()) return UsageError(flags, ns.status().message());
  if (!container.ok()) return UsageError(flags, container.status().message());

  v1::SubscribeRequest req;
  if (since.empty()) {
    req.set_from_now(true);
  } else {
    uint64_t seq;
    if (!absl::SimpleAtoi(since, &seq))
      return UsageError(flags, absl::StrCat("--since: not a sequence number: ", since));
    req.set_after_seq(seq);
  }
  req.mutable_filter()->set_namespace_(*ns);
  if (auto it = filters->find("topic"); it != filters->end()) {
    for (const std::string& t : it->second) req.mutable_filter()->add_topics(t);
  }
  Client client(g);
  if (!container->empty()) {
    // A name or prefix of a container that exists; a deleted one's full id
    // is taken as it is.
    auto c = client.Resolve(*container);
    req.mutable_filter()->set_container_id(c.ok() ? c->id() : *container);
  }

  grpc::ClientContext ctx;
  client.Prepare(ctx, /*deadline=*/false);
  auto reader = client.events().Subscribe(&ctx, req);
  v1::SubscribeResponse resp;
  while (reader->Read(&resp)) {
    if (resp.has_lost()) {
      std::string text =
          absl::StrCat("berthctl: events ", resp.lost().from_seq(), " to ", resp.lost().to_seq(),
                       " were lost: berthd's log no longer holds them\n");
      std::fflush(stdout);
      std::fputs(text.c_str(), stderr);
      continue;
    }
    if (!resp.has_event()) continue;
    Print(absl::StrCat(format == "json" ? JsonLine(resp.event()) : PlainLine(resp.event()), "\n"));
  }
  if (absl::Status s = client.Check(reader->Finish()); !s.ok()) return Fail(s);
  return 0;
}

}  // namespace berth::ctl
