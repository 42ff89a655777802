#define _GNU_SOURCE
#include "cshim.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

int cshim_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int cshim_wifexited(int status) { return WIFEXITED(status); }
int cshim_wexitstatus(int status) { return WEXITSTATUS(status); }
int cshim_wifsignaled(int status) { return WIFSIGNALED(status); }
int cshim_wtermsig(int status) { return WTERMSIG(status); }
