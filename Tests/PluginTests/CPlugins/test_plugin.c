/* A consumer plugin for the ABI tests, built by the tests with cc. Variants by -D:
 *   RM_TEST_ABI=N       report ABI version N instead of RM_CONSUMER_ABI_VERSION
 *   RM_TEST_NO_ENTRY    export no ringmaster_consumer_entry
 * Settings (the host writes compact JSON with sorted keys):
 *   "out":"PATH"        append one line per record: worker.instance seq type length
 *   "fail":N            fail the first N consume calls ("injected failure K")
 *   "create_error":"M"  fail create with message M
 *   "check_error":"M"   fail check with message M
 */
#include <ringmaster_consumer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RM_TEST_ABI
#define RM_TEST_ABI RM_CONSUMER_ABI_VERSION
#endif

struct test_consumer {
    FILE *out;
    long fail;
    long calls;
};

/* The string value of "key" in the host's compact JSON, copied into buffer; 0 if absent. */
static int string_setting(const char *json, const char *key, char *buffer, size_t size) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    const char *start = strstr(json, pattern);
    if (!start) return 0;
    start += strlen(pattern);
    const char *end = strchr(start, '"');
    if (!end || (size_t)(end - start) >= size) return 0;
    memcpy(buffer, start, (size_t)(end - start));
    buffer[end - start] = 0;
    return 1;
}

static long integer_setting(const char *json, const char *key) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *start = strstr(json, pattern);
    return start ? strtol(start + strlen(pattern), NULL, 10) : 0;
}

static int fail(char *error, size_t size, const char *message) {
    snprintf(error, size, "%s", message);
    return RM_ERROR;
}

static int test_check(const char *json, size_t length, char *error, size_t size) {
    (void)length;
    char message[256];
    if (string_setting(json, "check_error", message, sizeof message)) return fail(error, size, message);
    return RM_OK;
}

static int test_create(const struct rm_host *host, const char *json, size_t length, void **instance,
                       uint64_t *tick, char *error, size_t size) {
    (void)host; (void)length;
    char text[1024];
    if (string_setting(json, "create_error", text, sizeof text)) return fail(error, size, text);
    struct test_consumer *c = calloc(1, sizeof *c);
    if (!c) return fail(error, size, "out of memory");
    if (string_setting(json, "out", text, sizeof text)) {
        c->out = fopen(text, "a");
        if (!c->out) { free(c); return fail(error, size, "out: cannot be opened"); }
    }
    c->fail = integer_setting(json, "fail");
    *instance = c;
    *tick = 0;
    return RM_OK;
}

static int test_consume(void *instance, const struct rm_record *records, size_t count, char *error, size_t size) {
    struct test_consumer *c = instance;
    c->calls++;
    if (c->calls <= c->fail) {
        snprintf(error, size, "injected failure %ld", c->calls);
        return RM_ERROR;
    }
    for (size_t i = 0; i < count && c->out; i++) {
        fprintf(c->out, "%.*s.%u %llu %u %zu\n", (int)records[i].worker_length, records[i].worker,
                records[i].instance, (unsigned long long)records[i].sequence, records[i].type, records[i].length);
    }
    return RM_OK;
}

static int test_flush(void *instance, char *error, size_t size) {
    struct test_consumer *c = instance;
    if (c->out && fflush(c->out) != 0) return fail(error, size, "fflush failed");
    return RM_OK;
}

static int test_close(void *instance, char *error, size_t size) {
    struct test_consumer *c = instance;
    int status = test_flush(c, error, size);
    if (c->out) fclose(c->out);
    free(c);
    return status;
}

static const struct rm_consumer_api api = {
    .abi_version = RM_TEST_ABI,
    .struct_size = sizeof(struct rm_consumer_api),
    .name = "test",
    .check = test_check,
    .create = test_create,
    .consume = test_consume,
    .flush = test_flush,
    .close = test_close,
};

#ifdef RM_TEST_NO_ENTRY
const struct rm_consumer_api *ringmaster_consumer_entry_v2(void) { return &api; }
#else
const struct rm_consumer_api *ringmaster_consumer_entry(void) { return &api; }
#endif
