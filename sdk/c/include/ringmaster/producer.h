/*
 * ringmaster/producer.h — a Ringmaster producer in C: one header, C11 + POSIX + pthread.
 *
 * Writes records into the shared-memory ring the supervisor created, byte for byte as the Swift
 * SDK (Sources/RingChannel/RingWriter.swift) does. The protocol: docs/PROTOCOL.md.
 *
 *     #include <ringmaster/producer.h>      // first, or build with -D_GNU_SOURCE
 *     rm_producer p;
 *     if (rm_attach(&p) != 0) { fprintf(stderr, "%s\n", p.error); return 2; }
 *     rm_send(&p, 1, "hello", 5);                        // copy one record (type 1 = data)
 *     char *buf = rm_reserve(&p, 1, 64);                 // or fill the ring in place ...
 *     if (buf) rm_commit(&p, (uint32_t)snprintf(buf, 64, "x=%d", 42));   // ... maybe shorter
 *     rm_batch_begin(&p); ...sends... rm_batch_end(&p);  // one publish for many records
 *     rm_checkpoint(&p, "1000", 4);                      // resume token (see resume_* below)
 *     rm_finish(&p);                                     // end-of-stream, then exit(0)
 *
 * Every fallible call returns 0 (rm_reserve: the payload buffer) on success, and a negative
 * RM_ERR_* (rm_reserve: NULL) on failure, with a message in p.error and the code in p.error_code.
 * A full ring blocks (backpressure) for at most p.wait_timeout_ms (-1, the default: forever).
 * Nothing is ever dropped. Records become visible when published: at every commit, or inside a
 * batch at rm_batch_end, every min(64 KiB, capacity/4) bytes and before blocking.
 *
 * Threads: one producer is used from one thread. rm_attach starts a detached thread that watches
 * RINGMASTER_LIFELINE and calls _exit(75) when the supervisor is gone, even while the producer
 * is blocked or busy; rm_detach does not stop it. Eventfd descriptors are never fcntl'ed: their
 * O_NONBLOCK flag is shared with the supervisor.
 */
#ifndef RINGMASTER_PRODUCER_H
#define RINGMASTER_PRODUCER_H

#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE) && !defined(_DEFAULT_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if defined(__GLIBC__) && !defined(__USE_XOPEN2K8)
#error "ringmaster/producer.h needs POSIX.1-2008: include it before any other header, or build with -D_POSIX_C_SOURCE=200809L or -D_GNU_SOURCE"
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the Ringmaster segment is little-endian; this header supports little-endian hosts only"
#endif

#define RM_TYPE_DATA 0x0001u          /* the default type of a producer's own records */
#define RM_TYPE_CHECKPOINT 0xF001u
#define RM_TYPE_END_OF_STREAM 0xF002u
#define RM_TYPE_LOG_LINE 0xF003u
#define RM_TYPE_HEARTBEAT 0xF004u
#define RM_LIFELINE_EXIT_STATUS 75    /* EX_TEMPFAIL: the supervisor is gone */

enum {
    RM_ERR_USAGE = -1,   /* bad type or length, reservation misuse */
    RM_ERR_TIMEOUT = -2, /* the ring stayed full for wait_timeout_ms */
    RM_ERR_SYSTEM = -3,  /* a system call failed (message names it) */
    RM_ERR_CORRUPT = -4, /* the reader's head is impossible */
    RM_ERR_ATTACH = -5   /* environment or segment header refused */
};

typedef struct rm_producer {
    /* Identity, from the environment contract (rm_attach; rm_attach_fds leaves the defaults). */
    const char *worker;           /* RINGMASTER_WORKER ("worker" when unset) */
    long long instance;           /* RINGMASTER_INSTANCE, 0-based index in the pool */
    long long instances;          /* RINGMASTER_INSTANCES, the pool's size */
    uint64_t generation;          /* RINGMASTER_GENERATION: how often this instance restarted */
    int resumed;                  /* 1 on a restart: RINGMASTER_RESUME and/or _RESUME_SKIP set */
    int resume_token_present;     /* 1 when RINGMASTER_RESUME was set (the token may be empty) */
    unsigned char *resume_token;  /* the decoded token (owned; freed by rm_detach) */
    size_t resume_token_length;
    uint64_t resume_skip;         /* data records already delivered after the token: skip them */
    uint32_t max_record;          /* largest payload the ring takes */
    uint64_t capacity;            /* data-area bytes */
    int wait_timeout_ms;          /* bound on each wait for space; -1 = forever (default) */
    int error_code;               /* the last RM_ERR_* */
    char error[256];              /* the last error message */
    struct {                      /* private */
        unsigned char *base, *data;
        size_t map_size;
        uint64_t mask, tail, published, head_cache, reserved_at, committed, threshold;
        uint32_t reserved_length;
        uint16_t reserved_type;
        int batch_depth, segment_fd, data_fd, space_fd, owns_fds, reserving;
        sem_t *data_sem, *space_sem;
    } ring;
} rm_producer;

/* ---- internals ---------------------------------------------------------------------------- */

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static inline int rm__fail(rm_producer *p, int code, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(p->error, sizeof p->error, format, args);
    va_end(args);
    p->error_code = code;
    return code;
}

static inline int rm__fail_sys(rm_producer *p, int code, const char *prefix, const char *call, const char *subject) {
    return rm__fail(p, code, "%s%s(%s): %s", prefix, call, subject, strerror(errno));
}

#define RM__WORD64(p, offset) ((_Atomic uint64_t *)(void *)((p)->ring.base + (offset)))
#define RM__WORD32(p, offset) ((_Atomic uint32_t *)(void *)((p)->ring.base + (offset)))

static inline uint64_t rm__now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static inline void rm__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("pause");
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Wakes the other side: eventfd write of 1 (EAGAIN = already signalled) or sem_post. */
static inline void rm__signal(int fd, sem_t *sem) {
    if (sem) { sem_post(sem); return; }
    uint64_t one = 1;
    while (write(fd, &one, 8) < 0 && errno == EINTR) {}
}

/* Sleeps on space-free up to `ms` (-1: no limit); spurious returns are fine, the caller re-checks. */
static inline int rm__wait_space_free(rm_producer *p, long long ms) {
    char subject[16];
    if (p->ring.space_sem) {
#if defined(__GLIBC__) && defined(__USE_GNU) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 30)
        clockid_t clock = CLOCK_MONOTONIC;
#else
        clockid_t clock = CLOCK_REALTIME; /* sem_timedwait's clock */
#endif
        struct timespec t;
        clock_gettime(clock, &t);
        t.tv_sec += (time_t)(ms / 1000);
        t.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (t.tv_nsec >= 1000000000L) { t.tv_sec += 1; t.tv_nsec -= 1000000000L; }
#if defined(__GLIBC__) && defined(__USE_GNU) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 30)
        int status = ms < 0 ? sem_wait(p->ring.space_sem) : sem_clockwait(p->ring.space_sem, clock, &t);
#else
        int status = ms < 0 ? sem_wait(p->ring.space_sem) : sem_timedwait(p->ring.space_sem, &t);
#endif
        if (status == 0 || errno == EINTR || errno == ETIMEDOUT) return 0;
        return rm__fail_sys(p, RM_ERR_SYSTEM, "", "sem_clockwait", "space-free");
    }
    /* A pending signal makes poll return at once; then read resets the counter. The read never
     * blocks: the counter is non-zero (EAGAIN would only mean it was reset in between). */
    struct pollfd entry = { p->ring.space_fd, POLLIN, 0 };
    int n = poll(&entry, 1, ms > INT_MAX ? INT_MAX : (int)ms), error = errno;
    uint64_t value;
    if (n < 0 && error == EINTR) return 0;
    if (n > 0 && (entry.revents & POLLNVAL)) { n = -1; error = EBADF; }
    if (n > 0 && (entry.revents & POLLIN)) {
        while ((n = (int)read(p->ring.space_fd, &value, 8)) < 0 && errno == EINTR) {}
        if (n < 0 && (error = errno) == EAGAIN) n = 0;
    }
    if (n >= 0) return 0;
    snprintf(subject, sizeof subject, "%d", p->ring.space_fd);
    errno = error;
    return rm__fail_sys(p, RM_ERR_SYSTEM, "", n < 0 && (entry.revents & POLLIN) ? "read(eventfd)" : "poll(eventfd)", subject);
}

/* Loads head (acquire) and checks it as the Swift writer does; 1 when `needed` bytes are free. */
static inline int rm__refresh_head(rm_producer *p, uint64_t needed) {
    uint64_t head = atomic_load_explicit(RM__WORD64(p, 256), memory_order_acquire);
    uint64_t published = p->ring.published;
    if (head > published || published - head > p->capacity || head < p->ring.head_cache)
        return rm__fail(p, RM_ERR_CORRUPT, "ring head %llu is impossible with tail %llu",
                        (unsigned long long)head, (unsigned long long)published);
    p->ring.head_cache = head;
    return p->capacity - (p->ring.tail - head) >= needed;
}

/* ---- publishing and records --------------------------------------------------------------- */

/* Makes every committed record visible, and wakes the reader if it announced that it sleeps. */
static inline void rm_publish(rm_producer *p) {
    if (p->ring.tail == p->ring.published) return;
    p->ring.published = p->ring.tail;
    atomic_store_explicit(RM__WORD64(p, 128), p->ring.tail, memory_order_release);
    atomic_store_explicit(RM__WORD64(p, 648), p->ring.committed, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(RM__WORD32(p, 384), memory_order_relaxed) != 0)
        rm__signal(p->ring.data_fd, p->ring.data_sem);
}

/* PROTOCOL.md §6: publish, spin briefly, then announce producer_waiting, fence, re-check, sleep. */
static inline int rm__wait_for_space(rm_producer *p, uint64_t needed) {
    rm_publish(p);
    int ready = rm__refresh_head(p, needed);
    for (int i = 0; ready == 0 && i < 256; i++) {
        rm__cpu_relax();
        ready = rm__refresh_head(p, needed);
    }
    if (ready != 0) return ready < 0 ? ready : 0;
    uint64_t deadline = p->wait_timeout_ms < 0 ? 0 : rm__now_ns() + (uint64_t)p->wait_timeout_ms * 1000000u;
    _Atomic uint32_t *waiting = RM__WORD32(p, 512);
    int result = 0;
    for (;;) {
        atomic_store_explicit(waiting, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        if ((ready = rm__refresh_head(p, needed)) != 0) { result = ready < 0 ? ready : 0; break; }
        long long ms = -1;
        if (p->wait_timeout_ms >= 0) {
            uint64_t now = rm__now_ns();
            if (now >= deadline) { result = rm__fail(p, RM_ERR_TIMEOUT, "ring stayed full for the whole timeout"); break; }
            ms = (long long)((deadline - now + 999999u) / 1000000u);
        }
        if ((result = rm__wait_space_free(p, ms)) != 0) break;
    }
    atomic_store_explicit(waiting, 0, memory_order_relaxed);
    return result;
}

/* Reserves `length` payload bytes of any type (the SDK's own types included); NULL on failure. */
static inline void *rm__reserve_any(rm_producer *p, uint16_t type, uint32_t length) {
    if (p->ring.reserving) { rm__fail(p, RM_ERR_USAGE, "reserve while a reservation is open"); return NULL; }
    if (length > p->max_record) {
        rm__fail(p, RM_ERR_USAGE, "record of %u bytes exceeds max record %u", length, p->max_record);
        return NULL;
    }
    uint64_t frame = 8 + (((uint64_t)length + 7) & ~(uint64_t)7);
    uint64_t offset = p->ring.tail & p->ring.mask, to_end = p->capacity - offset;
    uint64_t needed = to_end < frame ? to_end + frame : frame;
    uint64_t free_bytes = p->capacity - (p->ring.tail - p->ring.head_cache);
    if (free_bytes < needed) {
        if (rm__wait_for_space(p, needed) != 0) return NULL;
    }
#if defined(__GNUC__)
    else if (free_bytes - needed > 2048) {
        __builtin_prefetch(p->ring.data + ((p->ring.tail + 2048) & p->ring.mask), 1);
    }
#endif
    if (to_end < frame) { /* PAD to exactly the end; its payload is never written or read */
        uint64_t pad = to_end - 8;
        memcpy(p->ring.data + offset, &pad, 8);
        p->ring.tail += to_end;
    }
    p->ring.reserving = 1;
    p->ring.reserved_at = p->ring.tail;
    p->ring.reserved_type = type;
    p->ring.reserved_length = length;
    return p->ring.data + (p->ring.tail & p->ring.mask) + 8;
}

/* Reserves `length` payload bytes of producer type `type` (1..0xEFFF) in the ring, zero copy.
 * Blocks while the ring is full. Fill the buffer, then rm_commit (maybe shorter) or rm_abort. */
static inline void *rm_reserve(rm_producer *p, uint16_t type, uint32_t length) {
    if (type == 0 || type >= 0xF000) {
        rm__fail(p, RM_ERR_USAGE, "record type 0x%x is not a producer type (1...0xefff)", (unsigned)type);
        return NULL;
    }
    return rm__reserve_any(p, type, length);
}

/* Commits the open reservation with `used` (≤ reserved) payload bytes; zeroes the padding.
 * Publishes at once outside a batch. */
static inline int rm_commit(rm_producer *p, uint32_t used) {
    if (!p->ring.reserving) return rm__fail(p, RM_ERR_USAGE, "commit without a reservation");
    if (used > p->ring.reserved_length)
        return rm__fail(p, RM_ERR_USAGE, "commit of %u bytes exceeds the %u reserved", used, p->ring.reserved_length);
    unsigned char *record = p->ring.data + (p->ring.reserved_at & p->ring.mask);
    uint64_t padded = ((uint64_t)used + 7) & ~(uint64_t)7;
    memset(record + 8 + used, 0, (size_t)(padded - used));
    uint64_t header = (uint64_t)used | (uint64_t)p->ring.reserved_type << 32;
    memcpy(record, &header, 8);
    p->ring.tail = p->ring.reserved_at + 8 + padded;
    p->ring.reserving = 0;
    p->ring.committed += 1;
    if (p->ring.batch_depth == 0 || p->ring.tail - p->ring.published >= p->ring.threshold) rm_publish(p);
    return 0;
}

/* Drops the open reservation: nothing of it becomes visible. A PAD it needed stays, unpublished
 * until the next record. */
static inline void rm_abort(rm_producer *p) { p->ring.reserving = 0; }

static inline int rm__send_any(rm_producer *p, uint16_t type, const void *bytes, uint32_t length) {
    void *buffer = rm__reserve_any(p, type, length);
    if (!buffer) return p->error_code;
    if (length > 0) memcpy(buffer, bytes, length);
    return rm_commit(p, length);
}

/* Copies `length` bytes into one record of producer type `type` (1..0xEFFF) and commits it. */
static inline int rm_send(rm_producer *p, uint16_t type, const void *bytes, uint32_t length) {
    if (type == 0 || type >= 0xF000)
        return rm__fail(p, RM_ERR_USAGE, "record type 0x%x is not a producer type (1...0xefff)", (unsigned)type);
    return rm__send_any(p, type, bytes, length);
}

/* Defers publishing until the matching rm_batch_end (batches nest; the outermost publishes). */
static inline void rm_batch_begin(rm_producer *p) { p->ring.batch_depth += 1; }

static inline void rm_batch_end(rm_producer *p) {
    if (p->ring.batch_depth > 0 && --p->ring.batch_depth == 0) rm_publish(p);
}

/* Commits a checkpoint: everything before it is done; on a restart the supervisor passes the
 * last delivered token back (resume_token, resume_skip). */
static inline int rm_checkpoint(rm_producer *p, const void *token, uint32_t length) {
    return rm__send_any(p, RM_TYPE_CHECKPOINT, token, length);
}

/* Commits a log line for the supervisor's log, cut to max record on a UTF-8 character boundary. */
static inline int rm_log(rm_producer *p, const char *line) {
    size_t length = strlen(line);
    if (length > p->max_record) {
        length = p->max_record;
        while (length > 0 && ((unsigned char)line[length] & 0xC0) == 0x80) length--;
    }
    return rm__send_any(p, RM_TYPE_LOG_LINE, line, (uint32_t)length);
}

/* Stamps the header's heartbeat time (CLOCK_MONOTONIC ns) and commits a heartbeat record. */
static inline int rm_heartbeat(rm_producer *p) {
    atomic_store_explicit(RM__WORD64(p, 664), rm__now_ns(), memory_order_release);
    return rm__send_any(p, RM_TYPE_HEARTBEAT, NULL, 0);
}

/* Commits end-of-stream and publishes. Nothing may be sent after it: exit(0) next. */
static inline int rm_finish(rm_producer *p) {
    int status = rm__send_any(p, RM_TYPE_END_OF_STREAM, NULL, 0);
    rm_publish(p);
    return status;
}

/* ---- attach ------------------------------------------------------------------------------- */

/* Maps and checks the segment (PROTOCOL.md §8 steps 1-9, 12, 13); the notifiers are set by the caller. */
static inline int rm__map(rm_producer *p, int fd) {
    const char *cannot = "cannot attach to segment: ";
    char subject[32];
    snprintf(subject, sizeof subject, "%d", fd);
    struct stat st;
    if (fstat(fd, &st) != 0) return rm__fail_sys(p, RM_ERR_ATTACH, cannot, "fstat", subject);
    unsigned long long size = (unsigned long long)st.st_size;
    if (size < 4096) return rm__fail(p, RM_ERR_ATTACH, "segment is %llu bytes, smaller than its 4096-byte header", size);
    unsigned char *h = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (h == MAP_FAILED) return rm__fail_sys(p, RM_ERR_ATTACH, cannot, "mmap", subject);
    uint32_t version = atomic_load_explicit((_Atomic uint32_t *)(void *)(h + 40), memory_order_acquire);
    uint64_t magic, capacity;
    uint32_t header_size, data_offset, max_record;
    memcpy(&magic, h, 8);
    memcpy(&header_size, h + 8, 4);
    memcpy(&data_offset, h + 12, 4);
    memcpy(&capacity, h + 16, 8);
    memcpy(&max_record, h + 24, 4);
    munmap(h, 4096);
    if (magic != 0x5254534D474E4952u)
        return rm__fail(p, RM_ERR_ATTACH, "segment magic is 0x%llx, expected 0x5254534d474e4952 (\"RINGMSTR\"): not a Ringmaster segment",
                        (unsigned long long)magic);
    if (version != 1)
        return rm__fail(p, RM_ERR_ATTACH, "segment layout version %u is not supported (this SDK speaks version 1)", version);
    if (header_size != 4096) return rm__fail(p, RM_ERR_ATTACH, "segment header field header size is %u, expected 4096", header_size);
    if (data_offset != 4096) return rm__fail(p, RM_ERR_ATTACH, "segment header field data offset is %u, expected 4096", data_offset);
    if (capacity < 4096 || (capacity & (capacity - 1)) != 0 || capacity > (1ull << 40))
        return rm__fail(p, RM_ERR_ATTACH, "segment header field capacity/max record is %llu, expected ring capacity must be "
                        "a power of two from 4096 to 1 TiB (got %llu)", (unsigned long long)capacity, (unsigned long long)capacity);
    if (max_record < 1 || max_record > capacity / 8)
        return rm__fail(p, RM_ERR_ATTACH, "segment header field capacity/max record is %llu, expected max record must be "
                        "from 1 to capacity/8 = %llu (got %u)", (unsigned long long)capacity,
                        (unsigned long long)(capacity / 8), max_record);
    if (size < 4096 + capacity)
        return rm__fail(p, RM_ERR_ATTACH, "segment header field capacity is %llu, expected at most %llu (the segment's size)",
                        (unsigned long long)capacity, size - 4096);
    size_t total = (size_t)(4096 + capacity);
    unsigned char *base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) return rm__fail_sys(p, RM_ERR_ATTACH, cannot, "mmap", subject);
    p->ring.base = base;
    p->ring.data = base + 4096;
    p->ring.map_size = total;
    p->ring.segment_fd = fd;
    p->capacity = capacity;
    p->max_record = max_record;
    p->ring.mask = capacity - 1;
    p->ring.threshold = capacity / 4 < (64u << 10) ? capacity / 4 : (64u << 10);
    return 0;
}

static inline void rm__start(rm_producer *p) {
    p->ring.tail = atomic_load_explicit(RM__WORD64(p, 128), memory_order_acquire);
    p->ring.published = p->ring.tail;
    p->ring.head_cache = atomic_load_explicit(RM__WORD64(p, 256), memory_order_acquire);
    atomic_store_explicit(RM__WORD32(p, 640), (uint32_t)getpid(), memory_order_release);
}

static inline void rm__defaults(rm_producer *p) {
    memset(p, 0, sizeof *p);
    p->worker = "worker";
    p->instances = 1;
    p->wait_timeout_ms = -1;
    p->ring.segment_fd = p->ring.data_fd = p->ring.space_fd = -1;
}

/* Attaches to a segment and two eventfds given as descriptors (tests, embedding): no environment,
 * no lifeline. The descriptors stay the caller's (rm_detach does not close them). */
static inline int rm_attach_fds(rm_producer *p, int segment_fd, int data_ready_fd, int space_free_fd) {
    rm__defaults(p);
    int status = rm__map(p, segment_fd);
    if (status != 0) return status;
    p->ring.data_fd = data_ready_fd;
    p->ring.space_fd = space_free_fd;
    rm__start(p);
    return 0;
}

/* Unmaps the segment and closes what rm_attach opened. Publishes committed records first; an
 * open reservation is dropped. The lifeline watch keeps running. */
static inline void rm_detach(rm_producer *p) {
    if (p->ring.base) {
        rm_publish(p);
        munmap(p->ring.base, p->ring.map_size);
        p->ring.base = NULL;
    }
    if (p->ring.owns_fds) {
        if (p->ring.segment_fd >= 0) close(p->ring.segment_fd);
        if (p->ring.data_fd >= 0) close(p->ring.data_fd);
        if (p->ring.space_fd >= 0) close(p->ring.space_fd);
        if (p->ring.data_sem) sem_close(p->ring.data_sem);
        if (p->ring.space_sem) sem_close(p->ring.space_sem);
    }
    p->ring.owns_fds = 0;
    free(p->resume_token);
    p->resume_token = NULL;
}

/* ---- the environment contract (PROTOCOL.md §8) --------------------------------------------- */

/* Parses as Swift's Int(String) does: optional sign, digits, nothing else; negative refused
 * (but "-0" is 0). `limit` is the largest value accepted. */
static inline int rm__number(const char *text, unsigned long long limit, unsigned long long *out) {
    int negative = (*text == '-');
    if (*text == '+' || *text == '-') text++;
    if (*text == '\0') return 0;
    unsigned long long value = 0;
    for (; *text; text++) {
        if (*text < '0' || *text > '9') return 0;
        unsigned digit = (unsigned)(*text - '0');
        if (value > (limit - digit) / 10) return 0;
        value = value * 10 + digit;
    }
    if (negative && value != 0) return 0;
    *out = value;
    return 1;
}

/* `fd:N`, N a non-negative C int. */
static inline int rm__descriptor(const char *text, int *fd) {
    unsigned long long value;
    if (strncmp(text, "fd:", 3) != 0 || !rm__number(text + 3, INT_MAX, &value)) return 0;
    *fd = (int)value;
    return 1;
}

static inline int rm__malformed(rm_producer *p, const char *variable, const char *value, const char *expected) {
    return rm__fail(p, RM_ERR_ATTACH, "%s=%s is malformed (expected %s)", variable, value, expected);
}

/* A variable holding a non-negative integer, or `fallback` when it is unset. */
static inline int rm__env_number(rm_producer *p, const char *name, unsigned long long limit,
                                 unsigned long long fallback, unsigned long long *out) {
    const char *text = getenv(name);
    *out = fallback;
    if (text && !rm__number(text, limit, out)) return rm__malformed(p, name, text, "a non-negative integer");
    return 0;
}

/* Standard base64 with padding (RFC 4648), as strict as the Swift SDK; -1 when malformed. */
static inline long rm__base64_decode(const char *text, unsigned char *out) {
    size_t length = strlen(text), n = 0;
    if (length % 4 != 0) return -1;
    for (size_t i = 0; i < length; i += 4) {
        uint32_t bits = 0;
        int padding = 0;
        for (size_t k = 0; k < 4; k++) {
            char c = text[i + k];
            uint32_t v;
            if (c >= 'A' && c <= 'Z') v = (uint32_t)(c - 'A');
            else if (c >= 'a' && c <= 'z') v = (uint32_t)(c - 'a') + 26;
            else if (c >= '0' && c <= '9') v = (uint32_t)(c - '0') + 52;
            else if (c == '+') v = 62;
            else if (c == '/') v = 63;
            else if (c == '=' && k >= 2 && i + 4 == length) { v = 0; padding++; }
            else return -1;
            if (padding > 0 && c != '=') return -1;
            bits = bits << 6 | v;
        }
        out[n++] = (unsigned char)(bits >> 16);
        if (padding < 2) out[n++] = (unsigned char)(bits >> 8);
        if (padding < 1) out[n++] = (unsigned char)bits;
    }
    return (long)n;
}

static inline void *rm__lifeline_main(void *argument) {
    int fd = (int)(intptr_t)argument;
    char buffer[64];
    for (;;) {
        struct pollfd entry = { fd, POLLIN, 0 };
        if (poll(&entry, 1, -1) < 0) {
            if (errno == EINTR) continue;
            _exit(RM_LIFELINE_EXIT_STATUS); /* cannot watch any more: never outlive the supervisor */
        }
        ssize_t got = read(fd, buffer, sizeof buffer);
        if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) _exit(RM_LIFELINE_EXIT_STATUS);
    }
    return NULL;
}

/* Attaches from the environment the supervisor set (RINGMASTER_SEGMENT, _NOTIFY, _LIFELINE,
 * _WORKER, _INSTANCE(S), _GENERATION, _RESUME, _RESUME_SKIP), starts the lifeline watch and
 * stores this process's pid in the header. On failure p->error says which variable or header
 * field is wrong, in the Swift SDK's words: print it and exit(2). */
static inline int rm_attach(rm_producer *p) {
    rm__defaults(p);
    const char *segment = getenv("RINGMASTER_SEGMENT"), *notify = getenv("RINGMASTER_NOTIFY");
    const char *lifeline = getenv("RINGMASTER_LIFELINE"), *text;
    if (!segment)
        return rm__fail(p, RM_ERR_ATTACH, "RINGMASTER_SEGMENT is not set: this program is a Ringmaster producer and must be "
                        "started by the supervisor (name it in a manifest and run `ringmaster run MANIFEST`)");
    int segment_fd = -1, data_fd = -1, space_fd = -1, lifeline_fd = -1;
    const char *shm_name = NULL;
    if (!rm__descriptor(segment, &segment_fd)) {
        if (strncmp(segment, "shm:/", 5) != 0 || segment[5] == '\0')
            return rm__malformed(p, "RINGMASTER_SEGMENT", segment, "fd:N or shm:/name");
        shm_name = segment + 4;
    }
    if (!notify)
        return rm__fail(p, RM_ERR_ATTACH, "RINGMASTER_NOTIFY is not set (expected eventfd:D,S or sem:/name.data,/name.space)");
    char sem_names[2][256] = { "", "" };
    if (strncmp(notify, "eventfd:", 8) == 0) {
        const char *comma = strchr(notify + 8, ',');
        char first[32];
        unsigned long long d, s;
        size_t length = comma ? (size_t)(comma - notify - 8) : 0;
        if (!comma || length >= sizeof first || strchr(comma + 1, ',')
            || (memcpy(first, notify + 8, length), first[length] = '\0', !rm__number(first, INT_MAX, &d))
            || !rm__number(comma + 1, INT_MAX, &s) || d == s)
            return rm__malformed(p, "RINGMASTER_NOTIFY", notify, "eventfd:D,S with two different descriptor numbers");
        data_fd = (int)d;
        space_fd = (int)s;
    } else if (strncmp(notify, "sem:", 4) == 0) {
        const char *a = notify + 4, *comma = strchr(a, ',');
        size_t length = comma ? (size_t)(comma - a) : 0;
        if (!comma || strchr(comma + 1, ',') || length < 2 || a[0] != '/' || comma[1] != '/' || comma[2] == '\0'
            || length >= sizeof sem_names[0] || strlen(comma + 1) >= sizeof sem_names[1])
            return rm__malformed(p, "RINGMASTER_NOTIFY", notify, "sem:/name.data,/name.space");
        memcpy(sem_names[0], a, length);
        sem_names[0][length] = '\0';
        strcpy(sem_names[1], comma + 1);
    } else {
        return rm__malformed(p, "RINGMASTER_NOTIFY", notify, "eventfd:D,S or sem:/name.data,/name.space");
    }
    if (lifeline && !rm__descriptor(lifeline, &lifeline_fd))
        return rm__malformed(p, "RINGMASTER_LIFELINE", lifeline, "fd:N");
    if ((text = getenv("RINGMASTER_WORKER"))) p->worker = text;
    unsigned long long instance, instances, generation, skip;
    int status;
    if ((status = rm__env_number(p, "RINGMASTER_INSTANCE", LLONG_MAX, 0, &instance)) != 0) return status;
    if ((status = rm__env_number(p, "RINGMASTER_INSTANCES", LLONG_MAX, 1, &instances)) != 0) return status;
    if ((status = rm__env_number(p, "RINGMASTER_GENERATION", LLONG_MAX, 0, &generation)) != 0) return status;
    if (instances < 1 || instance >= instances)
        return rm__fail(p, RM_ERR_ATTACH, "RINGMASTER_INSTANCE=%llu is malformed (expected an index below RINGMASTER_INSTANCES (%llu))",
                        instance, instances);
    p->instance = (long long)instance;
    p->instances = (long long)instances;
    p->generation = generation;
    if ((text = getenv("RINGMASTER_RESUME"))) {
        unsigned char *token = malloc(strlen(text) / 4 * 3 + 1);
        long length = token ? rm__base64_decode(text, token) : -1;
        if (length < 0) {
            free(token);
            return rm__malformed(p, "RINGMASTER_RESUME", text, "base64");
        }
        if ((status = rm__env_number(p, "RINGMASTER_RESUME_SKIP", LLONG_MAX, 0, &skip)) != 0) {
            free(token);
            return status;
        }
        p->resumed = p->resume_token_present = 1;
        p->resume_token = token;
        p->resume_token_length = (size_t)length;
        p->resume_skip = skip;
    } else if (getenv("RINGMASTER_RESUME_SKIP")) {
        if ((status = rm__env_number(p, "RINGMASTER_RESUME_SKIP", ULLONG_MAX, 0, &skip)) != 0) return status;
        p->resumed = 1;
        p->resume_skip = skip;
    }

    if (shm_name && (segment_fd = shm_open(shm_name, O_RDWR | O_CLOEXEC, 0)) < 0)
        status = rm__fail_sys(p, RM_ERR_ATTACH, "cannot attach to segment: ", "shm_open", shm_name);
    else if ((status = rm__map(p, segment_fd)) != 0)
        close(segment_fd);
    if (status == 0 && sem_names[0][0]) {
        for (int i = 0; i < 2 && status == 0; i++) {
            sem_t *sem = sem_open(sem_names[i], 0);
            if (sem == SEM_FAILED) status = rm__fail_sys(p, RM_ERR_ATTACH, "cannot open the notifier: ", "sem_open", sem_names[i]);
            else if (i == 0) p->ring.data_sem = sem;
            else p->ring.space_sem = sem;
        }
    }
    pthread_attr_t attributes;
    pthread_t thread;
    if (status == 0 && lifeline_fd >= 0 && pthread_attr_init(&attributes) == 0) {
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attributes, 64 << 10);
        int error = pthread_create(&thread, &attributes, rm__lifeline_main, (void *)(intptr_t)lifeline_fd);
        pthread_attr_destroy(&attributes);
        if (error != 0) status = rm__fail(p, RM_ERR_SYSTEM, "cannot start the lifeline thread: %s", strerror(error));
    }
    p->ring.owns_fds = 1;
    p->ring.data_fd = data_fd;
    p->ring.space_fd = space_fd;
    if (status != 0) {
        rm_detach(p); /* keeps p->error */
        return status;
    }
    rm__start(p);
    return 0;
}

#endif /* RINGMASTER_PRODUCER_H */
