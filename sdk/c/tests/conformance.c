/* conformance: replays the conformance vectors (conformance/vectors) against ringmaster/producer.h and checks the
 * segment it leaves, byte for byte (conformance/README.md describes the format and the replay).
 *
 *     cc -std=c11 -pthread sdk/c/tests/conformance.c -o conformance
 *     ./conformance conformance/vectors/[a-z]*.vec
 *
 * Prints `ok NAME` per passing vector and `FAIL NAME: line N: what differed` per failing one;
 * exits 1 when any failed. The runner plays the supervisor: it creates a memfd segment and two
 * eventfds, writes the header, and gives space back only at `release`.
 */
#define _GNU_SOURCE
#include "../include/ringmaster/producer.h"

#include <sys/eventfd.h>

#define LINE_MAX_LENGTH 4096
#define MAX_PAYLOAD (1u << 20)

struct vector {
    const char *file;
    char name[128];
    int line;                  /* the statement being run */
    uint64_t capacity;
    uint32_t max_record;
    int segment_fd, data_fd, space_fd;
    unsigned char *segment;    /* the runner's own mapping */
    size_t size;
    int attached;
    rm_producer producer;
    char failure[512];
};

static int fail(struct vector *v, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(v->failure, sizeof v->failure, format, args);
    va_end(args);
    return -1;
}

/* Decimal, or hexadecimal with 0x. */
static int number(const char *text, uint64_t *out) {
    int base = 10;
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) { base = 16; text += 2; }
    if (!*text) return 0;
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, base);
    if (*end || errno || *text == '-' || *text == '+') return 0;
    *out = value;
    return 1;
}

/* `-`, `text:CHARS`, `hex:HEX` or `pattern:LEN:SEED` into `out`; the length, or -1. */
static long payload(const char *text, unsigned char *out) {
    if (strcmp(text, "-") == 0) return 0;
    if (strncmp(text, "text:", 5) == 0) {
        size_t n = strlen(text + 5);
        if (n > MAX_PAYLOAD) return -1;
        memcpy(out, text + 5, n);
        return (long)n;
    }
    if (strncmp(text, "hex:", 4) == 0) {
        const char *h = text + 4;
        size_t n = strlen(h);
        if (n % 2 || n / 2 > MAX_PAYLOAD) return -1;
        for (size_t i = 0; i < n / 2; i++) {
            unsigned byte;
            if (sscanf(h + 2 * i, "%2x", &byte) != 1) return -1;
            out[i] = (unsigned char)byte;
        }
        return (long)(n / 2);
    }
    unsigned long length, seed;
    char tail;
    if (sscanf(text, "pattern:%lu:%lu%c", &length, &seed, &tail) == 2 && length <= MAX_PAYLOAD) {
        for (unsigned long i = 0; i < length; i++) out[i] = (unsigned char)((seed + i) % 256);
        return (long)length;
    }
    return -1;
}

/* The supervisor's part: a zeroed segment, the header (version last, with release), eventfds. */
static int create_segment(struct vector *v) {
    v->size = (size_t)(4096 + v->capacity);
    v->segment_fd = memfd_create("ringmaster-conformance", MFD_CLOEXEC);
    if (v->segment_fd < 0 || ftruncate(v->segment_fd, (off_t)v->size) != 0)
        return fail(v, "cannot create the segment: %s", strerror(errno));
    v->segment = mmap(NULL, v->size, PROT_READ | PROT_WRITE, MAP_SHARED, v->segment_fd, 0);
    if (v->segment == MAP_FAILED) return fail(v, "cannot map the segment: %s", strerror(errno));
    uint64_t magic = 0x5254534D474E4952u, generation = 0;
    uint32_t page = 4096, flags = 0;
    memcpy(v->segment, &magic, 8);
    memcpy(v->segment + 8, &page, 4);
    memcpy(v->segment + 12, &page, 4);
    memcpy(v->segment + 16, &v->capacity, 8);
    memcpy(v->segment + 24, &v->max_record, 4);
    memcpy(v->segment + 28, &flags, 4);
    memcpy(v->segment + 32, &generation, 8);
    atomic_store_explicit((_Atomic uint32_t *)(void *)(v->segment + 40), 1, memory_order_release);
    v->data_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    v->space_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (v->data_fd < 0 || v->space_fd < 0) return fail(v, "cannot create eventfds: %s", strerror(errno));
    return 0;
}

static int header_override(struct vector *v, const char *field, const char *value_text) {
    uint64_t value;
    if (!v->segment && create_segment(v) != 0) return -1;
    if (!number(value_text, &value)) return fail(v, "bad header value '%s'", value_text);
    uint32_t value32 = (uint32_t)value;
    if (strcmp(field, "magic") == 0) memcpy(v->segment, &value, 8);
    else if (strcmp(field, "version") == 0) memcpy(v->segment + 40, &value32, 4);
    else if (strcmp(field, "header-size") == 0) memcpy(v->segment + 8, &value32, 4);
    else if (strcmp(field, "data-offset") == 0) memcpy(v->segment + 12, &value32, 4);
    else return fail(v, "unknown header field '%s'", field);
    return 0;
}

static int attach(struct vector *v) {
    if (v->attached) return 0;
    if (!v->segment && create_segment(v) != 0) return -1;
    if (rm_attach_fds(&v->producer, v->segment_fd, v->data_fd, v->space_fd) != 0)
        return fail(v, "attach failed: %s", v->producer.error);
    v->producer.wait_timeout_ms = 1000; /* vectors never need to wait: a wrong SDK fails, not hangs */
    v->attached = 1;
    return 0;
}

static uint64_t load64(struct vector *v, size_t offset) {
    return atomic_load_explicit((_Atomic uint64_t *)(void *)(v->segment + offset), memory_order_acquire);
}

/* Compares the segment (pid and heartbeat zeroed) with the sparse image in `lines`. */
static int check_image(struct vector *v, char **lines, int count, const int *numbers) {
    unsigned char *expected = calloc(1, v->size), *actual = malloc(v->size);
    if (!expected || !actual) { free(expected); free(actual); return fail(v, "out of memory"); }
    memcpy(actual, v->segment, v->size);
    memset(actual + 640, 0, 8);
    memset(actual + 664, 0, 8);
    int status = 0;
    for (int i = 0; i < count && status == 0; i++) {
        unsigned long offset;
        int used = 0, n = 0;
        unsigned bytes[16];
        if (sscanf(lines[i], "%8lx%n", &offset, &used) != 1 || offset % 16 || offset + 16 > v->size) {
            v->line = numbers[i];
            status = fail(v, "bad image line '%s'", lines[i]);
            break;
        }
        const char *cursor = lines[i] + used;
        while (n < 16) {
            while (*cursor == ' ') cursor++;
            int step = 0;
            if (sscanf(cursor, "%2x%n", &bytes[n], &step) != 1 || step != 2) break;
            cursor += 2;
            n++;
        }
        if (n != 16) { v->line = numbers[i]; status = fail(v, "image line has %d bytes, not 16", n); break; }
        for (int k = 0; k < 16; k++) expected[offset + (unsigned long)k] = (unsigned char)bytes[k];
    }
    for (size_t offset = 0; status == 0 && offset < v->size; offset++) {
        if (expected[offset] == actual[offset]) continue;
        size_t row = offset & ~(size_t)15;
        char want[64] = "", got[64] = "";
        for (size_t k = 0; k < 16 && row + k < v->size; k++) {
            snprintf(want + 3 * k, 4, " %02x", expected[row + k]);
            snprintf(got + 3 * k, 4, " %02x", actual[row + k]);
        }
        for (int i = 0; i < count; i++) {
            unsigned long offset_of_line;
            if (sscanf(lines[i], "%8lx", &offset_of_line) == 1 && offset_of_line == row) v->line = numbers[i];
        }
        status = fail(v, "image differs first at offset 0x%zx: expected 0x%02x, got 0x%02x (row %08zx expected%s, got%s)",
                      offset, expected[offset], actual[offset], row, want, got);
    }
    free(expected);
    free(actual);
    return status;
}

/* Runs one statement (already split into tokens). */
static int statement(struct vector *v, char **t, int n, const char *rest, unsigned char *buffer) {
    uint64_t a = 0, b = 0;
    long length;
    rm_producer *p = &v->producer;
    const char *op = t[0];
    if (strcmp(op, "vector") == 0 && n == 2) { snprintf(v->name, sizeof v->name, "%s", t[1]); return 0; }
    if (strcmp(op, "capacity") == 0 && n == 2 && number(t[1], &a)) { v->capacity = a; return 0; }
    if (strcmp(op, "max-record") == 0 && n == 2 && number(t[1], &a)) { v->max_record = (uint32_t)a; return 0; }
    if (strcmp(op, "header") == 0 && n == 3) return header_override(v, t[1], t[2]);
    if (strcmp(op, "attach-error") == 0) {
        if (!v->segment && create_segment(v) != 0) return -1;
        if (rm_attach_fds(p, v->segment_fd, v->data_fd, v->space_fd) == 0) {
            v->attached = 1;
            return fail(v, "attach succeeded, expected an error containing '%s'", rest);
        }
        if (!strstr(p->error, rest)) return fail(v, "attach error '%s' does not contain '%s'", p->error, rest);
        return 0;
    }
    if (attach(v) != 0) return -1;
    if (strcmp(op, "send") == 0 && n == 3 && number(t[1], &a) && (length = payload(t[2], buffer)) >= 0) {
        if (rm_send(p, (uint16_t)a, buffer, (uint32_t)length) != 0) return fail(v, "send failed: %s", p->error);
    } else if (strcmp(op, "fail") == 0 && n == 4 && strcmp(t[1], "send") == 0 && number(t[2], &a)
               && (length = payload(t[3], buffer)) >= 0) {
        unsigned char *before = malloc(v->size);
        if (!before) return fail(v, "out of memory");
        memcpy(before, v->segment, v->size);
        int status = rm_send(p, (uint16_t)a, buffer, (uint32_t)length);
        int changed = memcmp(before, v->segment, v->size) != 0;
        free(before);
        if (status == 0) return fail(v, "send of type 0x%llx, %ld bytes succeeded, expected it to fail", (unsigned long long)a, length);
        if (changed) return fail(v, "the refused send changed the segment (%s)", p->error);
    } else if (strcmp(op, "reserve") == 0 && n == 4 && number(t[1], &a) && number(t[2], &b)
               && (length = payload(t[3], buffer)) >= 0 && (uint64_t)length <= b) {
        void *reserved = rm_reserve(p, (uint16_t)a, (uint32_t)b);
        if (!reserved) return fail(v, "reserve failed: %s", p->error);
        memcpy(reserved, buffer, (size_t)length);
    } else if (strcmp(op, "commit") == 0 && n == 2 && number(t[1], &a)) {
        if (rm_commit(p, (uint32_t)a) != 0) return fail(v, "commit failed: %s", p->error);
    } else if (strcmp(op, "abort") == 0 && n == 1) {
        rm_abort(p);
    } else if (strcmp(op, "batch") == 0 && n == 1) {
        rm_batch_begin(p);
    } else if (strcmp(op, "end") == 0 && n == 1) {
        rm_batch_end(p);
    } else if (strcmp(op, "checkpoint") == 0 && n == 2 && (length = payload(t[1], buffer)) >= 0) {
        if (rm_checkpoint(p, buffer, (uint32_t)length) != 0) return fail(v, "checkpoint failed: %s", p->error);
    } else if (strcmp(op, "log") == 0 && n == 2 && (length = payload(t[1], buffer)) >= 0) {
        buffer[length] = '\0';
        if (rm_log(p, (const char *)buffer) != 0) return fail(v, "log failed: %s", p->error);
    } else if (strcmp(op, "finish") == 0 && n == 1) {
        if (rm_finish(p) != 0) return fail(v, "finish failed: %s", p->error);
    } else if (strcmp(op, "release") == 0 && n == 2 && number(t[1], &a)) {
        atomic_store_explicit((_Atomic uint64_t *)(void *)(v->segment + 256), a, memory_order_release);
        atomic_thread_fence(memory_order_seq_cst);
        if (atomic_load_explicit((_Atomic uint32_t *)(void *)(v->segment + 512), memory_order_relaxed) != 0) {
            uint64_t one = 1;
            if (write(v->space_fd, &one, 8) < 0 && errno != EAGAIN) return fail(v, "space-free signal failed");
        }
    } else if (strcmp(op, "tail") == 0 && n == 2 && number(t[1], &a)) {
        if (load64(v, 128) != a) return fail(v, "tail is %llu, expected %llu", (unsigned long long)load64(v, 128), (unsigned long long)a);
    } else if (strcmp(op, "committed") == 0 && n == 2 && number(t[1], &a)) {
        if (load64(v, 648) != a)
            return fail(v, "committed is %llu, expected %llu", (unsigned long long)load64(v, 648), (unsigned long long)a);
    } else {
        return fail(v, "cannot parse '%s'", rest[0] ? rest : op);
    }
    return 0;
}

static int run(const char *file) {
    struct vector v;
    memset(&v, 0, sizeof v);
    v.file = file;
    v.segment_fd = v.data_fd = v.space_fd = -1;
    snprintf(v.name, sizeof v.name, "%s", file);
    static unsigned char buffer[MAX_PAYLOAD + 1];
    static char *image[65536];
    static int image_lines[65536];
    int in_image = 0, images = 0, image_start = 0, status = 0;
    FILE *input = fopen(file, "r");
    if (!input) { printf("FAIL %s: cannot open: %s\n", file, strerror(errno)); return 1; }
    char line[LINE_MAX_LENGTH];
    while (status == 0 && fgets(line, sizeof line, input)) {
        v.line++;
        line[strcspn(line, "\r\n")] = '\0';
        if (in_image) {
            if (strcmp(line, "end-image") == 0) {
                int at = v.line;
                in_image = 0;
                v.line = image_start; /* reported unless a line of the image names the row */
                status = check_image(&v, image, images, image_lines);
                if (status == 0) v.line = at;
                for (int i = 0; i < images; i++) free(image[i]);
                images = 0;
            } else if (line[0] && images < 65536) {
                image_lines[images] = v.line;
                image[images++] = strdup(line);
            }
            continue;
        }
        char copy[LINE_MAX_LENGTH], *tokens[8];
        int n = 0;
        snprintf(copy, sizeof copy, "%s", line);
        for (char *token = strtok(copy, " \t"); token && n < 8; token = strtok(NULL, " \t")) tokens[n++] = token;
        if (n == 0 || tokens[0][0] == '#') continue;
        if (strcmp(tokens[0], "image") == 0 && n == 1) {
            if (attach(&v) != 0) status = -1;
            in_image = 1;
            image_start = v.line;
            continue;
        }
        const char *rest = line + strspn(line, " \t");
        if (strncmp(rest, "attach-error", 12) == 0) rest += 12 + strspn(rest + 12, " \t");
        status = statement(&v, tokens, n, rest, buffer);
    }
    for (int i = 0; i < images; i++) free(image[i]);
    if (status == 0 && in_image) status = fail(&v, "image without end-image");
    fclose(input);
    if (v.attached) rm_detach(&v.producer);
    if (v.segment) munmap(v.segment, v.size);
    if (v.segment_fd >= 0) close(v.segment_fd);
    if (v.data_fd >= 0) close(v.data_fd);
    if (v.space_fd >= 0) close(v.space_fd);
    if (status == 0) printf("ok %s\n", v.name);
    else printf("FAIL %s: line %d: %s\n", v.name, v.line, v.failure);
    fflush(stdout);
    return status == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: conformance VECTOR.vec...\n");
        return 2;
    }
    int failed = 0;
    for (int i = 1; i < argc; i++) failed += run(argv[i]);
    return failed ? 1 : 0;
}
