// setns, unshare, sethostname, pipe2 and F_DUPFD_CLOEXEC are GNU extensions. Defined here, not in the header,
// so that only this file sees them (see the header's comment on CLONE_NEWNET).
#define _GNU_SOURCE
#include "CWeftLinux.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#ifndef SYS_close_range
#define SYS_close_range 436  // the same number on every architecture (Linux 5.9)
#endif

int weft_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

const char *weft_spawn_step_name(int step) {
    switch (step) {
    case WEFT_SPAWN_STEP_PIPE: return "pipe";
    case WEFT_SPAWN_STEP_FORK: return "fork";
    case WEFT_SPAWN_STEP_REPORT: return "read child status";
    case WEFT_SPAWN_STEP_SETSID: return "setsid";
    case WEFT_SPAWN_STEP_SETNS: return "setns";
    case WEFT_SPAWN_STEP_UNSHARE_MOUNT: return "unshare(CLONE_NEWNS)";
    case WEFT_SPAWN_STEP_MOUNT_SLAVE: return "mount / MS_REC|MS_SLAVE";
    case WEFT_SPAWN_STEP_MOUNT_RESOLV_CONF: return "mount /etc/resolv.conf";
    case WEFT_SPAWN_STEP_MOUNT_HOSTS: return "mount /etc/hosts";
    case WEFT_SPAWN_STEP_UNSHARE_UTS: return "unshare(CLONE_NEWUTS)";
    case WEFT_SPAWN_STEP_SETHOSTNAME: return "sethostname";
    case WEFT_SPAWN_STEP_CHDIR: return "chdir";
    case WEFT_SPAWN_STEP_STDIO: return "set up standard streams";
    case WEFT_SPAWN_STEP_EXECVE: return "execve";
    default: return "spawn";
    }
}

// What a child that failed before exec writes to the status pipe. Smaller than PIPE_BUF, so it arrives whole.
struct weft_spawn_report {
    int step;
    int err;
};

// Child only: reports the failed step with the current errno and exits.
__attribute__((noreturn)) static void child_fail(int report_fd, int step) {
    struct weft_spawn_report report = {step, errno};
    while (write(report_fd, &report, sizeof report) < 0 && errno == EINTR) {
    }
    _exit(127);
}

// Child only: closes the descriptors first...last, with close_range or, before Linux 5.9, one by one up to
// open_max (the parent's RLIMIT_NOFILE).
static void child_close_range(int first, int last, int open_max) {
    if (first > last) return;
    if (syscall(SYS_close_range, (unsigned)first, (unsigned)last, 0) == 0) return;
    for (int fd = first; fd <= last && fd < open_max; fd++) close(fd);
}

// The size of the kernel's signal set, which rt_sigaction checks: _NSIG - 1 bits in whole longs.
#define WEFT_KERNEL_SIGSET_BYTES (((NSIG - 1 + 8 * sizeof(long) - 1) / (8 * sizeof(long))) * sizeof(long))

// Child only: sets `sig` to SIG_DFL with the raw system call. glibc's sigaction refuses the two signals glibc
// reserves (32 and 33), yet a parent may have them ignored, and exec would pass that on to the program. An
// all-zero kernel sigaction (larger than any architecture's) is SIG_DFL, no flags, empty mask everywhere.
static void child_default_signal(int sig) {
    const unsigned long kernel_action[8] = {0};
    syscall(SYS_rt_sigaction, sig, kernel_action, NULL, WEFT_KERNEL_SIGSET_BYTES);
}

// Child only: everything between fork and execve. Async-signal-safe calls only: no malloc, no stdio, no locks.
__attribute__((noreturn)) static void child_main(const char *path, char *const argv[], char *const envp[],
                                                 const struct weft_spawn_attr *attr, int report_fd, int open_max) {
    // Default dispositions, then an empty mask (the parent blocked everything around fork, so no handler of
    // the parent's can run here). SIGKILL and SIGSTOP are always at their defaults.
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) child_default_signal(sig);
    }
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);

    if (attr->new_session && setsid() < 0) child_fail(report_fd, WEFT_SPAWN_STEP_SETSID);
    if (attr->netns_fd >= 0 && setns(attr->netns_fd, CLONE_NEWNET) < 0) child_fail(report_fd, WEFT_SPAWN_STEP_SETNS);
    if (attr->resolv_conf || attr->hosts_file) {
        // A mount namespace of our own whose mounts do not propagate back to the machine.
        if (unshare(CLONE_NEWNS) < 0) child_fail(report_fd, WEFT_SPAWN_STEP_UNSHARE_MOUNT);
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) child_fail(report_fd, WEFT_SPAWN_STEP_MOUNT_SLAVE);
        if (attr->resolv_conf && mount(attr->resolv_conf, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0)
            child_fail(report_fd, WEFT_SPAWN_STEP_MOUNT_RESOLV_CONF);
        if (attr->hosts_file && mount(attr->hosts_file, "/etc/hosts", NULL, MS_BIND, NULL) < 0)
            child_fail(report_fd, WEFT_SPAWN_STEP_MOUNT_HOSTS);
    }
    if (attr->hostname) {
        if (unshare(CLONE_NEWUTS) < 0) child_fail(report_fd, WEFT_SPAWN_STEP_UNSHARE_UTS);
        if (sethostname(attr->hostname, strlen(attr->hostname)) < 0)
            child_fail(report_fd, WEFT_SPAWN_STEP_SETHOSTNAME);
    }
    if (attr->working_dir && chdir(attr->working_dir) < 0) child_fail(report_fd, WEFT_SPAWN_STEP_CHDIR);

    // Copy every source above 2 first, so that a source that is itself 0, 1 or 2 (e.g. the parent's stdout
    // given as the child's stderr) is not overwritten before it is used; then place the copies.
    const int sources[3] = {attr->stdin_fd, attr->stdout_fd, attr->stderr_fd};
    int copies[3];
    for (int i = 0; i < 3; i++) {
        int source = sources[i];
        if (source < 0 && (source = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
            child_fail(report_fd, WEFT_SPAWN_STEP_STDIO);
        if ((copies[i] = fcntl(source, F_DUPFD_CLOEXEC, 3)) < 0) child_fail(report_fd, WEFT_SPAWN_STEP_STDIO);
    }
    for (int i = 0; i < 3; i++) {
        if (dup2(copies[i], i) < 0) child_fail(report_fd, WEFT_SPAWN_STEP_STDIO);
    }
    // Everything else goes, except the status pipe, which is close-on-exec.
    child_close_range(3, report_fd - 1, open_max);
    child_close_range(report_fd + 1, INT_MAX, open_max);

    execve(path, argv, envp);
    child_fail(report_fd, WEFT_SPAWN_STEP_EXECVE);
}

pid_t weft_spawn(const char *path, char *const argv[], char *const envp[], const struct weft_spawn_attr *attr,
                 int *failed_step, int *failed_errno) {
    *failed_step = 0;
    *failed_errno = 0;

    // The status pipe: closed by a successful execve (EOF), or carries a weft_spawn_report. Both ends kept above
    // 2 so that the child's dup2 onto its standard streams cannot hit them (0-2 are free in a daemon).
    int status_pipe[2];
    if (pipe2(status_pipe, O_CLOEXEC) < 0) {
        *failed_step = WEFT_SPAWN_STEP_PIPE;
        *failed_errno = errno;
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        if (status_pipe[i] >= 3) continue;
        int moved = fcntl(status_pipe[i], F_DUPFD_CLOEXEC, 3);
        int saved = errno;
        close(status_pipe[i]);
        status_pipe[i] = moved;
        if (moved < 0) {
            if (status_pipe[1 - i] >= 0) close(status_pipe[1 - i]);
            *failed_step = WEFT_SPAWN_STEP_PIPE;
            *failed_errno = saved;
            return -1;
        }
    }
    long open_max = sysconf(_SC_OPEN_MAX);
    if (open_max <= 0 || open_max > INT_MAX) open_max = 65536;

    // Block every signal around fork: the child must not run one of the parent's handlers before it has reset
    // them all.
    sigset_t all, saved_mask;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved_mask);
    pid_t pid = fork();
    if (pid == 0) child_main(path, argv, envp, attr, status_pipe[1], (int)open_max);
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
    close(status_pipe[1]);
    if (pid < 0) {
        close(status_pipe[0]);
        *failed_step = WEFT_SPAWN_STEP_FORK;
        *failed_errno = fork_errno;
        return -1;
    }

    struct weft_spawn_report report;
    size_t received = 0;
    int read_errno = 0;
    while (received < sizeof report) {
        ssize_t n = read(status_pipe[0], (char *)&report + received, sizeof report - received);
        if (n > 0) {
            received += (size_t)n;
        } else if (n == 0) {
            break;
        } else if (errno != EINTR) {
            read_errno = errno;
            break;
        }
    }
    close(status_pipe[0]);
    if (received == 0 && read_errno == 0) return pid;  // EOF: execve closed the pipe

    if (received == sizeof report) {
        *failed_step = report.step;
        *failed_errno = report.err;
    } else {
        // Cannot tell what the child is doing: make sure it does not run on.
        kill(pid, SIGKILL);
        *failed_step = WEFT_SPAWN_STEP_REPORT;
        *failed_errno = read_errno ? read_errno : EIO;
    }
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    return -1;
}
