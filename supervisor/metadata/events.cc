// The event log: seq is the key, assigned here, never reused (the newest one
// is kept in `meta`, so it survives the log being trimmed to nothing).
#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "supervisor/metadata/sqlite_util.h"
#include "supervisor/metadata/store.h"

namespace berth::supervisor {
namespace {

constexpr char kLastSeqKey[] = "last_event_seq";

// sqlite integers are signed; seqs and limits beyond INT64_MAX clamp.
int64_t ClampToInt64(uint64_t v) {
  return static_cast<int64_t>(
      std::min<uint64_t>(v, static_cast<uint64_t>(std::numeric_limits<int64_t>::max())));
}

}  // namespace

absl::Status Store::LoadLastEventSeq() {
  BERTH_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      sqlite::Statement::Prepare(db_,
                                 // max() with the log itself: belt and braces should meta ever lag.
                                 "SELECT max(coalesce((SELECT value FROM meta WHERE key = ?1), 0), "
                                 "coalesce((SELECT max(seq) FROM events), 0))",
                                 "read the last event seq"));
  stmt.BindText(1, kLastSeqKey);
  BERTH_ASSIGN_OR_RETURN(bool row, stmt.Step());
  last_seq_ = row ? static_cast<uint64_t>(stmt.Int(0)) : 0;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Store::AppendEvent(EventRecord& e) {
  uint64_t seq = 0;
  absl::Status status = Transaction([&]() -> absl::Status {
    seq = last_seq_ + 1;
    const std::string op = absl::StrCat("append event ", seq, " (", e.topic, ")");
    BERTH_ASSIGN_OR_RETURN(
        sqlite::Statement insert,
        sqlite::Statement::Prepare(
            db_,
            "INSERT INTO events (seq, timestamp, ns, topic, container_id, exec_id, pid, "
            "exit_status, exited_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            op));
    insert.BindInt(1, ClampToInt64(seq))
        .BindTime(2, e.timestamp)
        .BindText(3, e.ns)
        .BindText(4, e.topic)
        .BindText(5, e.container_id)
        .BindText(6, e.exec_id)
        .BindInt(7, e.pid)
        .BindInt(8, e.exit_status)
        .BindTime(9, e.exited_at);
    BERTH_RETURN_IF_ERROR(insert.Run());

    BERTH_ASSIGN_OR_RETURN(
        sqlite::Statement meta,
        sqlite::Statement::Prepare(db_,
                                   "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                   op));
    meta.BindText(1, kLastSeqKey).BindInt(2, ClampToInt64(seq));
    BERTH_RETURN_IF_ERROR(meta.Run());

    if (seq > max_events_) {
      BERTH_ASSIGN_OR_RETURN(
          sqlite::Statement trim,
          sqlite::Statement::Prepare(db_, "DELETE FROM events WHERE seq <= ?1",
                                     absl::StrCat("trim the event log to ", max_events_)));
      trim.BindInt(1, ClampToInt64(seq - max_events_));
      BERTH_RETURN_IF_ERROR(trim.Run());
    }
    last_seq_ = seq;  // Transaction() restores it if this is rolled back
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  e.seq = seq;
  return seq;
}

absl::StatusOr<std::vector<EventRecord>> Store::EventsAfter(uint64_t after_seq, size_t limit) {
  std::vector<EventRecord> out;
  if (limit == 0) return out;
  BERTH_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      sqlite::Statement::Prepare(
          db_,
          "SELECT seq, timestamp, ns, topic, container_id, exec_id, pid, exit_status, "
          "exited_at FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
          absl::StrCat("read events after ", after_seq)));
  stmt.BindInt(1, ClampToInt64(after_seq)).BindInt(2, ClampToInt64(limit));
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    EventRecord e;
    e.seq = static_cast<uint64_t>(stmt.Int(0));
    e.timestamp = stmt.Time(1);
    e.ns = stmt.Text(2);
    e.topic = stmt.Text(3);
    e.container_id = stmt.Text(4);
    e.exec_id = stmt.Text(5);
    e.pid = stmt.Uint32(6);
    e.exit_status = stmt.Uint32(7);
    e.exited_at = stmt.Time(8);
    out.push_back(std::move(e));
  }
}

absl::StatusOr<uint64_t> Store::FirstEventSeq() {
  BERTH_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                         sqlite::Statement::Prepare(db_, "SELECT coalesce(min(seq), 0) FROM events",
                                                    "read the first event seq"));
  BERTH_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? static_cast<uint64_t>(stmt.Int(0)) : 0;
}

}  // namespace berth::supervisor
