// berthd's gRPC services: each one a thin adapter from berth.v1 messages to
// the engine's calls (which run on the engine's thread) and back.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>

#include <memory>
#include <vector>

#include "supervisor/daemon/engine.h"

namespace berth::supervisor {

std::vector<std::unique_ptr<grpc::Service>> MakeServices(Engine* engine);

}  // namespace berth::supervisor
