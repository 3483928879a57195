// Flags shared by `create` and `run`.
#pragma once

#include "runtime/cli/flags.h"
#include "runtime/container/create.h"

namespace berth::cli {

void AddCreateFlags(FlagSet& flags, container::CreateOptions& o);

}  // namespace berth::cli
