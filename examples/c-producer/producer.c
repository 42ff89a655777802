/* c-producer: the example producer in C, with the same behaviour as examples/swift-producer and
 * examples/python-producer:
 *
 *   c-producer [--records N] [--size BYTES] [--batch B] [--checkpoint-every K] [--pace-us U]
 *
 * Commits data records (type 1) `c <instance> <seq>`, padded with '.' to BYTES, for seq in
 * start..N-1, B per publish (one batch), a checkpoint holding the next seq after every K-th
 * record, then end-of-stream. After a restart it starts at the checkpoint's seq plus the records
 * delivered after it (RINGMASTER_RESUME + RINGMASTER_RESUME_SKIP), so every seq reaches the
 * consumers exactly once across crashes. Defaults: N 1000, BYTES 0, B 1, K 100, U 0.
 *
 * Build with `make` (needs only sdk/c/include/ringmaster/producer.h); run under the supervisor
 * with `ringmaster run manifest.yaml`. Exit status: 0 done, 1 the ring failed, 2 bad arguments or
 * not started by a supervisor.
 */
#include <ringmaster/producer.h>

#define USAGE "usage: c-producer [--records N] [--size BYTES] [--batch B] [--checkpoint-every K] [--pace-us U]\n"

static int usage(const char *problem) {
    fprintf(stderr, "c-producer: %s\n" USAGE, problem);
    return 2;
}

/* A plain non-negative decimal integer. */
static int parse(const char *text, unsigned long long *out) {
    if (!text || !*text) return 0;
    unsigned long long value = 0;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9' || value > (ULLONG_MAX - 9) / 10) return 0;
        value = value * 10 + (unsigned long long)(*c - '0');
    }
    *out = value;
    return 1;
}

/* Writes `value` in decimal at `out` (no NUL); returns the digits written. Cheaper than snprintf
 * per record, which would otherwise be most of this program's time. */
static uint32_t decimal(unsigned long long value, char *out) {
    char reversed[20];
    uint32_t n = 0;
    do { reversed[n++] = (char)('0' + value % 10); value /= 10; } while (value > 0);
    for (uint32_t i = 0; i < n; i++) out[i] = reversed[n - 1 - i];
    return n;
}

int main(int argc, char **argv) {
    unsigned long long records = 1000, size = 0, batch = 1, every = 100, pace = 0;
    for (int i = 1; i < argc; i += 2) {
        unsigned long long *target = !strcmp(argv[i], "--records") ? &records
            : !strcmp(argv[i], "--size") ? &size
            : !strcmp(argv[i], "--batch") ? &batch
            : !strcmp(argv[i], "--checkpoint-every") ? &every
            : !strcmp(argv[i], "--pace-us") ? &pace : NULL;
        char problem[300];
        snprintf(problem, sizeof problem, "%s needs a non-negative integer", argv[i]);
        if (!target) snprintf(problem, sizeof problem, "unknown option %s", argv[i]);
        if (!target || !parse(i + 1 < argc ? argv[i + 1] : NULL, target)) return usage(problem);
    }
    if (size > UINT32_MAX) return usage("--size is too large");
    if (batch == 0) batch = 1;

    rm_producer p;
    if (rm_attach(&p) != 0) {
        fprintf(stderr, "c-producer: %s\n", p.error);
        return 2;
    }
    /* Where to start: the token is the next seq in decimal; skip what was delivered after it. */
    unsigned long long seq = p.resume_skip;
    if (p.resume_token_present) {
        char token[32] = "";
        unsigned long long start = 0;
        if (p.resume_token_length < sizeof token) memcpy(token, p.resume_token, p.resume_token_length);
        if (p.resume_token_length > 0 && !parse(token, &start)) {
            fprintf(stderr, "c-producer: resume token '%s' is not a record number\n", token);
            return 1;
        }
        seq += start;
    }
    fprintf(stderr, "c-producer %s.%lld: records %llu..%lld\n", p.worker, p.instance, seq, (long long)records - 1);

    char text[64];
    uint32_t prefix = (uint32_t)snprintf(text, sizeof text, "c %lld ", p.instance);
    while (seq < records) {
        unsigned long long end = records - seq < batch ? records : seq + batch;
        rm_batch_begin(&p);
        for (; seq < end; seq++) {
            uint32_t length = prefix + decimal(seq, text + prefix);    /* "c <instance> <seq>" */
            uint32_t total = length < size ? (uint32_t)size : length;
            char *payload = rm_reserve(&p, RM_TYPE_DATA, total);   /* written in place, no copy */
            if (!payload) break;
            memcpy(payload, text, length);
            memset(payload + length, '.', total - length);
            if (rm_commit(&p, total) != 0) break;
            if (every > 0 && (seq + 1) % every == 0) {
                char token[24];
                if (rm_checkpoint(&p, token, decimal(seq + 1, token)) != 0) break;
            }
        }
        rm_batch_end(&p);
        if (seq < end) {
            fprintf(stderr, "c-producer: record %llu: %s\n", seq, p.error);
            return 1;
        }
        if (pace > 0) {
            struct timespec pause = { (time_t)(pace / 1000000), (long)(pace % 1000000) * 1000 };
            while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {}
        }
    }
    if (rm_finish(&p) != 0) {
        fprintf(stderr, "c-producer: %s\n", p.error);
        return 1;
    }
    rm_detach(&p);
    return 0;
}
