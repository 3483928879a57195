#include "supervisor/services/services.h"

#include "supervisor/services/service_list.h"

namespace berth::supervisor {

std::vector<std::unique_ptr<grpc::Service>> MakeServices(Engine* engine) {
  std::vector<std::unique_ptr<grpc::Service>> services;
  services.push_back(MakeContainersService(engine));
  services.push_back(MakeTasksService(engine));
  services.push_back(MakeEventsService(engine));
  services.push_back(MakeNamespacesService(engine));
  services.push_back(MakeSystemService(engine));
  services.push_back(MakeImagesService(engine));
  return services;
}

}  // namespace berth::supervisor
