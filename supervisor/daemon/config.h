// berthd's settings, from its command line, and the paths derived from them.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace berth::supervisor {

struct Config {
  std::string address = "/run/berth/berthd.sock";  // the gRPC socket
  std::string root = "/var/lib/berth";             // persistent: database, containers' upper dirs
  std::string state = "/run/berth";                // volatile: bundles, shim sockets
  std::string shim_binary;           // containerd-shim-berth-v2: beside berthd, else on PATH
  std::string runtime_binary;        // the default OCI runtime: berth beside berthd, else on PATH
  std::string runc_binary = "runc";  // the "runc" runtime's binary
  bool debug = false;
  absl::Duration shim_timeout = absl::Seconds(10);
  absl::Duration recovery_timeout = absl::Seconds(2);  // per shim, all in parallel
  uint64_t max_events = 100000;                        // events kept in the log
  // Pull: registry credentials in docker's config.json format (empty:
  // $DOCKER_CONFIG/config.json or ~/.docker/config.json when there is one),
  // and hosts reached over plain HTTP besides the loopback ones.
  std::string registry_auth;
  std::vector<std::string> insecure_registries;

  std::string database() const { return root + "/berthd.db"; }
  std::string containers_dir() const { return root + "/containers"; }
  std::string bundles_dir() const { return state + "/bundles"; }
  std::string socket_dir() const { return state + "/s"; }
  std::string events_socket() const { return state + "/events.sock"; }
  std::string runtime_root() const { return state + "/runtime"; }
};

}  // namespace berth::supervisor
