// One factory per service file; services.cc collects them.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>

#include <memory>

#include "supervisor/daemon/engine.h"

namespace berth::supervisor {

std::unique_ptr<grpc::Service> MakeContainersService(Engine* engine);
std::unique_ptr<grpc::Service> MakeTasksService(Engine* engine);
std::unique_ptr<grpc::Service> MakeEventsService(Engine* engine);
std::unique_ptr<grpc::Service> MakeNamespacesService(Engine* engine);
std::unique_ptr<grpc::Service> MakeSystemService(Engine* engine);
std::unique_ptr<grpc::Service> MakeImagesService(Engine* engine);

}  // namespace berth::supervisor
