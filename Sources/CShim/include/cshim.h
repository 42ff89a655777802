// CShim: the few C calls Swift's Glibc module does not offer (GNU-only or variadic), and the
// acquire/release atomics used on shared memory. Everything here is a thin, documented wrapper;
// `_GNU_SOURCE` is defined only in cshim.c so no GNU name leaks into Swift through this header.
#ifndef RINGMASTER_CSHIM_H
#define RINGMASTER_CSHIM_H

#include <stdint.h>
#include <stddef.h>
#include <semaphore.h>
#include <sys/types.h>

// ---- Atomics on shared memory (inline so they compile to plain loads/stores + barriers) ----

static inline uint64_t cshim_load_acquire_u64(const void *p) {
    return __atomic_load_n((const uint64_t *)p, __ATOMIC_ACQUIRE);
}
static inline uint32_t cshim_load_acquire_u32(const void *p) {
    return __atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE);
}
static inline uint64_t cshim_load_relaxed_u64(const void *p) {
    return __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
}
static inline uint32_t cshim_load_relaxed_u32(const void *p) {
    return __atomic_load_n((const uint32_t *)p, __ATOMIC_RELAXED);
}
static inline void cshim_store_release_u64(void *p, uint64_t v) {
    __atomic_store_n((uint64_t *)p, v, __ATOMIC_RELEASE);
}
static inline void cshim_store_release_u32(void *p, uint32_t v) {
    __atomic_store_n((uint32_t *)p, v, __ATOMIC_RELEASE);
}
static inline void cshim_store_relaxed_u64(void *p, uint64_t v) {
    __atomic_store_n((uint64_t *)p, v, __ATOMIC_RELAXED);
}
static inline void cshim_store_relaxed_u32(void *p, uint32_t v) {
    __atomic_store_n((uint32_t *)p, v, __ATOMIC_RELAXED);
}
/// Full (sequentially consistent) fence: the store-then-load of the sleep protocol needs it.
static inline void cshim_fence_seq_cst(void) {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
/// A spin-wait hint (PAUSE on x86), for the short spin before sleeping.
static inline void cshim_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// Starts fetching the cache line at `p` in a writable state (PREFETCHW on x86, a hint elsewhere),
/// so the store that follows does not wait for the line to come back from the reader's core.
/// Never faults, whatever `p` is.
static inline void cshim_prefetch_write(const void *p) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("prefetchw %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p, 1, 3);
#endif
}

// ---- Seals (values from <linux/fcntl.h>) ----
#define CSHIM_SEAL_SEAL   0x0001
#define CSHIM_SEAL_SHRINK 0x0002
#define CSHIM_SEAL_GROW   0x0004
#define CSHIM_SEAL_WRITE  0x0008

/// memfd_create(name, MFD_ALLOW_SEALING | (cloexec ? MFD_CLOEXEC : 0)). -1 and errno on failure.
int cshim_memfd_create_sealable(const char *name, int cloexec);
/// fcntl(fd, F_ADD_SEALS, seals). -1 and errno on failure.
int cshim_add_seals(int fd, int seals);
/// fcntl(fd, F_GET_SEALS). -1 and errno on failure.
int cshim_get_seals(int fd);

// ---- eventfd ----
/// eventfd(initval, EFD_NONBLOCK? | EFD_CLOEXEC?). -1 and errno on failure.
int cshim_eventfd(unsigned int initval, int nonblock, int cloexec);
/// Reads an eventfd counter without ever blocking, whatever O_NONBLOCK says
/// (preadv2 with RWF_NOWAIT; falls back to read when the kernel lacks it).
/// Returns 1 and the value when there was one, 0 when the counter was zero, -1 and errno on error.
int cshim_eventfd_read_nowait(int fd, uint64_t *value);

// ---- POSIX named semaphores (sem_open is variadic, sem_clockwait is GNU) ----
/// sem_open(name, O_CREAT | O_EXCL, mode, value). NULL and errno on failure.
sem_t *cshim_sem_create(const char *name, unsigned int mode, unsigned int value);
/// sem_open(name, 0). NULL and errno on failure.
sem_t *cshim_sem_attach(const char *name);
/// Waits up to timeout_ns (negative: forever) on CLOCK_MONOTONIC.
/// Returns 0 when taken, -1 and errno (ETIMEDOUT, EINTR, ...) otherwise.
int cshim_sem_wait_ns(sem_t *sem, int64_t timeout_ns);

// ---- processes ----
/// prctl(PR_SET_CHILD_SUBREAPER, 1).
int cshim_set_child_subreaper(void);
/// prctl(PR_SET_PDEATHSIG, signal).
int cshim_set_parent_death_signal(int signal);
/// pidfd_open(pid, 0) through syscall(2). -1 and errno on failure.
int cshim_pidfd_open(pid_t pid);
/// Pins the calling thread to one CPU. -1 and errno on failure.
int cshim_pin_to_cpu(int cpu);
/// The number of CPUs this thread may run on.
int cshim_allowed_cpu_count(void);
/// The calling thread's CPU mask as `sched_getaffinity` fills it (`size` bytes, 128 for every
/// CPU glibc knows), and setting it back: a benchmark that pinned itself unpins its later children.
int cshim_get_affinity(void *mask, size_t size);
int cshim_set_affinity(const void *mask, size_t size);

/// Marks every descriptor from `lowest` up close-on-exec (close_range with CLOSE_RANGE_CLOEXEC,
/// Linux 5.11; older kernels: each open descriptor from /proc/self/fd). 0, or -1 and errno.
int cshim_cloexec_from(int lowest);

/// pipe2(fds, O_CLOEXEC): both ends close-on-exec from the start, so a concurrent spawn can
/// never inherit them. -1 and errno on failure.
int cshim_pipe_cloexec(int fds[2]);

// ---- signals as a descriptor (ringmaster top) ----
/// Blocks `count` signals in the calling thread and returns a signalfd for them (non-blocking,
/// close-on-exec), so a poll() loop sees them as input and no handler runs. -1 and errno on failure.
int cshim_signalfd_block(const int *signals, int count);
/// The next signal queued on a signalfd: its number, 0 when none is queued, -1 and errno on failure.
int cshim_signalfd_next(int fd);

// ---- SIGBUS guard (posix segments, which cannot be sealed against shrinking) ----
/// Guards the mapping [base, base + size): if touching it raises SIGBUS (its backing object was
/// truncated by another process), the signal handler maps anonymous zero pages over the whole
/// range and marks it poisoned, so the faulting access reads zeros instead of killing the
/// process. The handler is installed on first use; SIGBUS anywhere else keeps its default action.
/// Returns 0, or -1 when every guard slot is taken (errno ENOSPC).
int cshim_sigbus_guard(void *base, size_t size);
/// Stops guarding the mapping at `base` (before unmapping it).
void cshim_sigbus_unguard(void *base);
/// Non-zero once a fault in the guarded mapping at `base` replaced it with zero pages.
int cshim_sigbus_poisoned(void *base);

// ---- sockets (the control socket, the metrics listener) ----
/// A listening AF_UNIX stream socket bound at `path`, non-blocking and close-on-exec, created with
/// permissions 0600 (the umask is not involved: the socket is made under a private umask of 0177
/// for the bind). Returns the descriptor, or -1 and errno (ENAMETOOLONG when `path` does not fit
/// `sun_path`). The caller removes a stale file first.
int cshim_unix_listen(const char *path, int backlog);
/// A blocking AF_UNIX stream connection to `path`, close-on-exec. Returns the descriptor, or -1
/// and errno (ECONNREFUSED: a file is there but nobody listens; ENOENT: nothing is there).
int cshim_unix_connect(const char *path);
/// A listening TCP socket on the IPv4 address `host` (dotted quad) and `port` (0: any free port),
/// SO_REUSEADDR, non-blocking and close-on-exec. Returns the descriptor, or -1 and errno
/// (EINVAL for a host that is not a dotted quad).
int cshim_tcp_listen(const char *host, int port, int backlog);
/// The local port a bound TCP socket got (for port 0), or -1 and errno.
int cshim_tcp_local_port(int fd);
/// accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC): -1 and errno when none is pending.
int cshim_accept_nonblocking(int fd);
/// The peer's uid of a connected AF_UNIX socket (SO_PEERCRED), or -1 and errno.
long cshim_peer_uid(int fd);

// ---- directories (the walker) ----
/// getdents64(fd, buffer, length): raw `struct linux_dirent64` records (d_ino u64, d_off s64,
/// d_reclen u16, d_type u8, NUL-terminated d_name), declared by glibc only under _GNU_SOURCE.
/// Returns the bytes read, 0 at the end of the directory, -1 and errno on failure.
ssize_t cshim_getdents64(int fd, void *buffer, size_t length);
/// The symbolic name of an errno value ("EACCES" for 13; strerrorname_np), NULL when unknown.
const char *cshim_errno_name(int errnum);

// ---- wait status macros ----
int cshim_wifexited(int status);
int cshim_wexitstatus(int status);
int cshim_wifsignaled(int status);
int cshim_wtermsig(int status);

// ---- a write that cannot hang ----
/// write(fd, buffer, length), interrupted after `timeout_ns` if it blocks: a per-thread
/// CLOCK_MONOTONIC timer sends this thread a real-time signal whose handler does nothing (no
/// SA_RESTART), so a blocked write returns -1 with EINTR. For writes into descriptors another,
/// untrusted process shares (it can clear O_NONBLOCK). Falls back to a plain write when no timer
/// can be made.
ssize_t cshim_write_bounded(int fd, const void *buffer, size_t length, long timeout_ns);

#endif
