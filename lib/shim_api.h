// The contract between a shim and whoever drives it (containerd, berthd, the
// test tools): ttrpc service names and the files a shim keeps in its bundle.
// Spelled once here.
#pragma once

namespace berth::shim_api {

// ttrpc services.
inline constexpr char kTaskService[] = "containerd.task.v2.Task";
inline constexpr char kEventsService[] = "containerd.services.events.ttrpc.v1.Events";
inline constexpr char kForwardMethod[] = "Forward";

// The runtime options' type (containerd.runc.v1.Options, as runc's shim takes).
inline constexpr char kRuncOptionsType[] = "containerd.runc.v1.Options";

// Files in the bundle directory.
inline constexpr char kAddressFile[] = "address";     // the shim's ttrpc address
inline constexpr char kShimPidFile[] = "shim.pid";    // the serving shim's pid
inline constexpr char kInitPidFile[] = "init.pid";    // the container init's pid
inline constexpr char kLogFifo[] = "log";             // the shim's own log (FIFO or file)
inline constexpr char kRootfsDir[] = "rootfs";        // where Create mounts the rootfs
inline constexpr char kConfigFile[] = "config.json";  // the runtime spec

}  // namespace berth::shim_api
