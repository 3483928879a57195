// berthd's metadata: SQLite in WAL mode with synchronous=FULL and foreign
// keys, a schema version with migrations. Every state change is one
// transaction, so a kill -9 at any point leaves a database that opens and
// says what should exist. Used from the engine's thread only (no locks).
//
// The schema leaves room for Kubernetes' CRI (next): pod sandboxes, a
// container -> sandbox relation, networks per sandbox.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct sqlite3;

namespace berth::supervisor {

using Labels = std::map<std::string, std::string>;

struct NamespaceRecord {
  std::string name;
  Labels labels;
  absl::Time created_at = absl::UnixEpoch();
};

struct ContainerRecord {
  std::string ns;
  std::string id;
  std::string name;
  Labels labels;
  std::string spec_json;
  std::string rootfs_path;  // host directory: the overlay's lower layer
  bool rootfs_read_only = false;
  std::string runtime;     // "berth" or "runc"
  std::string sandbox_id;  // empty until CRI pod sandboxes exist
  absl::Time created_at = absl::UnixEpoch();
  absl::Time updated_at = absl::UnixEpoch();
  std::string image;         // the image it was made from ("" for a rootfs path)
  std::string image_digest;  // that image's manifest: its layers are the rootfs
  std::string settings;      // a serialized berth.v1.ContainerSettings ("" : defaults)
  int32_t restart_count = 0;
  bool stopped_by_user = false;
};

// Images (images.cc). Blobs and layers are shared across namespaces.
struct BlobRecord {
  std::string digest;
  uint64_t size = 0;
  std::string media_type;
};

struct LayerRecord {
  std::string chain_id;
  std::string diff_id;
  uint64_t size = 0;
  std::string blob_digest;  // the compressed blob when kept, else empty
};

struct ManifestRecord {
  std::string digest;
  std::string media_type;
  std::string config_digest;
  std::string platform;             // "linux/amd64"
  std::vector<LayerRecord> layers;  // base layer first
  absl::Time created_at = absl::UnixEpoch();
};

struct ImageRecord {
  std::string ns;
  std::string name;  // normalised reference
  std::string manifest_digest;
  Labels labels;
  absl::Time created_at = absl::UnixEpoch();
  absl::Time updated_at = absl::UnixEpoch();
};

// What CollectGarbage removed from the database, for the caller to remove
// from disk after the transaction commits.
struct Garbage {
  std::vector<std::string> blobs;   // digests
  std::vector<std::string> layers;  // chain ids
};

// Matches berth.v1.TaskStatus.
enum class TaskStatus { kUnknown = 0, kCreated = 1, kRunning = 2, kStopped = 3, kPaused = 4 };

struct TaskRecord {
  std::string ns;
  std::string container_id;
  TaskStatus status = TaskStatus::kUnknown;
  uint32_t pid = 0;
  uint32_t shim_pid = 0;
  std::string shim_address;
  std::string bundle;
  bool attach = false;
  bool stdin_open = false;
  bool terminal = false;
  uint32_t exit_status = 0;
  absl::Time exited_at = absl::UnixEpoch();  // epoch: has not exited
  absl::Time created_at = absl::UnixEpoch();
  absl::Time started_at = absl::UnixEpoch();
};

struct EventRecord {
  uint64_t seq = 0;  // assigned by AppendEvent
  absl::Time timestamp = absl::UnixEpoch();
  std::string ns;
  std::string topic;
  std::string container_id;
  std::string exec_id;
  uint32_t pid = 0;
  uint32_t exit_status = 0;
  absl::Time exited_at = absl::UnixEpoch();
};

class Store {
 public:
  // Opens (creating it and its schema, or migrating an older one) the
  // database at `path`. `max_events`: the event log keeps the newest this many.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                                     uint64_t max_events = 100000);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Runs `body` in one transaction (BEGIN IMMEDIATE ... COMMIT); rolls back
  // if it returns an error. Nested calls join the outer transaction. Every
  // mutating method below runs in its own transaction when called outside one.
  absl::Status Transaction(const std::function<absl::Status()>& body);

  // Namespaces. "default" exists from the start.
  absl::Status CreateNamespace(const NamespaceRecord& ns);                // ALREADY_EXISTS
  absl::StatusOr<NamespaceRecord> GetNamespace(const std::string& name);  // NOT_FOUND
  absl::StatusOr<std::vector<NamespaceRecord>> ListNamespaces();
  // NOT_FOUND; FAILED_PRECONDITION while containers are in it.
  absl::Status DeleteNamespace(const std::string& name);

  // Containers, keyed by (ns, id); names unique per namespace. Inserting into
  // a namespace that does not exist creates it.
  absl::Status InsertContainer(const ContainerRecord& c);  // ALREADY_EXISTS naming id or name
  absl::Status UpdateContainer(const ContainerRecord& c);  // NOT_FOUND; ALREADY_EXISTS (name)
  absl::Status DeleteContainer(const std::string& ns,
                               const std::string& id);  // NOT_FOUND; its task too
  absl::StatusOr<ContainerRecord> GetContainer(const std::string& ns, const std::string& id);
  // ns empty: every namespace. Ordered by created_at, then id.
  absl::StatusOr<std::vector<ContainerRecord>> ListContainers(const std::string& ns);

  // Images. PutBlob/PutManifest insert what is not there yet (the same
  // digest is the same content); PutImage points a name at a manifest and
  // returns the manifest it pointed at before, if any.
  absl::Status PutBlob(const BlobRecord& b);
  absl::Status PutManifest(const ManifestRecord& m);
  absl::StatusOr<std::optional<std::string>> PutImage(const ImageRecord& image);
  absl::StatusOr<ImageRecord> GetImage(const std::string& ns,
                                       const std::string& name);  // NOT_FOUND
  // ns empty: every namespace. Ordered by name.
  absl::StatusOr<std::vector<ImageRecord>> ListImages(const std::string& ns);
  absl::StatusOr<ManifestRecord> GetManifest(const std::string& digest);     // NOT_FOUND
  absl::Status DeleteImage(const std::string& ns, const std::string& name);  // NOT_FOUND
  // Containers made from the manifest (ns empty: in every namespace): ids.
  absl::StatusOr<std::vector<std::string>> ContainersUsing(const std::string& ns,
                                                           const std::string& manifest_digest);
  // Deletes manifests no image or container references, then layers and
  // blobs nothing references; returns what went.
  absl::StatusOr<Garbage> CollectGarbage();
  // Every blob digest and layer chain id recorded (the sweep at start).
  absl::StatusOr<std::vector<std::string>> AllBlobs();
  absl::StatusOr<std::vector<std::string>> AllLayers();

  // Tasks: at most one per container (FOREIGN KEY to it).
  absl::Status PutTask(const TaskRecord& t);  // insert or replace
  absl::Status DeleteTask(const std::string& ns, const std::string& container_id);  // no-op if none
  absl::StatusOr<std::vector<TaskRecord>> ListTasks();

  // The event log. AppendEvent assigns the next sequence number (monotonic,
  // never reused, also across restarts and trims), stores it, trims the log
  // to max_events and returns the seq.
  absl::StatusOr<uint64_t> AppendEvent(EventRecord& e);
  // Events with seq > after_seq, ascending, at most `limit`.
  absl::StatusOr<std::vector<EventRecord>> EventsAfter(uint64_t after_seq, size_t limit);
  // The oldest seq still in the log (0 if empty) and the newest ever assigned.
  absl::StatusOr<uint64_t> FirstEventSeq();
  uint64_t LastEventSeq() const { return last_seq_; }

 private:
  explicit Store(sqlite3* db, uint64_t max_events) : db_(db), max_events_(max_events) {}
  // Creates namespace `name` (no labels) unless it exists.
  absl::Status EnsureNamespace(const std::string& name);
  // last_seq_ from the meta table.
  absl::Status LoadLastEventSeq();

  sqlite3* db_;
  uint64_t max_events_;
  uint64_t last_seq_ = 0;
  int transaction_depth_ = 0;
};

}  // namespace berth::supervisor
