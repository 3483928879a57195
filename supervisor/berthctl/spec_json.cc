#include "supervisor/berthctl/spec_json.h"

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "lib/json_tree.h"

namespace berth::ctl {
namespace {

struct TreeFree {
  void operator()(yajl_val v) const { yajl_tree_free(v); }
};
using Tree = std::unique_ptr<yajl_val_s, TreeFree>;

struct GenFree {
  void operator()(yajl_gen g) const { yajl_gen_free(g); }
};
using Gen = std::unique_ptr<yajl_gen_t, GenFree>;

absl::StatusOr<Tree> ParseTree(absl::string_view json, absl::string_view name) {
  std::string text(json);
  char error[512] = {};
  yajl_val root = yajl_tree_parse(text.c_str(), error, sizeof error);
  if (root == nullptr) {
    std::string message = error;
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
      message.pop_back();
    return absl::InvalidArgumentError(absl::StrCat(name, ": invalid JSON: ", message));
  }
  return Tree(root);
}

Gen NewGen(absl::string_view indent, std::string* indent_storage) {
  Gen g(yajl_gen_alloc(nullptr));
  if (!indent.empty()) {
    *indent_storage = std::string(indent);
    yajl_gen_config(g.get(), yajl_gen_beautify, 1);
    yajl_gen_config(g.get(), yajl_gen_indent_string, indent_storage->c_str());
  }
  return g;
}

std::string TakeBuffer(yajl_gen g) {
  const unsigned char* buf = nullptr;
  size_t len = 0;
  yajl_gen_get_buf(g, &buf, &len);
  std::string out(reinterpret_cast<const char*>(buf), len);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void String(yajl_gen g, absl::string_view s) {
  yajl_gen_string(g, reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

void Emit(yajl_gen g, yajl_val v) {
  switch (v->type) {
    case yajl_t_string:
      String(g, v->u.string);
      break;
    case yajl_t_number:
      yajl_gen_number(g, v->u.number.r, std::strlen(v->u.number.r));
      break;
    case yajl_t_object:
      yajl_gen_map_open(g);
      for (size_t i = 0; i < v->u.object.len; ++i) {
        String(g, v->u.object.keys[i]);
        Emit(g, v->u.object.values[i]);
      }
      yajl_gen_map_close(g);
      break;
    case yajl_t_array:
      yajl_gen_array_open(g);
      for (size_t i = 0; i < v->u.array.len; ++i) Emit(g, v->u.array.values[i]);
      yajl_gen_array_close(g);
      break;
    case yajl_t_true:
      yajl_gen_bool(g, 1);
      break;
    case yajl_t_false:
      yajl_gen_bool(g, 0);
      break;
    default:
      yajl_gen_null(g);
      break;
  }
}

void StringArray(yajl_gen g, const std::vector<std::string>& values) {
  yajl_gen_array_open(g);
  for (const std::string& s : values) String(g, s);
  yajl_gen_array_close(g);
}

absl::string_view EnvKey(absl::string_view entry) { return entry.substr(0, entry.find('=')); }

std::vector<std::string> MergeEnv(yajl_val existing, const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  if (YAJL_IS_ARRAY(existing)) {
    for (size_t i = 0; i < existing->u.array.len; ++i) {
      if (const char* s = YAJL_GET_STRING(existing->u.array.values[i])) env.emplace_back(s);
    }
  }
  for (const std::string& entry : overrides) {
    bool replaced = false;
    for (std::string& e : env) {
      if (EnvKey(e) == EnvKey(entry)) {
        e = entry;
        replaced = true;
      }
    }
    if (!replaced) env.push_back(entry);
  }
  return env;
}

void EmitUser(yajl_gen g, yajl_val user, const SpecOverrides& o) {
  yajl_gen_map_open(g);
  bool uid_seen = false, gid_seen = false;
  if (YAJL_IS_OBJECT(user)) {
    for (size_t i = 0; i < user->u.object.len; ++i) {
      absl::string_view key = user->u.object.keys[i];
      String(g, key);
      if (key == "uid" && o.uid) {
        yajl_gen_integer(g, *o.uid);
        uid_seen = true;
      } else if (key == "gid" && o.gid) {
        yajl_gen_integer(g, *o.gid);
        gid_seen = true;
      } else {
        Emit(g, user->u.object.values[i]);
      }
    }
  }
  if (o.uid && !uid_seen) {
    String(g, "uid");
    yajl_gen_integer(g, *o.uid);
  }
  if (o.gid && !gid_seen) {
    String(g, "gid");
    yajl_gen_integer(g, *o.gid);
  }
  yajl_gen_map_close(g);
}

void EmitProcess(yajl_gen g, yajl_val process, const SpecOverrides& o) {
  bool args = false, env = false, cwd = false, terminal = false, user = false;
  yajl_gen_map_open(g);
  for (size_t i = 0; i < process->u.object.len; ++i) {
    absl::string_view key = process->u.object.keys[i];
    yajl_val value = process->u.object.values[i];
    String(g, key);
    if (key == "args" && o.args) {
      StringArray(g, *o.args);
      args = true;
    } else if (key == "env" && !o.env.empty()) {
      StringArray(g, MergeEnv(value, o.env));
      env = true;
    } else if (key == "cwd" && o.cwd) {
      String(g, *o.cwd);
      cwd = true;
    } else if (key == "terminal" && o.terminal) {
      yajl_gen_bool(g, *o.terminal);
      terminal = true;
    } else if (key == "user" && (o.uid || o.gid)) {
      EmitUser(g, value, o);
      user = true;
    } else {
      Emit(g, value);
    }
  }
  if (o.args && !args) {
    String(g, "args");
    StringArray(g, *o.args);
  }
  if (!o.env.empty() && !env) {
    String(g, "env");
    StringArray(g, o.env);
  }
  if (o.cwd && !cwd) {
    String(g, "cwd");
    String(g, *o.cwd);
  }
  if (o.terminal && !terminal) {
    String(g, "terminal");
    yajl_gen_bool(g, *o.terminal);
  }
  if ((o.uid || o.gid) && !user) {
    String(g, "user");
    EmitUser(g, nullptr, o);
  }
  yajl_gen_map_close(g);
}

}  // namespace

absl::StatusOr<std::string> RewriteSpec(absl::string_view json, const SpecOverrides& overrides,
                                        absl::string_view name) {
  auto tree = ParseTree(json, name);
  if (!tree.ok()) return tree.status();
  yajl_val root = tree->get();
  if (!YAJL_IS_OBJECT(root))
    return absl::InvalidArgumentError(absl::StrCat(name, ": not an object"));
  std::string indent;
  Gen g = NewGen("\t", &indent);
  bool process_seen = false;
  yajl_gen_map_open(g.get());
  for (size_t i = 0; i < root->u.object.len; ++i) {
    absl::string_view key = root->u.object.keys[i];
    yajl_val value = root->u.object.values[i];
    String(g.get(), key);
    if (key == "process") {
      if (!YAJL_IS_OBJECT(value))
        return absl::InvalidArgumentError(absl::StrCat(name, ": process: not an object"));
      EmitProcess(g.get(), value, overrides);
      process_seen = true;
    } else {
      Emit(g.get(), value);
    }
  }
  yajl_gen_map_close(g.get());
  if (!process_seen) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": no \"process\": the bundle does not say what to run"));
  }
  return TakeBuffer(g.get());
}

absl::StatusOr<std::string> ReformatJson(absl::string_view json, absl::string_view indent) {
  auto tree = ParseTree(json, "JSON");
  if (!tree.ok()) return tree.status();
  std::string indent_storage;
  Gen g = NewGen(indent, &indent_storage);
  Emit(g.get(), tree->get());
  return TakeBuffer(g.get());
}

absl::StatusOr<SpecSummary> SummarizeSpec(absl::string_view json, absl::string_view name) {
  auto doc = json::Document::Parse(json, name);
  if (!doc.ok()) return doc.status();
  json::Value root = (*doc)->root();
  SpecSummary summary;
  json::Value process = root.Get("process");
  if (json::Value args = process.Get("args"); !args.missing()) {
    auto list = args.AsStringArray();
    if (!list.ok()) return list.status();
    summary.args = std::move(*list);
  }
  if (json::Value terminal = process.Get("terminal"); !terminal.missing()) {
    auto b = terminal.AsBool();
    if (!b.ok()) return b.status();
    summary.terminal = *b;
  }
  json::Value spec_root = root.Get("root");
  if (json::Value path = spec_root.Get("path"); !path.missing()) {
    auto s = path.AsString();
    if (!s.ok()) return s.status();
    summary.root_path = std::move(*s);
  }
  if (json::Value ro = spec_root.Get("readonly"); !ro.missing()) {
    auto b = ro.AsBool();
    if (!b.ok()) return b.status();
    summary.root_readonly = *b;
  }
  if (json::Value sig = root.Get("annotations").Get("org.opencontainers.image.stopSignal");
      !sig.missing()) {
    auto s = sig.AsString();
    if (!s.ok()) return s.status();
    summary.stop_signal = std::move(*s);
  }
  return summary;
}

}  // namespace berth::ctl
