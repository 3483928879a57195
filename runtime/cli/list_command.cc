#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/json_writer.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/flags.h"
#include "runtime/cli/report.h"
#include "runtime/state/state_dir.h"

namespace berth::cli {
namespace {

struct Row {
  state::ContainerState s;
  state::Status status;
};

std::vector<Row> Collect(const std::string& root) {
  std::vector<Row> rows;
  for (const std::string& id : state::ListIds(root)) {
    auto dir = state::StateDir::OpenUnlocked(root, id);
    if (!dir.ok()) continue;
    auto s = dir->ReadState();
    if (!s.ok()) continue;  // still being created
    state::Status st = state::ComputeStatus(*dir, *s);
    s->owner = dir->Owner();
    rows.push_back({std::move(*s), st});
  }
  return rows;
}

std::string Table(const std::vector<Row>& rows) {
  std::vector<std::vector<std::string>> cells = {
      {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
  for (const Row& r : rows) {
    cells.push_back({r.s.id, absl::StrCat(r.status == state::Status::kStopped ? 0 : r.s.pid),
                     state::StatusName(r.status), r.s.bundle, r.s.created, r.s.owner});
  }
  std::vector<size_t> width(6, 0);
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i + 1 == row.size()) {
        absl::StrAppend(&out, row[i]);
      } else {
        absl::StrAppend(&out, absl::StrFormat("%-*s", static_cast<int>(width[i] + 4), row[i]));
      }
    }
    out.push_back('\n');
  }
  return out;
}

}  // namespace

int ListCommand(const GlobalOptions& g, const Args& args) {
  std::string format = "table";
  bool quiet = false;
  FlagSet flags("list");
  flags.String({"format", "f"}, &format);
  flags.Bool({"quiet", "q"}, &quiet);
  auto rest = flags.Parse(args);
  if (!rest.ok()) return Fail(rest.status());
  if (format != "table" && format != "json") return Usage("list: --format must be table or json");
  std::vector<Row> rows = Collect(g.root);
  if (quiet) {
    std::string out;
    for (const Row& r : rows) absl::StrAppend(&out, r.s.id, "\n");
    Print(out);
  } else if (format == "json") {
    std::string out = "[";
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i) out += ",";
      out += state::RenderOciState(rows[i].s, rows[i].status, "");
    }
    out += "]\n";
    Print(out);
  } else {
    Print(Table(rows));
  }
  return 0;
}

}  // namespace berth::cli
