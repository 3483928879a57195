#include "runtime/linux/loopback.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <unistd.h>

#include "lib/errors.h"

namespace berth::linux_ns {

absl::Status BringUpLoopback() {
  struct mnl_socket* nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (nl == nullptr) return ErrnoError("open rtnetlink socket");
  absl::Status result;
  do {
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
      result = ErrnoError("bind rtnetlink socket");
      break;
    }
    char buf[8192];  // MNL_SOCKET_BUFFER_SIZE is a runtime value
    struct nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWLINK;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = 1;
    auto* ifm =
        static_cast<struct ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg)));
    ifm->ifi_family = AF_UNSPEC;
    ifm->ifi_index = static_cast<int>(::if_nametoindex("lo"));
    ifm->ifi_flags = IFF_UP;
    ifm->ifi_change = IFF_UP;
    if (ifm->ifi_index == 0) {
      result = ErrnoError("find interface lo");
      break;
    }
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
      result = ErrnoError("send RTM_NEWLINK for lo");
      break;
    }
    ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
    if (n < 0 || mnl_cb_run(buf, static_cast<size_t>(n), 1, mnl_socket_get_portid(nl), nullptr,
                            nullptr) < 0) {
      result = ErrnoError("bring up lo");
    }
  } while (false);
  mnl_socket_close(nl);
  return result;
}

}  // namespace berth::linux_ns
