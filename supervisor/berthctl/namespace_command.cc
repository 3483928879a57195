// namespace create NAME [--label K=V] | ls [-q] | rm NAME...
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/errors.h"
#include "supervisor/berthctl/commands.h"
#include "supervisor/berthctl/format.h"
#include "supervisor/berthctl/options.h"

namespace berth::ctl {
namespace {

int Create(const GlobalOptions& g, const Args& args) {
  std::vector<std::string> labels;
  FlagSet flags("namespace create", "namespace create [OPTIONS] NAME");
  flags.StringList({"l", "label"}, &labels, "Set metadata on the namespace (KEY=VALUE)");
  auto names = flags.Parse(args);
  if (!names.ok()) return UsageError(flags, names.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (names->size() != 1) return UsageError(flags, "requires exactly 1 name");
  v1::CreateNamespaceRequest req;
  req.set_name((*names)[0]);
  for (const std::string& l : labels) {
    auto kv = ParseLabel(l);
    if (!kv.ok()) return UsageError(flags, kv.status().message());
    (*req.mutable_labels())[kv->first] = kv->second;
  }
  Client client(g);
  auto resp = client.Call(&v1::Namespaces::Stub::Create, req);
  if (!resp.ok()) return Fail(resp.status());
  Print(absl::StrCat(resp->namespace_().name(), "\n"));
  return 0;
}

int List(const GlobalOptions& g, const Args& args) {
  bool quiet = false;
  FlagSet flags("namespace ls", "namespace ls [OPTIONS]");
  flags.Bool({"q", "quiet"}, &quiet, "Only display names");
  auto rest = flags.Parse(args);
  if (!rest.ok()) return UsageError(flags, rest.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (!rest->empty()) return UsageError(flags, "accepts no arguments");
  Client client(g);
  auto resp = client.Call(&v1::Namespaces::Stub::List, v1::ListNamespacesRequest());
  if (!resp.ok()) return Fail(resp.status());
  std::vector<v1::Namespace> namespaces(resp->namespaces().begin(), resp->namespaces().end());
  std::sort(namespaces.begin(), namespaces.end(),
            [](const v1::Namespace& a, const v1::Namespace& b) { return a.name() < b.name(); });
  if (quiet) {
    std::string out;
    for (const v1::Namespace& n : namespaces) absl::StrAppend(&out, n.name(), "\n");
    Print(out);
    return 0;
  }
  absl::Time now = absl::Now();
  std::vector<std::vector<std::string>> rows = {{"NAME", "CREATED", "LABELS"}};
  for (const v1::Namespace& n : namespaces) {
    std::vector<std::string> labels;
    for (const auto& [k, v] : n.labels()) labels.push_back(absl::StrCat(k, "=", v));
    std::sort(labels.begin(), labels.end());
    std::string created = IsSet(n.created_at())
                              ? absl::StrCat(HumanDuration(now - ToTime(n.created_at())), " ago")
                              : "-";
    rows.push_back({n.name(), created, absl::StrJoin(labels, ",")});
  }
  Print(RenderTable(rows));
  return 0;
}

int Remove(const GlobalOptions& g, const Args& args) {
  FlagSet flags("namespace rm", "namespace rm NAME [NAME...]");
  auto names = flags.Parse(args);
  if (!names.ok()) return UsageError(flags, names.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (names->empty()) return UsageError(flags, "requires at least 1 name");
  Client client(g);
  int rc = 0;
  for (const std::string& name : *names) {
    v1::DeleteNamespaceRequest req;
    req.set_name(name);
    if (auto r = client.Call(&v1::Namespaces::Stub::Delete, req); !r.ok()) {
      rc = Fail(Annotate(r.status(), name));
      continue;
    }
    Print(absl::StrCat(name, "\n"));
  }
  return rc;
}

}  // namespace

int NamespaceCommand(const GlobalOptions& g, const Args& args) {
  FlagSet flags("namespace", "namespace create|ls|rm ...");
  auto rest = flags.Parse(args, /*interspersed=*/false);
  if (!rest.ok()) return UsageError(flags, rest.status().message());
  if (flags.help_requested() || rest->empty()) {
    std::string help =
        "Usage:  berthctl namespace COMMAND\n\nCommands:\n"
        "  create      Create a namespace\n"
        "  ls          List namespaces\n"
        "  rm          Remove one or more namespaces (refused while they hold containers)\n";
    if (rest->empty() && !flags.help_requested()) {
      std::fputs(help.c_str(), stderr);
      return kErrorExit;
    }
    Print(help);
    return 0;
  }
  const std::string& sub = (*rest)[0];
  Args sub_args(rest->begin() + 1, rest->end());
  if (sub == "create") return Create(g, sub_args);
  if (sub == "ls" || sub == "list") return List(g, sub_args);
  if (sub == "rm" || sub == "remove") return Remove(g, sub_args);
  return UsageError(flags, absl::StrCat("unknown command \"", sub, "\" (create, ls, rm)"));
}

}  // namespace berth::ctl
