#define _GNU_SOURCE
#include "cshim.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <dirent.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/close_range.h>

int cshim_memfd_create_sealable(const char *name, int cloexec) {
    return memfd_create(name, MFD_ALLOW_SEALING | (cloexec ? MFD_CLOEXEC : 0));
}

int cshim_add_seals(int fd, int seals) { return fcntl(fd, F_ADD_SEALS, seals); }

int cshim_get_seals(int fd) { return fcntl(fd, F_GET_SEALS); }

int cshim_eventfd(unsigned int initval, int nonblock, int cloexec) {
    return eventfd(initval, (nonblock ? EFD_NONBLOCK : 0) | (cloexec ? EFD_CLOEXEC : 0));
}

int cshim_eventfd_read_nowait(int fd, uint64_t *value) {
    struct iovec iov = { .iov_base = value, .iov_len = sizeof *value };
    ssize_t n = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
    if (n < 0 && errno == EOPNOTSUPP) {
        n = read(fd, value, sizeof *value);
    }
    if (n == (ssize_t)sizeof *value) return 1;
    if (n < 0 && errno == EAGAIN) return 0;
    if (n >= 0) { errno = EIO; }
    return -1;
}

sem_t *cshim_sem_create(const char *name, unsigned int mode, unsigned int value) {
    sem_t *s = sem_open(name, O_CREAT | O_EXCL, (mode_t)mode, value);
    return s == SEM_FAILED ? NULL : s;
}

sem_t *cshim_sem_attach(const char *name) {
    sem_t *s = sem_open(name, 0);
    return s == SEM_FAILED ? NULL : s;
}

int cshim_sem_wait_ns(sem_t *sem, int64_t timeout_ns) {
    if (timeout_ns < 0) return sem_wait(sem);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ns / 1000000000;
    deadline.tv_nsec += timeout_ns % 1000000000;
    if (deadline.tv_nsec >= 1000000000) { deadline.tv_sec += 1; deadline.tv_nsec -= 1000000000; }
    return sem_clockwait(sem, CLOCK_MONOTONIC, &deadline);
}

int cshim_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

int cshim_set_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0); }

int cshim_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int cshim_pin_to_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

int cshim_allowed_cpu_count(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    return CPU_COUNT(&set);
}

int cshim_get_affinity(void *mask, size_t size) { return sched_getaffinity(0, size, (cpu_set_t *)mask); }

int cshim_set_affinity(const void *mask, size_t size) { return sched_setaffinity(0, size, (const cpu_set_t *)mask); }

int cshim_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int cshim_cloexec_from(int lowest) {
#ifdef CLOSE_RANGE_CLOEXEC
    if (close_range((unsigned)lowest, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return 0;
#endif
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) return -1;
    int own = dirfd(dir);
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        char *end;
        long fd = strtol(entry->d_name, &end, 10);
        if (*end != '\0' || fd < lowest || fd == own) continue;
        int flags = fcntl((int)fd, F_GETFD);
        if (flags >= 0) fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC);
    }
    closedir(dir);
    return 0;
}

int cshim_signalfd_block(const int *signals, int count) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < count; i++) sigaddset(&set, signals[i]);
    int result = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (result != 0) {
        errno = result;
        return -1;
    }
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int cshim_signalfd_next(int fd) {
    struct signalfd_siginfo info;
    for (;;) {
        ssize_t n = read(fd, &info, sizeof info);
        if (n == (ssize_t)sizeof info) return (int)info.ssi_signo;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return 0;
        if (n >= 0) errno = EIO;
        return -1;
    }
}

int cshim_wifexited(int status) { return WIFEXITED(status); }
int cshim_wexitstatus(int status) { return WEXITSTATUS(status); }
int cshim_wifsignaled(int status) { return WIFSIGNALED(status); }
int cshim_wtermsig(int status) { return WTERMSIG(status); }

ssize_t cshim_getdents64(int fd, void *buffer, size_t length) { return getdents64(fd, buffer, length); }

const char *cshim_errno_name(int errnum) { return strerrorname_np(errnum); }

static void cshim_ignore_signal(int signal) { (void)signal; }

static __thread int cshim_timer_state;   /* 0 untried, 1 ready, -1 unavailable */
static __thread timer_t cshim_timer;

static int cshim_prepare_timer(void) {
    if (cshim_timer_state != 0) return cshim_timer_state;
    int signal = SIGRTMIN + 3;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = cshim_ignore_signal;   /* no SA_RESTART: a blocked write returns EINTR */
    sigemptyset(&action.sa_mask);
    sigaction(signal, &action, NULL);
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, signal);
    pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = signal;
    event._sigev_un._tid = gettid();
    cshim_timer_state = timer_create(CLOCK_MONOTONIC, &event, &cshim_timer) == 0 ? 1 : -1;
    return cshim_timer_state;
}

ssize_t cshim_write_bounded(int fd, const void *buffer, size_t length, long timeout_ns) {
    if (cshim_prepare_timer() != 1) return write(fd, buffer, length);
    struct itimerspec arm;
    memset(&arm, 0, sizeof arm);
    arm.it_value.tv_sec = timeout_ns / 1000000000L;
    arm.it_value.tv_nsec = timeout_ns % 1000000000L;
    struct itimerspec off;
    memset(&off, 0, sizeof off);
    timer_settime(cshim_timer, 0, &arm, NULL);
    ssize_t n = write(fd, buffer, length);
    int saved = errno;
    timer_settime(cshim_timer, 0, &off, NULL);
    errno = saved;
    return n;
}

static int cshim_unix_address(const char *path, struct sockaddr_un *address) {
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    size_t length = strlen(path);
    if (length == 0 || length >= sizeof address->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(address->sun_path, path, length);
    return 0;
}

int cshim_unix_listen(const char *path, int backlog) {
    struct sockaddr_un address;
    if (cshim_unix_address(path, &address) != 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    /* The socket file gets its mode from the umask at bind: 0600 from the start, no window in
     * which another user could connect. umask is per process; the supervisor binds on its loop
     * thread before any consumer thread creates files. */
    mode_t previous = umask(0177);
    int bound = bind(fd, (struct sockaddr *)&address, sizeof address);
    int saved = errno;
    umask(previous);
    if (bound != 0 || listen(fd, backlog) != 0) {
        if (bound == 0) saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int cshim_unix_connect(const char *path) {
    struct sockaddr_un address;
    if (cshim_unix_address(path, &address) != 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int result;
    do { result = connect(fd, (struct sockaddr *)&address, sizeof address); } while (result != 0 && errno == EINTR);
    if (result != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int cshim_tcp_listen(const char *host, int port, int backlog) {
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, backlog) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int cshim_tcp_local_port(int fd) {
    struct sockaddr_in address;
    socklen_t length = sizeof address;
    if (getsockname(fd, (struct sockaddr *)&address, &length) != 0) return -1;
    return ntohs(address.sin_port);
}

int cshim_accept_nonblocking(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

long cshim_peer_uid(int fd) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    return (long)credentials.uid;
}

/* ---- SIGBUS guard ----
 * Slots are claimed and released on any thread with atomics; the handler only reads them (and
 * sets `poisoned`), so it is async-signal-safe: mmap is a plain system call. After the handler
 * returns, the faulting load or store runs again on the zero pages. */
#define CSHIM_GUARD_SLOTS 4096
struct cshim_guard_slot {
    _Atomic(uintptr_t) base;
    _Atomic(size_t) size;
    _Atomic(int) poisoned;
};
static struct cshim_guard_slot cshim_guards[CSHIM_GUARD_SLOTS];
static pthread_once_t cshim_guard_once = PTHREAD_ONCE_INIT;
static struct sigaction cshim_guard_previous;

static void cshim_guard_handler(int signal, siginfo_t *info, void *context) {
    (void)context;
    uintptr_t address = (uintptr_t)info->si_addr;
    for (int i = 0; i < CSHIM_GUARD_SLOTS; i++) {
        uintptr_t base = atomic_load_explicit(&cshim_guards[i].base, memory_order_acquire);
        size_t size = atomic_load_explicit(&cshim_guards[i].size, memory_order_acquire);
        if (base == 0 || address < base || address - base >= size) continue;
        void *zeros = mmap((void *)base, size, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (zeros != MAP_FAILED) {
            atomic_store_explicit(&cshim_guards[i].poisoned, 1, memory_order_release);
            return;
        }
        break;
    }
    /* Not a guarded mapping (or it could not be replaced): the previous action, which for a
     * default disposition ends the process when the access faults again. */
    sigaction(signal, &cshim_guard_previous, NULL);
}

static void cshim_guard_install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = cshim_guard_handler;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &cshim_guard_previous);
}

int cshim_sigbus_guard(void *base, size_t size) {
    pthread_once(&cshim_guard_once, cshim_guard_install);
    for (int i = 0; i < CSHIM_GUARD_SLOTS; i++) {
        uintptr_t expected = 0;
        /* Claim with a placeholder so no other thread takes the slot, then publish the size
         * before the real base (the handler reads base first, with acquire). */
        if (atomic_compare_exchange_strong(&cshim_guards[i].base, &expected, (uintptr_t)1)) {
            atomic_store_explicit(&cshim_guards[i].poisoned, 0, memory_order_relaxed);
            atomic_store_explicit(&cshim_guards[i].size, size, memory_order_release);
            atomic_store_explicit(&cshim_guards[i].base, (uintptr_t)base, memory_order_release);
            return 0;
        }
    }
    errno = ENOSPC;
    return -1;
}

void cshim_sigbus_unguard(void *base) {
    for (int i = 0; i < CSHIM_GUARD_SLOTS; i++) {
        if (atomic_load_explicit(&cshim_guards[i].base, memory_order_acquire) == (uintptr_t)base) {
            atomic_store_explicit(&cshim_guards[i].size, 0, memory_order_release);
            atomic_store_explicit(&cshim_guards[i].base, 0, memory_order_release);
            return;
        }
    }
}

int cshim_sigbus_poisoned(void *base) {
    for (int i = 0; i < CSHIM_GUARD_SLOTS; i++) {
        if (atomic_load_explicit(&cshim_guards[i].base, memory_order_acquire) == (uintptr_t)base) {
            return atomic_load_explicit(&cshim_guards[i].poisoned, memory_order_acquire);
        }
    }
    return 0;
}
