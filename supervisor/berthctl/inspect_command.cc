// inspect CONTAINER...: a JSON array, one object per container holding its
// record, its runtime spec (as JSON, not as a string) and its task (null
// without one).
#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/errors.h"
#include "supervisor/berthctl/commands.h"
#include "supervisor/berthctl/spec_json.h"

namespace berth::ctl {
namespace {

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  auto status = google::protobuf::util::MessageToJsonString(m, &out, options);
  if (!status.ok()) return absl::InternalError(std::string(status.message()));
  return out;
}

absl::StatusOr<std::string> Describe(Client& client, const v1::Container& container) {
  v1::Container record = container;
  std::string spec = record.spec_json().empty() ? "null" : record.spec_json();
  record.clear_spec_json();
  auto record_json = ToJson(record);
  if (!record_json.ok()) return record_json.status();
  std::string task_json = "null";
  auto task = client.GetTask(container.id());
  if (task.ok()) {
    auto j = ToJson(*task);
    if (!j.ok()) return j.status();
    task_json = *j;
  } else if (!absl::IsNotFound(task.status())) {
    return task.status();
  }
  return absl::StrCat("{\"container\":", *record_json, ",\"spec\":", spec, ",\"task\":", task_json,
                      "}");
}

}  // namespace

int InspectCommand(const GlobalOptions& g, const Args& args) {
  FlagSet flags("inspect", "inspect CONTAINER [CONTAINER...]");
  auto refs = flags.Parse(args);
  if (!refs.ok()) return UsageError(flags, refs.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (refs->empty()) return UsageError(flags, "requires at least 1 container");
  Client client(g);
  std::vector<std::string> objects;
  int rc = ForEachContainer(client, *refs, [&](const v1::Container& c, const std::string&) {
    auto json = Describe(client, c);
    if (!json.ok()) return json.status();
    objects.push_back(std::move(*json));
    return absl::OkStatus();
  });
  auto doc = ReformatJson(absl::StrCat("[", absl::StrJoin(objects, ","), "]"), "    ");
  if (!doc.ok()) return Fail(doc.status());
  Print(absl::StrCat(*doc, "\n"));
  return rc;
}

}  // namespace berth::ctl
