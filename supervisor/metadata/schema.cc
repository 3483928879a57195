#include "supervisor/metadata/schema.h"

#include <iterator>

#include "absl/strings/str_cat.h"
#include "supervisor/metadata/sqlite_util.h"

namespace berth::supervisor {
namespace {

// migrations[i] takes a database from version i to version i + 1. Append
// new ones; never edit a released one. Constant SQL only: no values in here.
//
// Times are int64 nanoseconds since the Unix epoch; labels are a JSON object
// of strings; booleans are 0/1. STRICT tables make sqlite check the types.
constexpr const char* kMigrations[] = {
    // 1: the initial schema.
    R"sql(
CREATE TABLE meta (
  key TEXT PRIMARY KEY NOT NULL,
  value ANY
) STRICT;
-- The newest event seq ever assigned: seqs are never reused, even once the
-- log has been trimmed to nothing.
INSERT INTO meta (key, value) VALUES ('last_event_seq', 0);

CREATE TABLE namespaces (
  name TEXT PRIMARY KEY NOT NULL,
  labels TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL
) STRICT;

-- Kubernetes CRI pod sandboxes (not used yet). containers.sandbox_id names
-- one by convention; '' means none, so there is no foreign key.
CREATE TABLE sandboxes (
  ns TEXT NOT NULL REFERENCES namespaces (name),
  id TEXT NOT NULL,
  name TEXT,
  labels TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  PRIMARY KEY (ns, id),
  UNIQUE (ns, name)
) STRICT;

CREATE TABLE containers (
  ns TEXT NOT NULL REFERENCES namespaces (name),
  id TEXT NOT NULL,
  name TEXT,  -- NULL when unnamed, so unnamed containers do not collide
  labels TEXT NOT NULL DEFAULT '{}',
  spec_json TEXT NOT NULL,
  rootfs_path TEXT NOT NULL,
  rootfs_read_only INTEGER NOT NULL CHECK (rootfs_read_only IN (0, 1)),
  runtime TEXT NOT NULL,
  sandbox_id TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (ns, id),
  UNIQUE (ns, name)
) STRICT;
CREATE INDEX containers_by_sandbox ON containers (ns, sandbox_id) WHERE sandbox_id != '';

CREATE TABLE tasks (
  ns TEXT NOT NULL,
  container_id TEXT NOT NULL,
  status INTEGER NOT NULL,
  pid INTEGER NOT NULL,
  shim_pid INTEGER NOT NULL,
  shim_address TEXT NOT NULL,
  bundle TEXT NOT NULL,
  attach INTEGER NOT NULL CHECK (attach IN (0, 1)),
  stdin_open INTEGER NOT NULL CHECK (stdin_open IN (0, 1)),
  terminal INTEGER NOT NULL CHECK (terminal IN (0, 1)),
  exit_status INTEGER NOT NULL,
  exited_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  PRIMARY KEY (ns, container_id),
  FOREIGN KEY (ns, container_id) REFERENCES containers (ns, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  timestamp INTEGER NOT NULL,
  ns TEXT NOT NULL,
  topic TEXT NOT NULL,
  container_id TEXT NOT NULL,
  exec_id TEXT NOT NULL,
  pid INTEGER NOT NULL,
  exit_status INTEGER NOT NULL,
  exited_at INTEGER NOT NULL
) STRICT;
)sql",
    // 2: images. Blobs and layers are shared by every namespace; image names
    // are per namespace. What nothing references is garbage (Store::
    // CollectGarbage), and whatever is on disk without a row here is removed
    // when berthd starts.
    R"sql(
CREATE TABLE blobs (
  digest TEXT PRIMARY KEY NOT NULL,
  size INTEGER NOT NULL,
  media_type TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE layers (
  chain_id TEXT PRIMARY KEY NOT NULL,
  diff_id TEXT NOT NULL,
  size INTEGER NOT NULL,  -- bytes of its files
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE manifests (
  digest TEXT PRIMARY KEY NOT NULL REFERENCES blobs (digest),
  media_type TEXT NOT NULL,
  config_digest TEXT NOT NULL REFERENCES blobs (digest),
  platform TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE manifest_layers (
  manifest_digest TEXT NOT NULL REFERENCES manifests (digest) ON DELETE CASCADE,
  position INTEGER NOT NULL,  -- 0: the base layer
  chain_id TEXT NOT NULL REFERENCES layers (chain_id),
  blob_digest TEXT NOT NULL DEFAULT '',  -- the compressed blob when kept
  PRIMARY KEY (manifest_digest, position)
) STRICT;
CREATE INDEX manifest_layers_by_chain ON manifest_layers (chain_id);

CREATE TABLE images (
  ns TEXT NOT NULL REFERENCES namespaces (name),
  name TEXT NOT NULL,
  manifest_digest TEXT NOT NULL REFERENCES manifests (digest),
  labels TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (ns, name)
) STRICT;

-- The image a container was made from (its rootfs is that manifest's layers).
ALTER TABLE containers ADD COLUMN image TEXT NOT NULL DEFAULT '';
ALTER TABLE containers ADD COLUMN image_digest TEXT NOT NULL DEFAULT '';
)sql",
    // 3: what berthd does for a container besides its spec (a serialized
    // berth.v1.ContainerSettings: log, restart policy, network, mounts,
    // health check), its restart bookkeeping, and named volumes.
    R"sql(
ALTER TABLE containers ADD COLUMN settings BLOB NOT NULL DEFAULT x'';
ALTER TABLE containers ADD COLUMN restart_count INTEGER NOT NULL DEFAULT 0;
-- 1 once a user stopped it (docker's "unless-stopped" and "always" after a
-- daemon restart); 0 again when a user starts it.
ALTER TABLE containers ADD COLUMN stopped_by_user INTEGER NOT NULL DEFAULT 0
  CHECK (stopped_by_user IN (0, 1));

CREATE TABLE volumes (
  ns TEXT NOT NULL REFERENCES namespaces (name),
  name TEXT NOT NULL,
  labels TEXT NOT NULL DEFAULT '{}',
  -- '' for a named volume; the container's id for an anonymous one (removed
  -- with it by rm -v).
  anonymous_for TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  PRIMARY KEY (ns, name)
) STRICT;

-- Which containers mount which volumes (a volume in use is not removed).
CREATE TABLE container_volumes (
  ns TEXT NOT NULL,
  container_id TEXT NOT NULL,
  volume TEXT NOT NULL,
  PRIMARY KEY (ns, container_id, volume),
  FOREIGN KEY (ns, container_id) REFERENCES containers (ns, id) ON DELETE CASCADE,
  FOREIGN KEY (ns, volume) REFERENCES volumes (ns, name)
) STRICT;
CREATE INDEX container_volumes_by_volume ON container_volumes (ns, volume);
)sql",
};

absl::StatusOr<int> UserVersion(sqlite3* db) {
  absl::StatusOr<sqlite::Statement> stmt =
      sqlite::Statement::Prepare(db, "PRAGMA user_version", "read schema version");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row ? static_cast<int>(stmt->Int(0)) : 0;
}

// One migration, inside a transaction begun by the caller.
absl::Status Apply(sqlite3* db, int to_version) {
  // sqlite3_exec runs the several statements of a migration; the text is a
  // constant, so nothing is interpolated into SQL.
  char* message = nullptr;
  int rc = sqlite3_exec(db, kMigrations[to_version - 1], nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    absl::Status status =
        absl::InternalError(absl::StrCat("schema migration to version ", to_version, ": ",
                                         message != nullptr ? message : sqlite3_errstr(rc)));
    sqlite3_free(message);
    return status;
  }
  // PRAGMA takes no parameters; the version is this program's own integer.
  return sqlite::Exec(db, absl::StrCat("PRAGMA user_version = ", to_version),
                      "record schema version");
}

}  // namespace

int LatestSchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

absl::Status MigrateSchema(sqlite3* db, const std::string& path) {
  const int latest = LatestSchemaVersion();
  for (;;) {
    // BEGIN IMMEDIATE before reading the version: another process opening the
    // same file at the same time waits instead of migrating it twice.
    if (absl::Status s = sqlite::Exec(db, "BEGIN IMMEDIATE", "begin schema migration"); !s.ok())
      return s;
    absl::StatusOr<int> version = UserVersion(db);
    absl::Status status = version.status();
    if (status.ok() && *version > latest) {
      status = absl::FailedPreconditionError(absl::StrCat(
          "metadata database ", path, " has schema version ", *version,
          ", newer than this berthd knows (", latest,
          "): it was written by a newer berthd; run that version or restore an older backup"));
    }
    if (status.ok() && *version == latest) return sqlite::Exec(db, "COMMIT", "commit");
    if (status.ok()) status = Apply(db, *version + 1);
    if (status.ok()) status = sqlite::Exec(db, "COMMIT", "commit schema migration");
    if (!status.ok()) {
      if (sqlite3_get_autocommit(db) == 0) sqlite::Exec(db, "ROLLBACK", "rollback").IgnoreError();
      return status;
    }
  }
}

}  // namespace berth::supervisor
