#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "supervisor/metadata/schema.h"
#include "supervisor/metadata/store.h"

namespace berth::supervisor {
namespace {

// A fresh directory per test, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/berth-metadata-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string db() const { return path_ + "/meta.db"; }

 private:
  std::string path_;
};

#define REQUIRE_OK(expr)                 \
  do {                                   \
    const absl::Status status_ = (expr); \
    INFO(status_.ToString());            \
    REQUIRE(status_.ok());               \
  } while (0)

template <typename T>
T Must(absl::StatusOr<T> v) {
  INFO(v.status().ToString());
  REQUIRE(v.ok());
  return *std::move(v);
}

std::unique_ptr<Store> MustOpen(const std::string& path, uint64_t max_events = 100000) {
  return Must(Store::Open(path, max_events));
}

absl::Time At(int64_t ns) { return absl::FromUnixNanos(ns); }

// A second, raw connection for what the Store does not expose.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // The first column of the first row, as text ("" if none).
  std::string Query(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    INFO(sql);
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    std::string out;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    INFO(sqlite3_errmsg(db_));
    CHECK((rc == SQLITE_ROW || rc == SQLITE_DONE));
    sqlite3_finalize(stmt);
    return out;
  }
  void Exec(const std::string& sql) {
    INFO(sql << ": " << sqlite3_errmsg(db_));
    REQUIRE(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  }

 private:
  sqlite3* db_ = nullptr;
};

ContainerRecord FullContainer(const std::string& ns, const std::string& id,
                              const std::string& name) {
  ContainerRecord c;
  c.ns = ns;
  c.id = id;
  c.name = name;
  c.labels = {{"io.berth/app", "web"}, {"quote\"key", "line\nbreak \xc3\xa9 \\"}, {"empty", ""}};
  c.spec_json = R"({"ociVersion":"1.2.0","process":{"args":["sh"]}})";
  c.rootfs_path = "/var/lib/berth/rootfs/" + id;
  c.rootfs_read_only = true;
  c.runtime = "runc";
  c.sandbox_id = "pod-7";
  c.created_at = At(1700000000123456789);
  c.updated_at = At(1700000001987654321);
  c.image = "docker.io/library/busybox:latest";
  c.image_digest = "sha256:" + std::string(64, 'a');
  c.settings = std::string("\x0a\x00\xff\x01 settings", 13);  // bytes, NULs included
  c.restart_count = 7;
  c.stopped_by_user = true;
  return c;
}

void CheckSame(const ContainerRecord& a, const ContainerRecord& b) {
  CHECK(a.ns == b.ns);
  CHECK(a.id == b.id);
  CHECK(a.name == b.name);
  CHECK(a.labels == b.labels);
  CHECK(a.spec_json == b.spec_json);
  CHECK(a.rootfs_path == b.rootfs_path);
  CHECK(a.rootfs_read_only == b.rootfs_read_only);
  CHECK(a.runtime == b.runtime);
  CHECK(a.sandbox_id == b.sandbox_id);
  CHECK(a.created_at == b.created_at);
  CHECK(a.updated_at == b.updated_at);
  CHECK(a.image == b.image);
  CHECK(a.image_digest == b.image_digest);
  CHECK(a.settings == b.settings);
  CHECK(a.restart_count == b.restart_count);
  CHECK(a.stopped_by_user == b.stopped_by_user);
}

TaskRecord FullTask(const std::string& ns, const std::string& container_id) {
  TaskRecord t;
  t.ns = ns;
  t.container_id = container_id;
  t.status = TaskStatus::kPaused;
  t.pid = 4242;
  t.shim_pid = 4000000000u;  // above INT32_MAX: stored as an unsigned value
  t.shim_address = "unix:///run/berth/s/0123abcd";
  t.bundle = "/run/berth/bundles/" + container_id;
  t.attach = true;
  t.stdin_open = true;
  t.terminal = true;
  t.exit_status = 137;
  t.exited_at = At(1700000003000000003);
  t.created_at = At(1700000001000000001);
  t.started_at = At(1700000002000000002);
  return t;
}

void CheckSame(const TaskRecord& a, const TaskRecord& b) {
  CHECK(a.ns == b.ns);
  CHECK(a.container_id == b.container_id);
  CHECK(a.status == b.status);
  CHECK(a.pid == b.pid);
  CHECK(a.shim_pid == b.shim_pid);
  CHECK(a.shim_address == b.shim_address);
  CHECK(a.bundle == b.bundle);
  CHECK(a.attach == b.attach);
  CHECK(a.stdin_open == b.stdin_open);
  CHECK(a.terminal == b.terminal);
  CHECK(a.exit_status == b.exit_status);
  CHECK(a.exited_at == b.exited_at);
  CHECK(a.created_at == b.created_at);
  CHECK(a.started_at == b.started_at);
}

EventRecord FullEvent(uint32_t pid) {
  EventRecord e;
  e.timestamp = At(1700000004000000004 + pid);
  e.ns = "prod";
  e.topic = "/tasks/exit";
  e.container_id = "web-1";
  e.exec_id = "exec-9";
  e.pid = pid;
  e.exit_status = 143;
  e.exited_at = At(1700000005000000005);
  return e;
}

size_t CountContainers(Store& store) { return Must(store.ListContainers("")).size(); }

TEST_CASE("Open creates the database in WAL mode with the schema and the default namespace",
          "[metadata]") {
  TempDir dir;
  {
    auto store = MustOpen(dir.db());
    NamespaceRecord def = Must(store->GetNamespace("default"));
    CHECK(def.name == "default");
    CHECK(def.labels.empty());
    CHECK(def.created_at > absl::UnixEpoch());
    CHECK(store->LastEventSeq() == 0);
    CHECK(Must(store->FirstEventSeq()) == 0);
  }
  REQUIRE(std::filesystem::exists(dir.db()));
  RawDb raw(dir.db());
  CHECK(raw.Query("PRAGMA journal_mode") == "wal");
  CHECK(raw.Query("PRAGMA user_version") == std::to_string(LatestSchemaVersion()));
  for (const char* table : {"meta", "namespaces", "sandboxes", "containers", "tasks", "events",
                            "blobs", "layers", "manifests", "manifest_layers", "images"}) {
    INFO(table);
    CHECK(raw.Query(absl::StrCat("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                                 "name = '",
                                 table, "'")) == "1");
  }
  CHECK(raw.Query("SELECT value FROM meta WHERE key = 'last_event_seq'") == "0");
}

TEST_CASE("Reopening keeps the data and does not migrate again", "[metadata]") {
  TempDir dir;
  absl::Time default_created;
  {
    auto store = MustOpen(dir.db());
    default_created = Must(store->GetNamespace("default")).created_at;
    REQUIRE_OK(store->InsertContainer(FullContainer("default", "c1", "one")));
  }
  auto store = MustOpen(dir.db());
  CHECK(Must(store->GetNamespace("default")).created_at == default_created);
  CheckSame(Must(store->GetContainer("default", "c1")), FullContainer("default", "c1", "one"));
  CHECK(Must(store->ListNamespaces()).size() == 1);
  RawDb raw(dir.db());
  CHECK(raw.Query("PRAGMA user_version") == std::to_string(LatestSchemaVersion()));
}

TEST_CASE("Open refuses a database written by a newer schema", "[metadata]") {
  TempDir dir;
  { MustOpen(dir.db()); }
  {
    RawDb raw(dir.db());
    raw.Exec("PRAGMA user_version = 99");
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir.db());
  REQUIRE_FALSE(store.ok());
  CHECK(absl::IsFailedPrecondition(store.status()));
  const std::string msg(store.status().message());
  INFO(msg);
  CHECK(absl::StrContains(msg, dir.db()));
  CHECK(absl::StrContains(msg, "schema version 99"));
  CHECK(absl::StrContains(msg, "newer"));
  RawDb raw(dir.db());
  CHECK(raw.Query("PRAGMA user_version") == "99");  // left untouched
}

TEST_CASE("Open reports a missing directory and a file that is not a database", "[metadata]") {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<Store>> missing = Store::Open(dir.path() + "/no/such/dir/m.db");
  REQUIRE_FALSE(missing.ok());
  CHECK(absl::IsInternal(missing.status()));
  CHECK(absl::StrContains(missing.status().message(), dir.path() + "/no/such/dir/m.db"));
  CHECK(absl::StrContains(missing.status().message(), "unable to open"));

  const std::string junk = dir.path() + "/junk.db";
  {
    FILE* f = fopen(junk.c_str(), "w");
    REQUIRE(f != nullptr);
    fputs("this is not an sqlite database, but it is long enough to have a header......\n", f);
    fclose(f);
  }
  absl::StatusOr<std::unique_ptr<Store>> bad = Store::Open(junk);
  REQUIRE_FALSE(bad.ok());
  CHECK(absl::IsInternal(bad.status()));
  INFO(bad.status().ToString());
  CHECK(absl::StrContains(bad.status().message(), junk));
  CHECK(absl::StrContains(bad.status().message(), "not a database"));
}

TEST_CASE("The database's file descriptors are close-on-exec", "[metadata]") {
  TempDir dir;
  auto store = MustOpen(dir.db());
  REQUIRE_OK(store->InsertContainer(FullContainer("default", "c1", "")));  // opens the WAL
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    std::filesystem::path target = std::filesystem::read_symlink(entry.path(), ec);
    if (ec || !absl::StartsWith(target.string(), dir.db())) continue;
    int fd = std::stoi(entry.path().filename().string());
    INFO(target.string());
    CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    ++seen;
  }
  CHECK(seen >= 2);  // the database and its -wal (and -shm)
}

TEST_CASE("Namespaces: create, get, list, delete and their errors", "[metadata]") {
  TempDir dir;
  auto store = MustOpen(dir.db());

  NamespaceRecord prod{"prod", {{"team", "infra"}, {"tier", "1"}}, At(1690000000000000123)};
  REQUIRE_OK(store->CreateNamespace(prod));
  NamespaceRecord got = Must(store->GetNamespace("prod"));
  CHECK(got.name == "prod");
  CHECK(got.labels == prod.labels);
  CHECK(got.created_at == prod.created_at);

  absl::Status dup = store->CreateNamespace(prod);
  CHECK(absl::IsAlreadyExists(dup));
  CHECK(dup.message() == "namespace prod already exists");

  CHECK(absl::IsInvalidArgument(store->CreateNamespace(NamespaceRecord{})));

  absl::StatusOr<NamespaceRecord> missing = store->GetNamespace("nope");
  CHECK(absl::IsNotFound(missing.status()));
  CHECK(missing.status().message() == "namespace nope not found");

  REQUIRE_OK(store->CreateNamespace(NamespaceRecord{"alpha", {}, At(5)}));
  std::vector<NamespaceRecord> all = Must(store->ListNamespaces());
  REQUIRE(all.size() == 3);
  CHECK(all[0].name == "alpha");
  CHECK(all[1].name == "default");
  CHECK(all[2].name == "prod");
  CHECK(all[2].labels == prod.labels);

  REQUIRE_OK(store->InsertContainer(FullContainer("prod", "c1", "web")));
  absl::Status busy = store->DeleteNamespace("prod");
  CHECK(absl::IsFailedPrecondition(busy));
  INFO(busy.message());
  CHECK(absl::StrContains(busy.message(), "namespace prod is not empty"));
  CHECK(absl::StrContains(busy.message(), "1 container"));
  CHECK(Must(store->GetNamespace("prod")).name == "prod");

  REQUIRE_OK(store->DeleteContainer("prod", "c1"));
  REQUIRE_OK(store->DeleteNamespace("prod"));
  CHECK(absl::IsNotFound(store->GetNamespace("prod").status()));
  absl::Status gone = store->DeleteNamespace("prod");
  CHECK(absl::IsNotFound(gone));
  CHECK(gone.message() == "namespace prod not found");

  CHECK(absl::IsFailedPrecondition(store->DeleteNamespace("default")));
  CHECK(Must(store->ListNamespaces()).size() == 2);
}

TEST_CASE("Containers: every field round-trips, also across a reopen", "[metadata]") {
  TempDir dir;
  const ContainerRecord c = FullContainer("default", "web-1", "web");
  {
    auto store = MustOpen(dir.db());
    REQUIRE_OK(store->InsertContainer(c));
    CheckSame(Must(store->GetContainer("default", "web-1")), c);
  }
  auto store = MustOpen(dir.db());
  CheckSame(Must(store->GetContainer("default", "web-1")), c);

  ContainerRecord plain;  // defaults: unnamed, no labels, read-write
  plain.ns = "default";
  plain.id = "plain";
  REQUIRE_OK(store->InsertContainer(plain));
  ContainerRecord got = Must(store->GetContainer("default", "plain"));
  CheckSame(got, plain);
  CHECK_FALSE(got.rootfs_read_only);
}

TEST_CASE("Containers: duplicate ids and names are ALREADY_EXISTS naming the holder",
          "[metadata]") {
  TempDir dir;
  auto store = MustOpen(dir.db());
  REQUIRE_OK(store->InsertContainer(FullContainer("default", "c1", "web")));

  absl::Status dup_id = store->InsertContainer(FullContainer("default", "c1", "other"));
  CHECK(absl::IsAlreadyExists(dup_id));
  CHECK(dup_id.message() == "container id c1 already exists in namespace default");

  absl::Status dup_name = store->InsertContainer(FullContainer("default", "c2", "web"));
  CHECK(absl::IsAlreadyExists(dup_name));
  INFO(dup_name.message());
  CHECK(
      absl::StartsWith(dup_name.message(), "container name web is already in use by container c1"));
  CHECK(CountContainers(*store) == 1);

  // Names are per namespace; unnamed containers never collide.
  REQUIRE_OK(store->InsertContainer(FullContainer("other", "c1", "web")));
  REQUIRE_OK(store->InsertContainer(FullContainer("default", "u1", "")));
  REQUIRE_OK(store->InsertContainer(FullContainer("default", "u2", "")));
  CHECK(CountContainers(*store) == 4);

  CHECK(absl::IsInvalidArgument(store->InsertContainer(FullContainer("default", "", "x"))));
  CHECK(absl::IsInvalidArgument(store->InsertContainer(FullContainer("", "c9", "x"))));
}

TEST_CASE("Containers: inserting into a missing namespace creates it", "[metadata]") {
  TempDir dir;
  auto store = MustOpen(dir.db());
  const absl::Time before = absl::Now();
  REQUIRE_OK(store->InsertContainer(FullContainer("fresh", "c1", "web")));
  NamespaceRecord ns = Must(store->GetNamespace("fresh"));
  CHECK(ns.labels.empty());
  CHECK(ns.created_at >= before - absl::Seconds(1));
}

TEST_CASE("Containers: update changes every field but created_at", "[metadata]") {
  TempDir dir;
  auto store = MustOpen(dir.db());
  const ContainerRecord original = FullContainer("default", "c1", "web");
  REQUIRE_OK(store->InsertContainer(original));
  REQUIRE_OK(store->InsertContainer(FullContainer("default", "c2", "db")));

  ContainerRecord changed = original;
  changed.name = "web-renamed";
  changed.labels = {{"new", "label"}};
  changed.spec_json = R"({"ociVersion":"1.1.0"})";
  changed.rootfs_path = "/elsewhere";
  changed.rootfs_read_only = false;
  changed.runtime = "berth";
  changed.sandbox_id = "pod-8";
  changed.created_at = At(1);  // ignored: creation time is fixed
  changed.updated_at = At(1800000000000000042);
  changed.settings = "other settings";
  changed.restart_count = 8;
  changed.stopped_by_user = false;
  REQUIRE_OK(store->UpdateContainer(changed));
  ContainerRecord expected = changed;
  expected.created_at = original.created_at;
  CheckSame(Must(store->GetContainer("default", "c1")), expected);

  // Keeping its own name is fine; taking another container's is not.
  REQUIRE_OK(store->UpdateContainer(changed));
  ContainerRecord clash = changed;
  clash.name = "db";
  absl::Status s = store->UpdateContainer(clash);
  CHECK(absl::IsAlreadyExists(s));
  CHECK(absl::StartsWith(s.message(), "container name db is already in use by container c2"));
  CheckSame(Must(store->GetContainer("default", "c1")), expected);

  ContainerRecord missing = FullContainer("default", "ghost", "g");
  absl::Status nf = store->UpdateContainer(missing);
  CHECK(absl::IsNotFound(nf));
  CHECK(nf.message() == "container ghost not found in namespace default");

  // A name freed by a rename can be taken.
  REQUIRE_OK(store->InsertContainer(FullContainer("default", "c3", "web")));
}

TEST_CASE("Containers: get and delete of a missing container are NOT_FOUND", "[metadata]") {
  TempDir dir;
  auto store = MustOpen(dir.db());
  absl::StatusOr<ContainerRecord> got = store->GetContainer("default", "ghost");
  CHECK(absl::IsNotFound(got.status()));
  CHECK(got.status().message() == "container ghost not found in namespace default");
  absl::Status del = store->DeleteContainer("prod", "ghost");
  CHECK(absl::IsNotFound(del));
  CHECK(del.message() == "container ghost not found in namespace prod");

  REQUIRE_OK(store->InsertContainer(FullContainer("default", "c1", "web")));
  REQUIRE_OK(store->DeleteContainer("default", "c1"));
  CHECK(absl::IsNotFound(store->GetContainer("default", "c1").status()));
  CHECK(absl::IsNotFound(store->DeleteContainer("default", "c1")));
  // Its name is free again.
  REQUIRE_OK(store->InsertContainer(FullContainer("default", "c2", "web")));
}

TEST_CASE("Containers: list by namespace or all, ordered by created_at then id", "[metadata]") {
  TempDir dir;
  auto store = MustOpen(dir.db());
  auto make = [](const std::string& ns, const std::string& id, int64_t created) {
    ContainerRecord c = FullContainer(ns, id, "");
    c.created_at = At(created);
    return c;
  };
  REQUIRE_OK(store->InsertContainer(make("default", "b", 30)));
  REQUIRE_OK(store->InsertContainer(make("prod", "z", 10)));
  REQUIRE_OK(store->InsertContainer(make("default", "c", 20)));
  REQUIRE_OK(store->InsertContainer(make("default", "a", 30)));

  std::vector<ContainerRecord> all = Must(store->ListContainers(""));
  REQUIRE(all.size() == 4);
  CHECK(all[0].id == "z");
  CHECK(all[1].id == "c");
  CHECK(all[2].id == "a");
  CHECK(all[3].id == "b");
  CheckSame(all[1], make("default", "c", 20));

  std::vector<ContainerRecord> def = Must(store->ListContainers("default"));
  REQUIRE(def.size() == 3);
  CHECK(def[0].id == "c");
  CHECK(def[1].id == "a");
  CHECK(def[2].id == "b");
  std::vector<ContainerRecord> prod = Must(store->ListContainers("prod"));
  REQUIRE(prod.size() == 1);
  CHECK(prod[0].ns == "prod");
  CHECK(Must(store->ListContainers("empty")).empty());
}

TEST_CASE("Labels keep special characters and refuse what JSON cannot carry back", "[metadata]") {
  TempDir dir;
  auto store = MustOpen(dir.db());
  ContainerRecord c = FullContainer("default", "c1", "");
  c.labels = {{"k", "tab\t nl\n quote\" slash\\ \x01 \xf0\x9f\x90\xb3 \xe2\x82\xac"},
              {"", "empty key"}};
  REQUIRE_OK(store->InsertContainer(c));
  CHECK(Must(store->GetContainer("default", "c1")).labels == c.labels);

  ContainerRecord nul = FullContainer("default", "c2", "");
  nul.labels = {{"k", std::string("a\0b", 3)}};
  absl::Status s = store->InsertContainer(nul);
  CHECK(absl::IsInvalidArgument(s));
  CHECK(absl::StrContains(s.message(), "label \"k\""));
  ContainerRecord bad_utf8 = FullContainer("default", "c3", "");
  bad_utf8.labels = {{"\xff", "v"}};
  CHECK(absl::IsInvalidArgument(store->InsertContainer(bad_utf8)));
  CHECK(absl::IsInvalidArgument(
      store->CreateNamespace(NamespaceRecord{"n", {{"k", "\xc3"}}, absl::UnixEpoch()})));
  CHECK(CountContainers(*store) == 1);
}

TEST_CASE("Tasks: put, replace, list, delete, and cascade with their container", "[metadata]") {
  TempDir dir;
  auto store = MustOpen(dir.db());
  REQUIRE_OK(store->InsertContainer(FullContainer("default", "c1", "web")));
  REQUIRE_OK(store->InsertContainer(FullContainer("prod", "c2", "db")));

  const TaskRecord t1 = FullTask("default", "c1");
  REQUIRE_OK(store->PutTask(t1));
  std::vector<TaskRecord> tasks = Must(store->ListTasks());
  REQUIRE(tasks.size() == 1);
  CheckSame(tasks[0], t1);

  // Replace: every field changes, still one row.
  TaskRecord t1b;
  t1b.ns = "default";
  t1b.container_id = "c1";
  t1b.status = TaskStatus::kRunning;
  t1b.pid = 77;
  t1b.shim_pid = 78;
  t1b.shim_address = "unix:///other";
  t1b.bundle = "/b";
  t1b.exit_status = 0;
  t1b.created_at = At(11);
  t1b.started_at = At(12);
  REQUIRE_OK(store->PutTask(t1b));
  tasks = Must(store->ListTasks());
  REQUIRE(tasks.size() == 1);
  CheckSame(tasks[0], t1b);

  const TaskRecord t2 = FullTask("prod", "c2");
  REQUIRE_OK(store->PutTask(t2));
  tasks = Must(store->ListTasks());
  REQUIRE(tasks.size() == 2);
  CheckSame(tasks[0], t1b);
  CheckSame(tasks[1], t2);

  // Every TaskStatus survives.
  for (TaskStatus st : {TaskStatus::kUnknown, TaskStatus::kCreated, TaskStatus::kRunning,
                        TaskStatus::kStopped, TaskStatus::kPaused}) {
    TaskRecord t = t2;
    t.status = st;
    REQUIRE_OK(store->PutTask(t));
    CHECK(Must(store->ListTasks())[1].status == st);
  }

  absl::Status orphan = store->PutTask(FullTask("default", "ghost"));
  CHECK(absl::IsNotFound(orphan));
  CHECK(orphan.message() == "container ghost not found in namespace default");

  REQUIRE_OK(store->DeleteTask("default", "c1"));
  REQUIRE_OK(store->DeleteTask("default", "c1"));  // no-op
  REQUIRE_OK(store->DeleteTask("default", "ghost"));
  tasks = Must(store->ListTasks());
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].container_id == "c2");

  REQUIRE_OK(store->DeleteContainer("prod", "c2"));
  CHECK(Must(store->ListTasks()).empty());
  // A new container under the same id starts without a task.
  REQUIRE_OK(store->InsertContainer(FullContainer("prod", "c2", "db")));
  CHECK(Must(store->ListTasks()).empty());
}

TEST_CASE("Events: seqs, every field, EventsAfter and FirstEventSeq", "[metadata]") {
  TempDir dir;
  auto store = MustOpen(dir.db());
  CHECK(Must(store->EventsAfter(0, 10)).empty());
  for (uint32_t i = 1; i <= 5; ++i) {
    EventRecord e = FullEvent(i);
    CHECK(Must(store->AppendEvent(e)) == i);
    CHECK(e.seq == i);
  }
  CHECK(store->LastEventSeq() == 5);
  CHECK(Must(store->FirstEventSeq()) == 1);

  std::vector<EventRecord> all = Must(store->EventsAfter(0, 100));
  REQUIRE(all.size() == 5);
  for (uint32_t i = 1; i <= 5; ++i) {
    const EventRecord want = FullEvent(i);
    const EventRecord& got = all[i - 1];
    CHECK(got.seq == i);
    CHECK(got.timestamp == want.timestamp);
    CHECK(got.ns == want.ns);
    CHECK(got.topic == want.topic);
    CHECK(got.container_id == want.container_id);
    CHECK(got.exec_id == want.exec_id);
    CHECK(got.pid == want.pid);
    CHECK(got.exit_status == want.exit_status);
    CHECK(got.exited_at == want.exited_at);
  }

  std::vector<EventRecord> page = Must(store->EventsAfter(2, 2));
  REQUIRE(page.size() == 2);
  CHECK(page[0].seq == 3);
  CHECK(page[1].seq == 4);
  CHECK(Must(store->EventsAfter(5, 10)).empty());
  CHECK(Must(store->EventsAfter(2, 0)).empty());
  CHECK(Must(store->EventsAfter(UINT64_MAX, SIZE_MAX)).empty());
  CHECK(Must(store->EventsAfter(4, SIZE_MAX)).size() == 1);
}

TEST_CASE("Events: the log is trimmed to max_events", "[metadata]") {
  TempDir dir;
  auto store = MustOpen(dir.db(), 3);
  for (uint32_t i = 1; i <= 7; ++i) {
    EventRecord e = FullEvent(i);
    REQUIRE(Must(store->AppendEvent(e)) == i);
    CHECK(Must(store->EventsAfter(0, 100)).size() == std::min<size_t>(i, 3));
  }
  CHECK(Must(store->FirstEventSeq()) == 5);
  CHECK(store->LastEventSeq() == 7);
  std::vector<EventRecord> left = Must(store->EventsAfter(0, 100));
  REQUIRE(left.size() == 3);
  CHECK(left[0].seq == 5);
  CHECK(left[0].pid == 5);
  CHECK(left[2].seq == 7);
}

TEST_CASE("Events: seqs stay monotonic across reopen and a log trimmed to empty", "[metadata]") {
  TempDir dir;
  {
    auto store = MustOpen(dir.db());
    for (uint32_t i = 1; i <= 3; ++i) {
      EventRecord e = FullEvent(i);
      REQUIRE_OK(store->AppendEvent(e).status());
    }
  }
  {
    auto store = MustOpen(dir.db());
    CHECK(store->LastEventSeq() == 3);
    EventRecord e = FullEvent(4);
    CHECK(Must(store->AppendEvent(e)) == 4);
  }
  {
    // max_events 0 keeps nothing: every append empties the log.
    auto store = MustOpen(dir.db(), 0);
    EventRecord e = FullEvent(5);
    CHECK(Must(store->AppendEvent(e)) == 5);
    CHECK(Must(store->EventsAfter(0, 100)).empty());
    CHECK(Must(store->FirstEventSeq()) == 0);
    CHECK(store->LastEventSeq() == 5);
  }
  auto store = MustOpen(dir.db());
  CHECK(store->LastEventSeq() == 5);
  EventRecord e = FullEvent(6);
  CHECK(Must(store->AppendEvent(e)) == 6);
  CHECK(Must(store->FirstEventSeq()) == 6);
}

TEST_CASE("Transaction: an error rolls back everything the body did", "[metadata]") {
  TempDir dir;
  auto store = MustOpen(dir.db());
  absl::Status s = store->Transaction([&]() -> absl::Status {
    REQUIRE_OK(store->InsertContainer(FullContainer("newns", "c1", "web")));
    REQUIRE_OK(store->PutTask(FullTask("newns", "c1")));
    EventRecord e = FullEvent(1);
    REQUIRE(Must(store->AppendEvent(e)) == 1);
    REQUIRE_OK(store->CreateNamespace(NamespaceRecord{"ns2", {}, At(1)}));
    return absl::AbortedError("changed my mind");
  });
  CHECK(absl::IsAborted(s));
  CHECK(s.message() == "changed my mind");
  CHECK(CountContainers(*store) == 0);
  CHECK(Must(store->ListTasks()).empty());
  CHECK(Must(store->EventsAfter(0, 10)).empty());
  CHECK(absl::IsNotFound(store->GetNamespace("newns").status()));
  CHECK(absl::IsNotFound(store->GetNamespace("ns2").status()));
  CHECK(store->LastEventSeq() == 0);
  EventRecord e = FullEvent(2);
  CHECK(Must(store->AppendEvent(e)) == 1);  // the rolled-back seq was never stored

  // A body that succeeds commits all of it, and it survives a reopen.
  REQUIRE_OK(store->Transaction([&]() -> absl::Status {
    REQUIRE_OK(store->InsertContainer(FullContainer("default", "c1", "web")));
    REQUIRE_OK(store->PutTask(FullTask("default", "c1")));
    EventRecord e2 = FullEvent(3);
    return store->AppendEvent(e2).status();
  }));
  store.reset();
  store = MustOpen(dir.db());
  CHECK(CountContainers(*store) == 1);
  CHECK(Must(store->ListTasks()).size() == 1);
  CHECK(store->LastEventSeq() == 2);
}

TEST_CASE("Transaction: a failing method inside a transaction undoes only its own part",
          "[metadata]") {
  TempDir dir;
  auto store = MustOpen(dir.db());
  REQUIRE_OK(store->InsertContainer(FullContainer("default", "taken", "web")));
  REQUIRE_OK(store->Transaction([&]() -> absl::Status {
    REQUIRE_OK(store->InsertContainer(FullContainer("default", "c1", "one")));
    // Fails after it created namespace "other": that is undone, c1 is not.
    CHECK(absl::IsAlreadyExists(store->InsertContainer(FullContainer("default", "taken", "x"))));
    CHECK(absl::IsNotFound(store->PutTask(FullTask("default", "ghost"))));
    return absl::OkStatus();
  }));
  CHECK(CountContainers(*store) == 2);
}

TEST_CASE("Transaction: nested calls join the outer transaction", "[metadata]") {
  TempDir dir;
  auto store = MustOpen(dir.db());

  SECTION("an outer failure undoes a nested success") {
    absl::Status s = store->Transaction([&]() -> absl::Status {
      REQUIRE_OK(store->Transaction([&]() -> absl::Status {
        EventRecord e = FullEvent(1);
        REQUIRE_OK(store->AppendEvent(e).status());
        return store->InsertContainer(FullContainer("default", "inner", ""));
      }));
      CHECK(CountContainers(*store) == 1);  // visible inside the outer one
      return absl::InternalError("outer fails");
    });
    CHECK(absl::IsInternal(s));
    CHECK(CountContainers(*store) == 0);
    CHECK(Must(store->EventsAfter(0, 10)).empty());
    CHECK(store->LastEventSeq() == 0);
  }

  SECTION("a nested failure is undone while the outer one commits") {
    REQUIRE_OK(store->Transaction([&]() -> absl::Status {
      REQUIRE_OK(store->InsertContainer(FullContainer("default", "outer", "")));
      absl::Status inner = store->Transaction([&]() -> absl::Status {
        REQUIRE_OK(store->InsertContainer(FullContainer("default", "inner", "")));
        EventRecord e = FullEvent(1);
        REQUIRE_OK(store->AppendEvent(e).status());
        return absl::CancelledError("inner fails");
      });
      CHECK(absl::IsCancelled(inner));
      EventRecord e = FullEvent(2);
      CHECK(Must(store->AppendEvent(e)) == 1);
      return absl::OkStatus();
    }));
    std::vector<ContainerRecord> left = Must(store->ListContainers(""));
    REQUIRE(left.size() == 1);
    CHECK(left[0].id == "outer");
    std::vector<EventRecord> events = Must(store->EventsAfter(0, 10));
    REQUIRE(events.size() == 1);
    CHECK(events[0].pid == 2);
  }

  SECTION("three levels commit together") {
    REQUIRE_OK(store->Transaction([&]() -> absl::Status {
      return store->Transaction([&]() -> absl::Status {
        return store->Transaction([&]() -> absl::Status {
          return store->InsertContainer(FullContainer("default", "deep", ""));
        });
      });
    }));
    store.reset();
    store = MustOpen(dir.db());
    CHECK(CountContainers(*store) == 1);
  }
}

TEST_CASE("Unexpected sqlite failures are INTERNAL with sqlite's message and the operation",
          "[metadata]") {
  TempDir dir;
  auto store = MustOpen(dir.db());
  REQUIRE_OK(store->InsertContainer(FullContainer("default", "c1", "web")));
  {
    RawDb raw(dir.db());
    raw.Exec("UPDATE containers SET labels = 'not json' WHERE id = 'c1'");
    raw.Exec("DROP TABLE tasks");
  }
  absl::StatusOr<ContainerRecord> got = store->GetContainer("default", "c1");
  CHECK(absl::IsInternal(got.status()));
  CHECK(absl::StrContains(got.status().message(), "labels of container c1 in namespace default"));

  absl::StatusOr<std::vector<TaskRecord>> tasks = store->ListTasks();
  CHECK(absl::IsInternal(tasks.status()));
  CHECK(tasks.status().message() == "list tasks: no such table: tasks");
}

// Appends events (each with a task update, in one transaction) until killed.
[[noreturn]] void AppendForever(const std::string& db, int ready_fd) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(db, 200);
  if (!store.ok()) _exit(2);
  if (!(*store)->InsertContainer(FullContainer("default", "c1", "web")).ok()) _exit(3);
  for (uint32_t i = 1;; ++i) {
    absl::Status s = (*store)->Transaction([&]() -> absl::Status {
      TaskRecord t = FullTask("default", "c1");
      t.pid = i;
      if (absl::Status put = (*store)->PutTask(t); !put.ok()) return put;
      EventRecord e = FullEvent(i);
      return (*store)->AppendEvent(e).status();
    });
    if (!s.ok()) _exit(4);
    if (i == 300 && write(ready_fd, "x", 1) != 1) _exit(5);
  }
}

TEST_CASE("A database survives its writer being killed with SIGKILL mid-write", "[metadata]") {
  TempDir dir;
  int ready[2];
  REQUIRE(pipe2(ready, O_CLOEXEC) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(ready[0]);
    AppendForever(dir.db(), ready[1]);
  }
  close(ready[1]);
  char byte = 0;
  ssize_t n = read(ready[0], &byte, 1);
  close(ready[0]);
  if (n != 1) {
    int status = 0;
    waitpid(child, &status, 0);
    FAIL("the writer died early, status " << status);
  }
  usleep(30 * 1000);  // well inside the loop
  REQUIRE(kill(child, SIGKILL) == 0);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);

  auto store = MustOpen(dir.db(), 200);
  {
    RawDb raw(dir.db());
    CHECK(raw.Query("PRAGMA integrity_check") == "ok");
    CHECK(raw.Query("PRAGMA foreign_key_check") == "");
  }
  const uint64_t last = store->LastEventSeq();
  REQUIRE(last >= 300);
  std::vector<EventRecord> events = Must(store->EventsAfter(0, 1000));
  REQUIRE(events.size() == 200);
  CHECK(events.front().seq == last - 199);
  CHECK(Must(store->FirstEventSeq()) == last - 199);
  for (size_t i = 0; i < events.size(); ++i) {
    INFO(i);
    REQUIRE(events[i].seq == events.front().seq + i);
    CHECK(events[i].pid == events[i].seq);
  }
  // The task update committed with the last event, never apart from it.
  std::vector<TaskRecord> tasks = Must(store->ListTasks());
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].pid == last);
  EventRecord e = FullEvent(0);
  CHECK(Must(store->AppendEvent(e)) == last + 1);
}

}  // namespace
}  // namespace berth::supervisor
