// The per-container state directory ROOT/ID: state.json, the exec fifo, and
// an flock on the directory itself that serialises commands on one container.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/unique_fd.h"
#include "runtime/cgroups/manager.h"
#include "runtime/state/container_state.h"

namespace berth::state {

// Container IDs as runc accepts them: [A-Za-z0-9_+.-]+, not "." or "..".
absl::Status ValidateId(absl::string_view id);

class StateDir {
 public:
  // Creates ROOT/ID (and ROOT) exclusively and locks it. A duplicate ID gives
  // "container with given ID already exists".
  static absl::StatusOr<StateDir> Create(const std::string& root, const std::string& id);
  // Opens and locks an existing ROOT/ID; "container does not exist" otherwise.
  static absl::StatusOr<StateDir> Open(const std::string& root, const std::string& id);
  // Opens without locking, for read-only commands (state, list).
  static absl::StatusOr<StateDir> OpenUnlocked(const std::string& root, const std::string& id);

  const std::string& path() const { return path_; }
  const std::string& id() const { return id_; }
  int fd() const { return fd_.get(); }
  std::string fifo_path() const { return path_ + "/exec.fifo"; }
  bool HasFifo() const;

  absl::Status WriteState(const ContainerState& s) const;
  // NotFound when state.json does not exist (a create that died half-way).
  absl::StatusOr<ContainerState> ReadState() const;
  // The user who created the container (owner of the directory), by name.
  std::string Owner() const;
  // Removes every file in the directory and the directory itself.
  absl::Status Remove();

 private:
  StateDir(std::string path, std::string id, UniqueFd fd)
      : path_(std::move(path)), id_(std::move(id)), fd_(std::move(fd)) {}
  std::string path_;
  std::string id_;
  UniqueFd fd_;
};

// The cgroup manager of a container, from what state.json recorded; null when
// it runs without cgroups (rootless).
std::unique_ptr<cgroups::Manager> LoadCgroup(const ContainerState& s);

// IDs of the containers under ROOT, sorted; empty if ROOT does not exist.
std::vector<std::string> ListIds(const std::string& root);

// Status from the live system: stopped if the init is gone, a zombie or a
// different process (start time); created while the exec fifo exists.
Status ComputeStatus(const StateDir& dir, const ContainerState& s);

}  // namespace berth::state
