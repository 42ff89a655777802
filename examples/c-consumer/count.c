/* count: a consumer plugin in C. Counts records and payload bytes per worker and prints one
 * line per worker when the run ends. Build with `make`; load with `plugin: ./libcount.so`.
 *
 * Settings: `label` (optional string) is printed before the counts.
 */
#include <ringmaster_consumer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORKERS 64

struct count {
    const struct rm_host *host;     /* valid until close returns */
    char label[64];
    size_t workers;
    struct { char name[64]; unsigned long long records, bytes; } per[MAX_WORKERS];
};

static int fail(char *error, size_t size, const char *message) {
    snprintf(error, size, "%s", message);
    return RM_ERROR;
}

/* Settings arrive as a JSON object; this plugin knows one key, so a plain search is enough. */
static int check(const char *json, size_t length, char *error, size_t size) {
    (void)length;
    if (strcmp(json, "{}") == 0 || strncmp(json, "{\"label\":\"", 10) == 0) return RM_OK;
    return fail(error, size, "label: is the only setting of the count consumer (a string)");
}

static int create(const struct rm_host *host, const char *json, size_t length, void **instance,
                  uint64_t *tick, char *error, size_t size) {
    if (check(json, length, error, size) != RM_OK) return RM_ERROR;
    struct count *c = calloc(1, sizeof *c);
    if (!c) return fail(error, size, "out of memory");
    c->host = host;
    snprintf(c->label, sizeof c->label, "count");
    const char *label = strstr(json, "\"label\":\"");
    if (label) {
        label += 9;
        const char *end = strchr(label, '"');
        if (end) snprintf(c->label, sizeof c->label, "%.*s", (int)(end - label), label);
    }
    *instance = c;
    *tick = 0;
    return RM_OK;
}

static int consume(void *instance, const struct rm_record *records, size_t count, char *error, size_t size) {
    struct count *c = instance;
    for (size_t i = 0; i < count; i++) {
        /* The worker name is not NUL-terminated, and valid only during this call: copy it. */
        size_t w = 0;
        while (w < c->workers && !(strlen(c->per[w].name) == records[i].worker_length
                                   && memcmp(c->per[w].name, records[i].worker, records[i].worker_length) == 0)) w++;
        if (w == c->workers) {
            if (c->workers == MAX_WORKERS || records[i].worker_length >= sizeof c->per[w].name)
                return fail(error, size, "too many workers, or a name too long");
            memcpy(c->per[w].name, records[i].worker, records[i].worker_length);
            c->per[w].name[records[i].worker_length] = 0;
            c->workers++;
        }
        c->per[w].records++;
        c->per[w].bytes += records[i].length;
    }
    return RM_OK;
}

static int flush(void *instance, char *error, size_t size) {
    (void)instance; (void)error; (void)size;
    return RM_OK;
}

static int close_count(void *instance, char *error, size_t size) {
    struct count *c = instance;
    char line[256];
    int status = RM_OK;
    for (size_t w = 0; w < c->workers && status == RM_OK; w++) {
        int n = snprintf(line, sizeof line, "%s: %s: %llu records, %llu bytes\n", c->label, c->per[w].name,
                         c->per[w].records, c->per[w].bytes);
        /* Through the host, so whole lines never interleave with other consumers' output. */
        status = c->host->write_stdout(c->host->context, line, (size_t)n, error, size);
    }
    free(c);
    return status;
}

static const struct rm_consumer_api api = {
    .abi_version = RM_CONSUMER_ABI_VERSION,
    .struct_size = sizeof(struct rm_consumer_api),
    .name = "count",
    .check = check,
    .create = create,
    .consume = consume,
    .flush = flush,
    .close = close_count,
};

const struct rm_consumer_api *ringmaster_consumer_entry(void) { return &api; }
