// The engine's life cycle, its bookkeeping helpers, namespaces and containers.
// Tasks are in engine_tasks.cc, recovery in engine_recovery.cc.
#include "supervisor/daemon/engine.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/log.h"
#include "supervisor/daemon/ids.h"

namespace berth::supervisor {

namespace fs = std::filesystem;

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(const Config& config) {
  for (const std::string& dir :
       {config.root, config.state, config.containers_dir(), config.bundles_dir(),
        config.socket_dir(), config.runtime_root()}) {
    BERTH_RETURN_IF_ERROR(MakeDirs(dir, 0711));
  }
  BERTH_ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
                         Store::Open(config.database(), config.max_events));
  BERTH_ASSIGN_OR_RETURN(std::unique_ptr<ContentStore> content, ContentStore::Open(config.root));
  BERTH_ASSIGN_OR_RETURN(LayerStore layers, LayerStore::Open(config.root));
  registry::RegistryOptions registry_options;
  registry_options.credentials_file = config.registry_auth;
  if (registry_options.credentials_file.empty()) {
    const char* docker_config = std::getenv("DOCKER_CONFIG");
    const char* home = std::getenv("HOME");
    std::string candidate = docker_config != nullptr ? absl::StrCat(docker_config, "/config.json")
                            : home != nullptr        ? absl::StrCat(home, "/.docker/config.json")
                                                     : "";
    if (!candidate.empty() && ::access(candidate.c_str(), R_OK) == 0) {
      registry_options.credentials_file = candidate;
    }
  }
  registry_options.insecure_hosts = config.insecure_registries;
  BERTH_ASSIGN_OR_RETURN(std::unique_ptr<registry::RegistryClient> registry,
                         registry::RegistryClient::Create(registry_options));
  BERTH_ASSIGN_OR_RETURN(EventLoop loop, EventLoop::Create());
  return std::unique_ptr<Engine>(new Engine(config, std::move(store), std::move(loop),
                                            std::move(content), std::move(layers),
                                            std::move(registry)));
}

Engine::Engine(Config config, std::unique_ptr<Store> store, EventLoop loop,
               std::unique_ptr<ContentStore> content, LayerStore layers,
               std::unique_ptr<registry::RegistryClient> registry)
    : config_(std::move(config)),
      store_(std::move(store)),
      content_(std::move(content)),
      layers_(std::move(layers)),
      registry_(std::move(registry)),
      loop_(std::make_unique<EventLoop>(std::move(loop))) {}

Engine::~Engine() { Stop(); }

absl::Status Engine::Start() {
  // Load what should exist.
  BERTH_ASSIGN_OR_RETURN(std::vector<ContainerRecord> containers, store_->ListContainers(""));
  for (ContainerRecord& c : containers) {
    std::string key = Key(c.ns, c.id);
    containers_[key].record = std::move(c);
  }
  BERTH_ASSIGN_OR_RETURN(std::vector<TaskRecord> tasks, store_->ListTasks());
  for (TaskRecord& t : tasks) {
    auto it = containers_.find(Key(t.ns, t.container_id));
    if (it == containers_.end()) continue;  // the foreign key makes this impossible
    auto task = std::make_unique<Task>();
    task->init.pid = t.pid;
    task->init.status = t.status;
    task->init.exit_status = t.exit_status;
    task->init.exited_at = t.exited_at;
    task->init.stdio = {t.attach, t.stdin_open, t.terminal};
    task->shim_gone = t.shim_address.empty();
    task->record = std::move(t);
    it->second.task = std::move(task);
  }
  // Shims publish to this socket; their events wait (held) until recovery
  // has taken what each shim's State says.
  recovering_ = true;
  BERTH_ASSIGN_OR_RETURN(sink_, EventSink::Listen(loop_.get(), config_.events_socket(),
                                                  [this](const containerd::events::Envelope& e,
                                                         std::function<void()> ack) {
                                                    OnShimEvent(e, std::move(ack));
                                                  }));
  std::promise<void> recovered;
  loop_->Post([this, &recovered] { Recover([&recovered] { recovered.set_value(); }); });
  thread_ = std::thread([this] {
    if (absl::Status st = loop_->Run(); !st.ok())
      log::Error(absl::StrCat("engine: ", st.message()));
  });
  recovered.get_future().wait();
  // Before the API serves: an import must not start while the sweep runs.
  SweepUnrecorded();
  return absl::OkStatus();
}

void Engine::Stop() {
  if (!thread_.joinable()) return;
  registry_->CancelAll();  // a pull in flight must not hold up shutdown
  loop_->Post([this] {
    hub_.CloseAll();
    for (auto& [key, c] : containers_) {
      if (!c.task) continue;
      if (c.task->init.io) c.task->init.io->CloseAll();
      for (auto& [id, e] : c.task->execs) {
        if (e->io) e->io->CloseAll();
      }
    }
    loop_->Stop();
  });
  thread_.join();
}

// ---- helpers ----

EventRecord Engine::NewEvent(const std::string& ns, const std::string& topic, const std::string& id,
                             const std::string& exec_id) const {
  EventRecord e;
  e.timestamp = absl::Now();
  e.ns = ns;
  e.topic = topic;
  e.container_id = id;
  e.exec_id = exec_id;
  return e;
}

absl::Status Engine::Commit(const std::function<absl::Status()>& change,
                            std::vector<EventRecord> events) {
  BERTH_RETURN_IF_ERROR(store_->Transaction([&]() -> absl::Status {
    BERTH_RETURN_IF_ERROR(change());
    for (EventRecord& e : events) BERTH_RETURN_IF_ERROR(store_->AppendEvent(e).status());
    return absl::OkStatus();
  }));
  for (const EventRecord& e : events) hub_.Publish(e);
  return absl::OkStatus();
}

absl::StatusOr<Engine::Container*> Engine::Find(const std::string& ns, const std::string& ref) {
  if (ref.empty()) return absl::InvalidArgumentError("container id: empty");
  if (auto it = containers_.find(Key(ns, ref)); it != containers_.end()) return &it->second;
  // A name, then a unique prefix of an id, as docker resolves references.
  Container* by_prefix = nullptr;
  int prefixed = 0;
  for (auto& [key, c] : containers_) {
    if (c.record.ns != ns) continue;
    if (c.record.name == ref) return &c;
    if (absl::StartsWith(c.record.id, ref)) {
      by_prefix = &c;
      ++prefixed;
    }
  }
  if (prefixed == 1) return by_prefix;
  if (prefixed > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "container reference ", ref, " is ambiguous: ", prefixed, " ids start with it"));
  }
  return absl::NotFoundError(absl::StrCat("container ", ref, " not found in namespace ", ns));
}

absl::StatusOr<Engine::Task*> Engine::FindTask(const std::string& ns, const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(Container * c, Find(ns, id));
  if (!c->task) {
    return absl::NotFoundError(absl::StrCat("container ", c->record.id, " has no task"));
  }
  return c->task.get();
}

absl::StatusOr<Engine::Process*> Engine::FindProcess(Task* t, const std::string& exec_id) {
  if (exec_id.empty()) return &t->init;
  auto it = t->execs.find(exec_id);
  if (it == t->execs.end()) {
    return absl::NotFoundError(
        absl::StrCat("process ", exec_id, " not found in container ", t->record.container_id));
  }
  return it->second.get();
}

TaskView Engine::View(const Task& t) const {
  TaskView v;
  v.record = t.record;
  v.record.pid = t.init.pid;
  v.record.status = t.init.status;
  v.record.exit_status = t.init.exit_status;
  v.record.exited_at = t.init.exited_at;
  v.status = t.unknown ? TaskStatus::kUnknown : t.init.status;
  for (const auto& [id, p] : t.execs) {
    v.execs.push_back({p->exec_id, p->pid, p->status, p->exit_status, p->exited_at, p->stdio});
  }
  return v;
}

ContainerView Engine::View(const Container& c) const {
  ContainerView v;
  v.record = c.record;
  if (c.task) v.task = View(*c.task);
  return v;
}

std::string Engine::BundleDir(const std::string& ns, const std::string& id) const {
  return absl::StrCat(config_.bundles_dir(), "/", ns, "/", id);
}

std::string Engine::ContainerDir(const std::string& ns, const std::string& id) const {
  return absl::StrCat(config_.containers_dir(), "/", ns, "/", id);
}

// ---- namespaces ----

absl::Status Engine::CreateNamespace(const NamespaceRecord& ns) {
  BERTH_RETURN_IF_ERROR(ValidateName(ns.name, "namespace"));
  NamespaceRecord r = ns;
  r.created_at = absl::Now();
  return Commit([&] { return store_->CreateNamespace(r); },
                {NewEvent(r.name, "/namespaces/create", "")});
}

absl::StatusOr<std::vector<NamespaceRecord>> Engine::ListNamespaces() {
  return store_->ListNamespaces();
}

absl::Status Engine::DeleteNamespace(const std::string& name) {
  BERTH_RETURN_IF_ERROR(ValidateName(name, "namespace"));
  return Commit([&] { return store_->DeleteNamespace(name); },
                {NewEvent(name, "/namespaces/delete", "")});
}

// ---- containers ----

absl::StatusOr<ContainerView> Engine::CreateContainer(ContainerRecord r) {
  BERTH_RETURN_IF_ERROR(ValidateName(r.ns, "namespace"));
  BERTH_RETURN_IF_ERROR(ValidateName(r.id, "id"));
  if (r.name.empty()) r.name = r.id;
  BERTH_RETURN_IF_ERROR(ValidateName(r.name, "name"));
  if (r.runtime.empty()) r.runtime = "berth";
  if (r.runtime != "berth" && r.runtime != "runc") {
    return absl::InvalidArgumentError(
        absl::StrCat("runtime: \"", r.runtime, "\" is not one berthd knows (berth, runc)"));
  }
  r.created_at = r.updated_at = absl::Now();
  BERTH_RETURN_IF_ERROR(Commit([&] { return store_->InsertContainer(r); },
                               {NewEvent(r.ns, "/containers/create", r.id)}));
  Container& c = containers_[Key(r.ns, r.id)];
  c.record = std::move(r);
  return View(c);
}

absl::StatusOr<ContainerView> Engine::GetContainer(const std::string& ns, const std::string& ref) {
  BERTH_ASSIGN_OR_RETURN(Container * c, Find(ns, ref));
  return View(*c);
}

std::vector<ContainerView> Engine::ListContainers(const std::string& ns) {
  std::vector<ContainerView> out;
  for (const auto& [key, c] : containers_) {
    if (ns.empty() || c.record.ns == ns) out.push_back(View(c));
  }
  std::sort(out.begin(), out.end(), [](const ContainerView& a, const ContainerView& b) {
    return std::tie(a.record.created_at, a.record.id) < std::tie(b.record.created_at, b.record.id);
  });
  return out;
}

absl::StatusOr<ContainerView> Engine::UpdateContainer(const ContainerRecord& r, bool labels,
                                                      bool spec) {
  BERTH_ASSIGN_OR_RETURN(Container * c, Find(r.ns, r.id));
  if (c->record.id != r.id)
    return absl::NotFoundError(absl::StrCat("container ", r.id, " not found"));
  if (spec && c->task) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", r.id, ": spec_json cannot change while it has a task"));
  }
  ContainerRecord updated = c->record;
  if (labels) updated.labels = r.labels;
  if (spec) updated.spec_json = r.spec_json;
  updated.updated_at = absl::Now();
  BERTH_RETURN_IF_ERROR(Commit([&] { return store_->UpdateContainer(updated); },
                               {NewEvent(r.ns, "/containers/update", r.id)}));
  c->record = std::move(updated);
  return View(*c);
}

void Engine::DeleteContainer(const std::string& ns, const std::string& ref, bool force,
                             Done<Nothing> done) {
  absl::StatusOr<Container*> c = Find(ns, ref);
  if (!c.ok()) return done(c.status());
  std::string id = (*c)->record.id;
  auto remove = [this, ns, id, done](absl::StatusOr<ExitInfo> deleted) {
    if (!deleted.ok()) return done(deleted.status());
    auto it = containers_.find(Key(ns, id));
    if (it == containers_.end()) return done(Nothing{});  // removed meanwhile
    if (it->second.task || it->second.busy) {
      return done(absl::FailedPreconditionError(
          absl::StrCat("container ", id, " got a new task while being removed")));
    }
    absl::Status st = Commit([&] { return store_->DeleteContainer(ns, id); },
                             {NewEvent(ns, "/containers/delete", id)});
    if (!st.ok()) return done(st);
    bool from_image = !it->second.record.image_digest.empty();
    containers_.erase(it);
    // Its upper layer: what the container wrote.
    std::error_code ec;
    fs::remove_all(ContainerDir(ns, id), ec);
    if (ec) log::Warn(absl::StrCat("remove ", ContainerDir(ns, id), ": ", ec.message()));
    // An image removed with -f while this container used it goes now.
    if (from_image) CollectGarbage([](uint64_t) {});
    done(Nothing{});
  };
  if ((*c)->busy) {
    return done(absl::FailedPreconditionError(absl::StrCat("container ", id, " is busy")));
  }
  if (!(*c)->task) return remove(ExitInfo{});
  if (!force) {
    return done(absl::FailedPreconditionError(absl::StrCat(
        "container ", id, " has a task: delete it first (berthctl rm -f kills and removes it)")));
  }
  DeleteTask(ns, id, /*force=*/true, remove);
}

absl::StatusOr<std::vector<EventRecord>> Engine::EventsAfter(uint64_t after_seq, size_t limit) {
  return store_->EventsAfter(after_seq, limit);
}

}  // namespace berth::supervisor
