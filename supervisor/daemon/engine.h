// The engine: the one thread that owns berthd's state (the store, the
// containers and their tasks, every shim connection, the event hub). gRPC
// handler threads never touch that state; they hand work to the engine's
// loop with Sync() and wait for its answer. Blocking work (running a shim's
// start or delete command) runs on short-lived worker threads that post
// their result back.
#pragma once

#include <sys/types.h>

#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "containerd_events.pb.h"
#include "lib/event_loop.h"
#include "lib/ttrpc/task_client.h"
#include "supervisor/content/content_store.h"
#include "supervisor/daemon/attachment.h"
#include "supervisor/daemon/config.h"
#include "supervisor/daemon/process_stdio.h"
#include "supervisor/events/event_hub.h"
#include "supervisor/images/importer.h"
#include "supervisor/images/layer_store.h"
#include "supervisor/metadata/store.h"
#include "supervisor/registry/registry_client.h"
#include "supervisor/shims/event_sink.h"
#include "supervisor/shims/shim_command.h"

namespace berth::supervisor {

template <typename T>
using Done = std::function<void(absl::StatusOr<T>)>;

struct Nothing {};

struct StdioConfig {
  bool attach = false;
  bool stdin_open = false;
  bool terminal = false;
};

struct ProcessView {
  std::string exec_id;
  uint32_t pid = 0;
  TaskStatus status = TaskStatus::kUnknown;
  uint32_t exit_status = 0;
  absl::Time exited_at = absl::UnixEpoch();
  StdioConfig stdio;
};

struct TaskView {
  TaskRecord record;
  TaskStatus status = TaskStatus::kUnknown;  // what berthd believes now (unknown: shim silent)
  std::vector<ProcessView> execs;
};

struct ContainerView {
  ContainerRecord record;
  std::optional<TaskView> task;
};

struct ExitInfo {
  uint32_t pid = 0;
  uint32_t exit_status = 0;
  absl::Time exited_at = absl::UnixEpoch();
};

struct ExecConfig {
  std::string exec_id;
  std::string process_json;  // a runtime-spec Process object
  StdioConfig stdio;
};

struct ImageView {
  ImageRecord record;
  ManifestRecord manifest;
  ImageConfig config;
  uint64_t size = 0;  // of its layers, unpacked
};

struct ImageRemoval {
  std::vector<std::string> untagged;
  uint64_t reclaimed_bytes = 0;
};

struct ImageDiskUsage {
  uint32_t images = 0, layers = 0, containers = 0;
  uint64_t layers_bytes = 0, shared_bytes = 0, blobs_bytes = 0, containers_bytes = 0;
};

struct RecoveryReport {
  absl::Time started_at = absl::UnixEpoch();
  absl::Duration duration;
  uint32_t containers = 0, reconnected = 0, exited = 0, gone = 0, orphans = 0, unknown = 0;
};

class Engine {
 public:
  static absl::StatusOr<std::unique_ptr<Engine>> Open(const Config& config);
  ~Engine();

  // Recovers (reconnecting to every shim in parallel), then runs the loop on
  // its own thread. Returns once recovery is done.
  absl::Status Start();
  // Stops the loop and joins its thread. Shims and containers keep running.
  void Stop();

  // Runs `work` on the engine's thread and waits for the value it passes to
  // its reply function (exactly once).
  template <typename T>
  T Sync(std::function<void(std::function<void(T)>)> work) {
    return Later<T>(std::move(work)).get();
  }
  // The same without waiting: the caller waits on the future (in steps, to
  // notice a client that went away).
  template <typename T>
  std::future<T> Later(std::function<void(std::function<void(T)>)> work) {
    auto promise = std::make_shared<std::promise<T>>();
    std::future<T> future = promise->get_future();
    loop_->Post([work = std::move(work), promise] {
      auto once = std::make_shared<std::once_flag>();
      work([promise, once](T value) {
        std::call_once(*once, [&] { promise->set_value(std::move(value)); });
      });
    });
    return future;
  }
  // Runs `work` on the engine's thread, not waiting.
  void Post(std::function<void()> work) { loop_->Post(std::move(work)); }

  const Config& config() const { return config_; }

  // --- everything below runs on the engine's thread only ---

  // Namespaces.
  absl::Status CreateNamespace(const NamespaceRecord& ns);
  absl::StatusOr<std::vector<NamespaceRecord>> ListNamespaces();
  absl::Status DeleteNamespace(const std::string& name);

  // Containers. `ref` is an id, a name, or a unique id prefix.
  absl::StatusOr<ContainerView> CreateContainer(ContainerRecord record);
  absl::StatusOr<ContainerView> GetContainer(const std::string& ns, const std::string& ref);
  std::vector<ContainerView> ListContainers(const std::string& ns);
  absl::StatusOr<ContainerView> UpdateContainer(const ContainerRecord& record, bool labels,
                                                bool spec);
  void DeleteContainer(const std::string& ns, const std::string& id, bool force,
                       Done<Nothing> done);

  // Tasks.
  void CreateTask(const std::string& ns, const std::string& id, StdioConfig stdio,
                  Done<TaskView> done);
  void Start(const std::string& ns, const std::string& id, const std::string& exec_id,
             Done<uint32_t> done);
  void Kill(const std::string& ns, const std::string& id, const std::string& exec_id, int signal,
            bool all, Done<Nothing> done);
  void Wait(const std::string& ns, const std::string& id, const std::string& exec_id,
            Done<ExitInfo> done);
  void DeleteTask(const std::string& ns, const std::string& id, bool force, Done<ExitInfo> done);
  void Exec(const std::string& ns, const std::string& id, ExecConfig exec, Done<std::string> done);
  void DeleteProcess(const std::string& ns, const std::string& id, const std::string& exec_id,
                     Done<ExitInfo> done);
  void ResizePty(const std::string& ns, const std::string& id, const std::string& exec_id,
                 uint32_t width, uint32_t height, Done<Nothing> done);
  void CloseIO(const std::string& ns, const std::string& id, const std::string& exec_id,
               Done<Nothing> done);
  void Pause(const std::string& ns, const std::string& id, Done<Nothing> done);
  void Resume(const std::string& ns, const std::string& id, Done<Nothing> done);
  void ListPids(const std::string& ns, const std::string& id, Done<std::vector<uint32_t>> done);
  void Stats(const std::string& ns, const std::string& id,
             Done<containerd::task::v2::StatsResponse> done);
  void Update(const std::string& ns, const std::string& id, const std::string& resources_json,
              Done<Nothing> done);
  absl::StatusOr<TaskView> GetTask(const std::string& ns, const std::string& id);
  std::vector<TaskView> ListTasks(const std::string& ns);

  // Attach: registers `a` on the process's stdio (Ack first; Exited last).
  absl::Status Attach(const std::string& ns, const std::string& id, const std::string& exec_id,
                      std::shared_ptr<Attachment> a);
  absl::Status WriteStdin(const std::string& ns, const std::string& id, const std::string& exec_id,
                          std::string data);

  // Images (engine_images.cc). `ref`: a name (short forms too), or an image
  // id (config digest) or a unique prefix of one.
  void ImportImage(const std::string& ns, std::string path, ImportOptions options,
                   Done<std::vector<ImageView>> done);
  void PullImage(const std::string& ns, std::string reference, ImportOptions options,
                 Done<std::vector<ImageView>> done);
  absl::StatusOr<ImageView> GetImage(const std::string& ns, const std::string& ref);
  absl::StatusOr<std::vector<ImageView>> ListImages(const std::string& ns);
  void DeleteImage(const std::string& ns, const std::string& ref, bool force,
                   Done<ImageRemoval> done);
  absl::StatusOr<ImageView> TagImage(const std::string& ns, const std::string& source,
                                     const std::string& target);
  void PruneImages(const std::string& ns, Done<ImageRemoval> done);
  void DiskUsage(Done<ImageDiskUsage> done);
  // The directory of a container's i-th anonymous volume (removed with it).
  std::string VolumeDir(const std::string& ns, const std::string& id, size_t i) const {
    return absl::StrCat(ContainerDir(ns, id), "/volumes/", i);
  }
  // The overlay lower directories of a manifest's layers, top layer first.
  absl::StatusOr<std::vector<std::string>> LayerDirs(const std::string& manifest_digest);
  const ContentStore& content() const { return *content_; }
  const LayerStore& layers() const { return *layers_; }

  // Events.
  std::shared_ptr<Subscription> Subscribe() { return hub_.Subscribe(); }
  absl::StatusOr<std::vector<EventRecord>> EventsAfter(uint64_t after_seq, size_t limit);
  absl::StatusOr<uint64_t> FirstEventSeq() { return store_->FirstEventSeq(); }
  uint64_t LastEventSeq() const { return store_->LastEventSeq(); }

  const RecoveryReport& recovery() const { return recovery_; }

 private:
  struct Process {
    std::string exec_id;
    uint32_t pid = 0;
    TaskStatus status = TaskStatus::kCreated;
    uint32_t exit_status = 0;
    absl::Time exited_at = absl::UnixEpoch();
    StdioConfig stdio;
    std::unique_ptr<ProcessStdio> io;
    std::vector<Done<ExitInfo>> waiters;
    bool exited() const { return status == TaskStatus::kStopped; }
  };
  struct Task {
    TaskRecord record;
    std::unique_ptr<ttrpc::TaskClient> client;
    Process init;
    std::map<std::string, std::unique_ptr<Process>> execs;
    bool unknown = false;    // the shim missed a deadline; retried
    bool shim_gone = false;  // cleaned up by the shim's delete: nothing to call
    EventLoop::TimerId retry = 0;
  };
  struct Container {
    ContainerRecord record;
    std::unique_ptr<Task> task;
    bool busy = false;   // a create or delete of its task is under way
    pid_t old_shim = 0;  // the shim of its last task, which may still be ending
  };

  Engine(Config config, std::unique_ptr<Store> store, EventLoop loop,
         std::unique_ptr<ContentStore> content, LayerStore layers,
         std::unique_ptr<registry::RegistryClient> registry);

  static std::string Key(const std::string& ns, const std::string& id) { return ns + "/" + id; }
  absl::StatusOr<Container*> Find(const std::string& ns, const std::string& ref);
  absl::StatusOr<Task*> FindTask(const std::string& ns, const std::string& id);
  absl::StatusOr<Process*> FindProcess(Task* t, const std::string& exec_id);
  ContainerView View(const Container& c) const;
  TaskView View(const Task& t) const;

  // Commits `change` and the events in one transaction, then publishes them.
  absl::Status Commit(const std::function<absl::Status()>& change, std::vector<EventRecord> events);
  EventRecord NewEvent(const std::string& ns, const std::string& topic, const std::string& id,
                       const std::string& exec_id = "") const;

  // Runs `work` on a worker thread, then `then` on the engine's thread.
  template <typename T>
  void Offload(std::function<T()> work, std::function<void(T)> then) {
    EventLoop* loop = loop_.get();
    std::thread([loop, work = std::move(work), then = std::move(then)]() mutable {
      auto result = std::make_shared<T>(work());
      loop->Post([then = std::move(then), result] { then(std::move(*result)); });
    }).detach();
  }

  std::string BundleDir(const std::string& ns, const std::string& id) const;
  std::string ContainerDir(const std::string& ns, const std::string& id) const;
  std::string ShimOptions(const ContainerRecord& c) const;
  ShimCommand Command(const std::string& ns, const std::string& id,
                      const std::string& options) const;
  TaskRecord Persisted(const Task& t) const;
  template <typename T>
  Done<T> Noting(const std::string& ns, const std::string& id, Done<T> then);
  void FinishCreate(const std::string& ns, const std::string& id, StdioConfig stdio,
                    absl::StatusOr<std::string> address, Done<TaskView> done);
  void AbandonCreate(const std::string& ns, const std::string& id, const absl::Status& why,
                     Done<TaskView> done);
  void CleanupShim(const std::string& ns, const std::string& id, std::string bundle,
                   std::function<void(absl::StatusOr<containerd::task::v2::DeleteResponse>)> then);
  absl::StatusOr<std::unique_ptr<ProcessStdio>> OpenStdio(const std::string& bundle,
                                                          const std::string& name,
                                                          const StdioConfig& stdio, bool existing);

  // Shim calls: the task's client, or UNAVAILABLE; a missed deadline marks
  // the task unknown and schedules a State retry.
  absl::StatusOr<ttrpc::TaskClient*> Client(Task* t);
  void NoteShimAnswer(const std::string& ns, const std::string& id, const absl::Status& st);
  void RetryState(const std::string& ns, const std::string& id);

  // An exit, from a shim's event, its State, or its delete command. Returns
  // false for one already recorded (a duplicate).
  bool RecordExit(const std::string& ns, const std::string& id, const std::string& exec_id,
                  uint32_t pid, uint32_t exit_status, absl::Time exited_at);
  void OnShimEvent(const containerd::events::Envelope& envelope, std::function<void()> ack);
  void RemoveTask(Container* c, Done<ExitInfo> done, ExitInfo info);
  void FinishProcess(Process& p);

  // Images.
  absl::StatusOr<ImageView> ImageViewOf(const ImageRecord& r);
  absl::StatusOr<ImageRecord> FindImage(const std::string& ns, const std::string& ref);
  // Records what an import or pull brought (one transaction, with events).
  void RecordImages(const std::string& ns, absl::StatusOr<ImportResult> result,
                    Done<std::vector<ImageView>> done);
  // Collects garbage in the database and removes it from disk (after the
  // commit, on a worker); `done` gets the bytes reclaimed.
  void CollectGarbage(std::function<void(uint64_t)> done);
  // Removes blobs and layer directories the database does not record
  // (what a crash between writing them and recording them left). From
  // Start(), off the engine's thread, before anything can import.
  void SweepUnrecorded();

  // Recovery (engine.recovery.cc).
  void Recover(std::function<void()> done);
  void RecoverTask(const std::string& ns, const std::string& id, std::function<void()> done);
  void CleanOrphans(std::function<void()> done);
  void MarkShimGone(const std::string& ns, const std::string& id,
                    const containerd::task::v2::DeleteResponse* deleted);
  struct RecoveredExit {
    std::string ns, id;
    uint32_t pid, exit_status;
    absl::Time exited_at;
  };

  Config config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ContentStore> content_;
  std::optional<LayerStore> layers_;
  std::unique_ptr<registry::RegistryClient> registry_;  // shared by every pull (thread-safe)
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<EventSink> sink_;
  std::thread thread_;
  EventHub hub_;
  std::map<std::string, Container> containers_;  // by Key(ns, id)
  RecoveryReport recovery_;
  bool recovering_ = false;
  std::vector<std::pair<containerd::events::Envelope, std::function<void()>>> held_events_;
  std::vector<RecoveredExit> recovered_exits_;
};

}  // namespace berth::supervisor
