// The tasks table: at most one task per container, removed with it.
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "supervisor/metadata/sqlite_util.h"
#include "supervisor/metadata/store.h"

namespace berth::supervisor {
namespace {

TaskStatus StatusFromInt(int64_t v) {
  switch (v) {
    case static_cast<int64_t>(TaskStatus::kCreated):
      return TaskStatus::kCreated;
    case static_cast<int64_t>(TaskStatus::kRunning):
      return TaskStatus::kRunning;
    case static_cast<int64_t>(TaskStatus::kStopped):
      return TaskStatus::kStopped;
    case static_cast<int64_t>(TaskStatus::kPaused):
      return TaskStatus::kPaused;
    default:
      return TaskStatus::kUnknown;
  }
}

TaskRecord ReadTask(const sqlite::Statement& stmt) {
  TaskRecord t;
  t.ns = stmt.Text(0);
  t.container_id = stmt.Text(1);
  t.status = StatusFromInt(stmt.Int(2));
  t.pid = stmt.Uint32(3);
  t.shim_pid = stmt.Uint32(4);
  t.shim_address = stmt.Text(5);
  t.bundle = stmt.Text(6);
  t.attach = stmt.Bool(7);
  t.stdin_open = stmt.Bool(8);
  t.terminal = stmt.Bool(9);
  t.exit_status = stmt.Uint32(10);
  t.exited_at = stmt.Time(11);
  t.created_at = stmt.Time(12);
  t.started_at = stmt.Time(13);
  return t;
}

}  // namespace

absl::Status Store::PutTask(const TaskRecord& t) {
  return Transaction([&]() -> absl::Status {
    const std::string op =
        absl::StrCat("store task of container ", t.container_id, " in namespace ", t.ns);
    // Checked first for a message that names the container; the foreign key
    // would refuse the row too.
    BERTH_ASSIGN_OR_RETURN(
        sqlite::Statement exists,
        sqlite::Statement::Prepare(db_, "SELECT 1 FROM containers WHERE ns = ?1 AND id = ?2", op));
    exists.BindText(1, t.ns).BindText(2, t.container_id);
    BERTH_ASSIGN_OR_RETURN(bool found, exists.Step());
    if (!found) {
      return absl::NotFoundError(
          absl::StrCat("container ", t.container_id, " not found in namespace ", t.ns));
    }
    BERTH_ASSIGN_OR_RETURN(
        sqlite::Statement stmt,
        sqlite::Statement::Prepare(
            db_,
            "INSERT INTO tasks (ns, container_id, status, pid, shim_pid, shim_address, bundle, "
            "attach, stdin_open, terminal, exit_status, exited_at, created_at, started_at) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
            "ON CONFLICT (ns, container_id) DO UPDATE SET status = excluded.status, "
            "pid = excluded.pid, shim_pid = excluded.shim_pid, "
            "shim_address = excluded.shim_address, bundle = excluded.bundle, "
            "attach = excluded.attach, stdin_open = excluded.stdin_open, "
            "terminal = excluded.terminal, exit_status = excluded.exit_status, "
            "exited_at = excluded.exited_at, created_at = excluded.created_at, "
            "started_at = excluded.started_at",
            op));
    stmt.BindText(1, t.ns)
        .BindText(2, t.container_id)
        .BindInt(3, static_cast<int64_t>(t.status))
        .BindInt(4, t.pid)
        .BindInt(5, t.shim_pid)
        .BindText(6, t.shim_address)
        .BindText(7, t.bundle)
        .BindBool(8, t.attach)
        .BindBool(9, t.stdin_open)
        .BindBool(10, t.terminal)
        .BindInt(11, t.exit_status)
        .BindTime(12, t.exited_at)
        .BindTime(13, t.created_at)
        .BindTime(14, t.started_at);
    return stmt.Run();
  });
}

absl::Status Store::DeleteTask(const std::string& ns, const std::string& container_id) {
  return Transaction([&]() -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(
        sqlite::Statement stmt,
        sqlite::Statement::Prepare(
            db_, "DELETE FROM tasks WHERE ns = ?1 AND container_id = ?2",
            absl::StrCat("delete task of container ", container_id, " in namespace ", ns)));
    stmt.BindText(1, ns).BindText(2, container_id);
    return stmt.Run();
  });
}

absl::StatusOr<std::vector<TaskRecord>> Store::ListTasks() {
  BERTH_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      sqlite::Statement::Prepare(
          db_,
          "SELECT ns, container_id, status, pid, shim_pid, shim_address, bundle, attach, "
          "stdin_open, terminal, exit_status, exited_at, created_at, started_at FROM tasks "
          "ORDER BY ns, container_id",
          "list tasks"));
  std::vector<TaskRecord> out;
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.push_back(ReadTask(stmt));
  }
}

}  // namespace berth::supervisor
