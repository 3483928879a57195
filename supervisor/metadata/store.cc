// Opening the database (pragmas, schema) and transactions. The tables live in
// namespaces.cc, containers.cc, tasks.cc and events.cc.
#include "supervisor/metadata/store.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "supervisor/metadata/schema.h"
#include "supervisor/metadata/sqlite_util.h"

namespace berth::supervisor {
namespace {

// How long a statement waits for another connection's lock (berthctl
// reading, a backup) before failing with UNAVAILABLE.
constexpr int kBusyTimeoutMs = 5000;

absl::Status SetPragmas(sqlite3* db) {
  // journal_mode answers with the mode in effect; anything but "wal" (e.g. a
  // file system without shared memory) is refused rather than run slower
  // and less safely than designed.
  absl::StatusOr<sqlite::Statement> wal =
      sqlite::Statement::Prepare(db, "PRAGMA journal_mode = WAL", "set journal_mode=WAL");
  if (!wal.ok()) return wal.status();
  absl::StatusOr<bool> row = wal->Step();
  if (!row.ok()) return row.status();
  std::string mode = *row ? wal->Text(0) : "";
  if (mode != "wal") {
    return absl::FailedPreconditionError(
        absl::StrCat("journal_mode=WAL not accepted (mode is \"", mode, "\")"));
  }
  BERTH_RETURN_IF_ERROR(sqlite::Exec(db, "PRAGMA synchronous = FULL", "set synchronous=FULL"));
  BERTH_RETURN_IF_ERROR(sqlite::Exec(db, "PRAGMA foreign_keys = ON", "set foreign_keys=ON"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path, uint64_t max_events) {
  const std::string what = absl::StrCat("open metadata database ", path);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
      nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = sqlite::Error(db, rc, what);
    sqlite3_close_v2(db);  // a handle is returned even on failure
    return status;
  }
  std::unique_ptr<Store> store(new Store(db, max_events));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  BERTH_RETURN_IF_ERROR(Annotate(SetPragmas(db), what));
  BERTH_RETURN_IF_ERROR(Annotate(MigrateSchema(db, path), what));
  BERTH_RETURN_IF_ERROR(Annotate(store->EnsureNamespace("default"), what));
  BERTH_RETURN_IF_ERROR(Annotate(store->LoadLastEventSeq(), what));
  return store;
}

Store::~Store() { sqlite3_close_v2(db_); }

absl::Status Store::Transaction(const std::function<absl::Status()>& body) {
  const bool outer = transaction_depth_ == 0;
  if (!outer && sqlite3_get_autocommit(db_) != 0) {
    // sqlite aborted the enclosing transaction after an I/O error or a full
    // disk; running on would commit statement by statement.
    return absl::InternalError(
        "metadata transaction: the enclosing transaction was rolled back after an earlier error");
  }
  // A nested call joins the outer transaction through a savepoint: its
  // changes commit with the outer one, and its failure undoes only its own.
  BERTH_RETURN_IF_ERROR(sqlite::Exec(db_, outer ? "BEGIN IMMEDIATE" : "SAVEPOINT nested",
                                     "begin metadata transaction"));
  const uint64_t saved_last_seq = last_seq_;
  ++transaction_depth_;
  absl::Status status = body();
  --transaction_depth_;
  if (status.ok()) {
    status = sqlite::Exec(db_, outer ? "COMMIT" : "RELEASE nested", "commit metadata transaction");
    if (status.ok()) return status;
  }
  // The rolled-back events were never stored: their seqs are free again.
  last_seq_ = saved_last_seq;
  if (sqlite3_get_autocommit(db_) != 0) return status;  // sqlite already rolled back
  absl::Status rollback;
  if (outer) {
    rollback = sqlite::Exec(db_, "ROLLBACK", "roll back metadata transaction");
  } else {
    rollback = sqlite::Exec(db_, "ROLLBACK TO nested", "roll back nested metadata transaction");
    if (rollback.ok()) rollback = sqlite::Exec(db_, "RELEASE nested", "release savepoint");
  }
  if (!rollback.ok()) {
    return absl::Status(status.code(), absl::StrCat(status.message(), "; ", rollback.message()));
  }
  return status;
}

}  // namespace berth::supervisor
