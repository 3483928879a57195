// Recovery after a restart (or a crash): the database says what should
// exist, the shims say what does. Every shim is asked at once (no shim can
// hold up another: each has a short deadline); exits that happened while
// berthd was down are recorded with their real status and time, in the
// order they happened; shims that are gone are cleaned up with their delete
// command; shims without a record (a crash in the middle of a create) are
// deleted.
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/log.h"
#include "lib/pb_timestamp.h"
#include "lib/proc.h"
#include "lib/shim_api.h"
#include "supervisor/daemon/engine.h"

namespace berth::supervisor {

namespace fs = std::filesystem;
namespace v2 = containerd::task::v2;

namespace {

TaskStatus FromShim(containerd::v1::types::Status s) {
  switch (s) {
    case containerd::v1::types::CREATED:
      return TaskStatus::kCreated;
    case containerd::v1::types::RUNNING:
      return TaskStatus::kRunning;
    case containerd::v1::types::STOPPED:
      return TaskStatus::kStopped;
    case containerd::v1::types::PAUSED:
      return TaskStatus::kPaused;
    default:
      return TaskStatus::kUnknown;
  }
}

}  // namespace

void Engine::Recover(std::function<void()> done) {
  recovery_.started_at = absl::Now();
  recovery_.containers = static_cast<uint32_t>(containers_.size());
  std::vector<std::pair<std::string, std::string>> live;
  for (const auto& [key, c] : containers_) {
    if (c.task && !c.task->shim_gone) live.emplace_back(c.record.ns, c.record.id);
  }
  // One for the orphan sweep, one per live task.
  auto remaining = std::make_shared<size_t>(live.size() + 1);
  auto one_done = [this, remaining, done] {
    if (--*remaining > 0) return;
    // Exits that happened while berthd was down, in the order they happened.
    std::sort(
        recovered_exits_.begin(), recovered_exits_.end(),
        [](const RecoveredExit& a, const RecoveredExit& b) { return a.exited_at < b.exited_at; });
    for (const RecoveredExit& e : recovered_exits_) {
      if (RecordExit(e.ns, e.id, "", e.pid, e.exit_status, e.exited_at)) ++recovery_.exited;
    }
    recovered_exits_.clear();
    recovering_ = false;
    // What the shims forwarded meanwhile (their queued events): duplicates
    // of what State said are dropped by RecordExit.
    auto held = std::move(held_events_);
    held_events_.clear();
    for (auto& [envelope, ack] : held) OnShimEvent(envelope, std::move(ack));
    recovery_.duration = absl::Now() - recovery_.started_at;
    log::Info(absl::StrCat("recovered ", recovery_.containers, " containers in ",
                           absl::FormatDuration(recovery_.duration), ": ", recovery_.reconnected,
                           " shims reconnected, ", recovery_.exited, " exits while down, ",
                           recovery_.gone, " shims gone, ", recovery_.orphans, " orphans removed, ",
                           recovery_.unknown, " not answering"));
    done();
  };
  CleanOrphans(one_done);
  for (const auto& [ns, id] : live) RecoverTask(ns, id, one_done);
}

void Engine::MarkShimGone(const std::string& ns, const std::string& id,
                          const v2::DeleteResponse* deleted) {
  auto it = containers_.find(Key(ns, id));
  if (it == containers_.end() || !it->second.task) return;
  Task* t = it->second.task.get();
  t->shim_gone = true;
  t->client.reset();
  t->record.shim_address.clear();
  if (!t->init.exited()) {
    // What the shim's delete reports (137 and now: the container died with it).
    RecoveredExit e{ns, id, t->init.pid, deleted ? deleted->exit_status() : 128 + SIGKILL,
                    deleted ? FromTimestamp(deleted->exited_at()) : absl::Now()};
    if (recovering_) {
      recovered_exits_.push_back(e);
    } else {
      RecordExit(ns, id, "", e.pid, e.exit_status, e.exited_at);
    }
  }
  absl::Status st = store_->PutTask(Persisted(*t));
  if (!st.ok()) log::Error(absl::StrCat("record shim of ", id, " gone: ", st.message()));
}

void Engine::RecoverTask(const std::string& ns, const std::string& id, std::function<void()> done) {
  Task* t = containers_.at(Key(ns, id)).task.get();
  auto gone = [this, ns, id, done](const absl::Status& why) {
    log::Warn(absl::StrCat("recover ", ns, "/", id, ": ", why.message(), "; cleaning up its shim"));
    ++recovery_.gone;
    CleanupShim(ns, id, BundleDir(ns, id),
                [this, ns, id, done](absl::StatusOr<v2::DeleteResponse> r) {
                  MarkShimGone(ns, id, r.ok() ? &*r : nullptr);
                  done();
                });
  };
  absl::StatusOr<ttrpc::TaskClient*> client = Client(t);
  if (!client.ok()) return gone(client.status());
  (*client)->set_timeout(config_.recovery_timeout);
  v2::StateRequest req;
  req.set_id(id);
  (*client)->State(req, [this, ns, id, done, gone](absl::StatusOr<v2::StateResponse> r) {
    auto it = containers_.find(Key(ns, id));
    if (it == containers_.end() || !it->second.task) return done();
    Task* t = it->second.task.get();
    if (t->client) t->client->set_timeout(config_.shim_timeout);
    if (!r.ok()) {
      if (r.status().code() == absl::StatusCode::kDeadlineExceeded) {
        ++recovery_.unknown;
        NoteShimAnswer(ns, id, r.status());
        return done();
      }
      return gone(r.status());
    }
    ++recovery_.reconnected;
    TaskStatus now = FromShim(r->status());
    if (now == TaskStatus::kStopped) {
      if (!t->init.exited()) {
        recovered_exits_.push_back(
            {ns, id, r->pid(), r->exit_status(), FromTimestamp(r->exited_at())});
      }
    } else if (now != TaskStatus::kUnknown) {
      t->init.status = now;
      t->init.pid = r->pid();
    }
    // Attached stdio: take the FIFOs the shim still writes to.
    if (t->init.stdio.attach && !t->init.io) {
      absl::StatusOr<std::unique_ptr<ProcessStdio>> io =
          OpenStdio(t->record.bundle, "init", t->init.stdio, /*existing=*/true);
      if (io.ok()) {
        t->init.io = std::move(*io);
      } else {
        log::Warn(absl::StrCat("recover ", id, ": stdio: ", io.status().message()));
      }
    }
    done();
  });
}

void Engine::CleanOrphans(std::function<void()> done) {
  // Bundles on disk that no task record claims.
  std::vector<std::pair<std::string, std::string>> orphans;
  std::error_code ec;
  for (const auto& ns_dir : fs::directory_iterator(config_.bundles_dir(), ec)) {
    if (!ns_dir.is_directory()) continue;
    std::string ns = ns_dir.path().filename();
    for (const auto& dir : fs::directory_iterator(ns_dir.path(), ec)) {
      std::string id = dir.path().filename();
      auto it = containers_.find(Key(ns, id));
      bool claimed = it != containers_.end() && it->second.task && !it->second.task->shim_gone;
      if (!claimed) orphans.emplace_back(ns, id);
    }
  }
  if (orphans.empty()) return done();
  auto remaining = std::make_shared<size_t>(orphans.size());
  for (const auto& [ns, id] : orphans) {
    log::Warn(absl::StrCat("bundle ", ns, "/", id,
                           " has no task record (a create interrupted by a crash): removing it"));
    ++recovery_.orphans;
    CleanupShim(ns, id, BundleDir(ns, id), [remaining, done](auto) {
      if (--*remaining == 0) done();
    });
  }
}

}  // namespace berth::supervisor
