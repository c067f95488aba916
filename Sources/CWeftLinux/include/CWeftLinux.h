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

// recvmmsg/sendmmsg and thread names, which glibc declares only under _GNU_SOURCE: through the system calls.
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <time.h>
struct weft_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};
static inline int weft_recvmmsg(int fd, struct weft_mmsghdr *messages, unsigned int count, int flags,
                                struct timespec *timeout) {
    return (int)syscall(SYS_recvmmsg, fd, messages, count, flags, timeout);
}
static inline int weft_sendmmsg(int fd, struct weft_mmsghdr *messages, unsigned int count, int flags) {
    return (int)syscall(SYS_sendmmsg, fd, messages, count, flags);
}
/// Names the calling thread (at most 15 bytes are kept).
static inline int weft_set_thread_name(const char *name) { return prctl(PR_SET_NAME, name, 0, 0, 0); }

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

// Starting a child process inside namespaces (shim.c). posix_spawn cannot enter a namespace and Swift code must
// not run between fork and exec in a multithreaded process, so the whole child side is C.

/// What `weft_spawn` sets up in the child before `execve`. A descriptor of -1 means "none" (for the standard
/// streams: `/dev/null`); a NULL string means "leave as is".
struct weft_spawn_attr {
    /// An open network namespace file (`/run/netns/NAME`, `/proc/PID/ns/net`) to join with setns, or -1.
    int netns_fd;
    /// Descriptors that become the child's 0, 1 and 2, or -1 for `/dev/null`. The caller keeps ownership.
    int stdin_fd;
    int stdout_fd;
    int stderr_fd;
    /// Non-zero: the child starts a new session (setsid) and so has no controlling terminal.
    int new_session;
    /// A file bind-mounted onto /etc/resolv.conf, or NULL. Either file makes the child unshare its mount
    /// namespace (with propagation from the parent's but not back) first.
    const char *resolv_conf;
    /// A file bind-mounted onto /etc/hosts, or NULL.
    const char *hosts_file;
    /// The hostname in a new UTS namespace of the child's own, or NULL to share the parent's.
    const char *hostname;
    /// The child's working directory, or NULL to inherit the parent's.
    const char *working_dir;
};

/// The steps of `weft_spawn`, reported in `*failed_step`; `weft_spawn_step_name` names them.
enum {
    WEFT_SPAWN_STEP_PIPE = 1,
    WEFT_SPAWN_STEP_FORK,
    WEFT_SPAWN_STEP_REPORT,
    WEFT_SPAWN_STEP_SETSID,
    WEFT_SPAWN_STEP_SETNS,
    WEFT_SPAWN_STEP_UNSHARE_MOUNT,
    WEFT_SPAWN_STEP_MOUNT_SLAVE,
    WEFT_SPAWN_STEP_MOUNT_RESOLV_CONF,
    WEFT_SPAWN_STEP_MOUNT_HOSTS,
    WEFT_SPAWN_STEP_UNSHARE_UTS,
    WEFT_SPAWN_STEP_SETHOSTNAME,
    WEFT_SPAWN_STEP_CHDIR,
    WEFT_SPAWN_STEP_STDIO,
    WEFT_SPAWN_STEP_EXECVE,
};

/// Forks a child that resets its signal mask and dispositions, applies `attr` (in this order: setsid, setns,
/// the private mount namespace and its bind mounts, the UTS namespace and hostname, chdir, the standard
/// streams), closes every other descriptor and executes `path` (no PATH lookup) with `argv` and `envp`.
/// Between fork and exec the child makes only async-signal-safe calls, so any multithreaded parent may call this.
///
/// Returns the child's pid once `execve` has succeeded. On failure returns -1 with `*failed_step` (a
/// `WEFT_SPAWN_STEP_*`) and `*failed_errno` set; a child that failed has been reaped already.
pid_t weft_spawn(const char *path, char *const argv[], char *const envp[], const struct weft_spawn_attr *attr,
                 int *failed_step, int *failed_errno);

/// A short name for a `WEFT_SPAWN_STEP_*` value, e.g. "setns", "mount /etc/resolv.conf".
const char *weft_spawn_step_name(int step);

/// pipe2(fds, O_CLOEXEC): a pipe whose ends are closed on exec (pipe2 is a GNU extension Swift does not see).
int weft_pipe_cloexec(int fds[2]);

#endif
