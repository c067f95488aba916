#ifndef CWEFTLINUX_H
#define CWEFTLINUX_H
// Linux kernel headers that Swift's Glibc module does not expose: rtnetlink and friends.
#include <sys/types.h>
#include <sys/socket.h>
// glibc's in6_addr/sockaddr_in6 first, so <linux/in6.h> (via if_bridge.h) does not define a second, conflicting copy.
#include <netinet/in.h>
#include <sys/mount.h>
#include <sched.h>
// CLONE_NEWNET without _GNU_SOURCE (defining that here would make glibc types differ from other modules').
#include <linux/sched.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_bridge.h>
#include <linux/neighbour.h>
#include <linux/veth.h>
#include <linux/net_namespace.h>

// Macros Swift cannot import.
static inline int weft_nlmsg_align(int len) { return NLMSG_ALIGN(len); }
static inline int weft_rta_align(int len) { return RTA_ALIGN(len); }
static inline int weft_clone_newnet(void) { return CLONE_NEWNET; }
static inline unsigned long weft_ms_bind(void) { return MS_BIND; }
static inline unsigned long weft_ms_rec(void) { return MS_REC; }
static inline unsigned long weft_ms_slave(void) { return MS_SLAVE; }
static inline unsigned long weft_ms_shared(void) { return MS_SHARED; }
static inline int weft_mnt_detach(void) { return MNT_DETACH; }

// setns(2) and unshare(2) are GNU extensions that Swift's Glibc module does not declare.
#include <unistd.h>
#include <sys/syscall.h>
static inline int weft_setns(int fd, int nstype) { return (int)syscall(SYS_setns, fd, nstype); }
static inline int weft_unshare(int flags) { return (int)syscall(SYS_unshare, flags); }

#endif
