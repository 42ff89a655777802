/*
 * ringmaster_consumer.h — the consumer plugin ABI of Ringmaster, version 1.
 *
 * The ONE header shared by the supervisor (the host) and every consumer plugin. Nothing else is
 * shared: a plugin is a shared library (lib<NAME>.so) that exports one function,
 *
 *     const struct rm_consumer_api *ringmaster_consumer_entry(void);
 *
 * which returns a table of functions that stays valid until the library is unloaded. The host
 * checks `abi_version` (must equal RM_CONSUMER_ABI_VERSION) and `struct_size` (at least the size
 * of version 1's table) before it calls anything else. See docs/PLUGINS.md.
 *
 * Errors. Every call that can fail returns RM_OK (0) or RM_ERROR (-1). On RM_ERROR it writes a
 * NUL-terminated message (truncated to fit) into the caller's buffer `error` of `error_size`
 * bytes. The caller owns that buffer: nothing is allocated or freed across the boundary.
 *
 * Lifetime. Every pointer the host passes (records, worker names, payloads, settings, events,
 * messages) is valid only during the call. A plugin copies what it needs and keeps no pointer to
 * it. The `rm_host` struct passed to create, and its functions, stay valid until `close` returns.
 *
 * Threading. Each consumer instance runs on a thread of its own: all its calls (create, consume,
 * event, tick, flush, close) come from that one thread, one at a time, in order. Different
 * instances, of the same plugin or not, run on different threads at the same time, so a plugin
 * keeps per-instance state in its instance and guards anything global it shares. The host's
 * functions may be called from any of the plugin's own threads.
 *
 * Order of calls. create, then any number of consume / event / tick / flush, then close exactly
 * once (after a successful create, whatever happened in between). close flushes and frees the
 * instance; no call follows it. A failed create must free everything itself: close is not called.
 */
#ifndef RINGMASTER_CONSUMER_H
#define RINGMASTER_CONSUMER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes. A change that breaks old plugins or hosts bumps it. */
#define RM_CONSUMER_ABI_VERSION 1u

/* The exported symbol's name, for hosts that look it up with dlsym. */
#define RM_CONSUMER_ENTRY_SYMBOL "ringmaster_consumer_entry"

/* Results of every fallible call. */
#define RM_OK 0
#define RM_ERROR (-1)

/* A good size for an error buffer; hosts pass at least this many bytes. */
#define RM_ERROR_BUFFER_SIZE 1024u

/* How a worker's payloads are framed (the manifest's `format`). */
enum rm_format {
    RM_FORMAT_BYTES = 0,      /* opaque bytes */
    RM_FORMAT_TEXT = 1,       /* UTF-8 text (not checked: may hold invalid bytes) */
    RM_FORMAT_JSON = 2,       /* one JSON value (not checked: may be invalid) */
    RM_FORMAT_FILE_ENTRY = 3  /* the walker's file-entry records, docs/PROTOCOL.md §13 */
};

/* One routed record. Every pointer is valid only during the consume call. */
struct rm_record {
    const char *worker;       /* the worker's name, NOT NUL-terminated */
    size_t worker_length;     /* bytes in `worker` */
    uint32_t instance;        /* the instance index in the worker's pool */
    uint16_t type;            /* the record type, 1 ... 0xEFFF */
    uint16_t format;          /* an rm_format value */
    uint64_t generation;      /* the instance's start count (0 on the first start) */
    uint64_t sequence;        /* the instance's data records before this one, across restarts */
    const uint8_t *payload;   /* untrusted bytes; may change under the reader: copy, then check */
    size_t length;            /* payload bytes */
};

/* What happened to a worker instance, in order with its records. */
enum rm_event_kind {
    RM_EVENT_STARTED = 1,     /* a process of the instance started */
    RM_EVENT_EXITED = 2       /* that process ended (its records were all delivered before this) */
};

/* A worker event. Every pointer is valid only during the event call. */
struct rm_event {
    uint32_t kind;            /* an rm_event_kind value */
    uint32_t instance;
    const char *worker;       /* NOT NUL-terminated */
    size_t worker_length;
    uint64_t generation;
    int32_t pid;              /* STARTED: the process id; EXITED: 0 */
    int32_t exit_code;        /* EXITED by exit: the code; otherwise -1 */
    int32_t signal;           /* EXITED by a signal: its number; otherwise 0 */
    int32_t reserved;
    const char *how;          /* EXITED: "exit 3", "SIGKILL", "quarantined: ...", "stalled after 30s"; STARTED: "" */
    size_t how_length;        /* NOT NUL-terminated */
};

/* Log levels for rm_host.log, as in the supervisor's log. */
enum rm_log_level {
    RM_LOG_DEBUG = 1,
    RM_LOG_INFO = 2,
    RM_LOG_WARNING = 3,
    RM_LOG_ERROR = 4
};

/* What the host offers a consumer instance; passed to create, valid until close returns. */
struct rm_host {
    uint32_t struct_size;     /* sizeof(struct rm_host) of the host: check before using later fields */
    uint32_t reserved;
    void *context;            /* pass it back to the functions below */
    const char *consumer_name;       /* the consumer's name in the manifest, NUL-terminated */
    const char *manifest_directory;  /* the manifest's directory, NUL-terminated: relative paths
                                      * in settings resolve against it */
    /* Writes `length` bytes to the supervisor's standard output, whole: writes of all consumers
     * are serialised, so whole lines never interleave. RM_ERROR (with a message) when standard
     * output is closed or broken; the supervisor ignores SIGPIPE. */
    int (*write_stdout)(void *context, const void *data, size_t length, char *error, size_t error_size);
    /* Logs one message (UTF-8, not NUL-terminated) in the supervisor's log, tagged with the
     * consumer's name. */
    void (*log)(void *context, int level, const char *message, size_t length);
};

/* The table a plugin exports. Optional functions may be NULL. */
struct rm_consumer_api {
    uint32_t abi_version;     /* RM_CONSUMER_ABI_VERSION */
    uint32_t struct_size;     /* sizeof(struct rm_consumer_api) */
    const char *name;         /* a short name for messages, NUL-terminated; may be NULL */

    /* Optional. Checks the settings without side effects (no file opened, nothing started):
     * `ringmaster validate` calls it, and so does `run` before anything starts. `settings_json`
     * is a JSON object of every key of the consumer entry except `plugin` (NUL-terminated, also
     * `settings_length` bytes). On RM_ERROR the message holds one problem per line; a line
     * "KEY: text" is reported at that setting's position in the manifest, as
     * "consumers.<name>.KEY text". */
    int (*check)(const char *settings_json, size_t settings_length, char *error, size_t error_size);

    /* Creates an instance (opens files, ...) with the settings as for check. On RM_OK it stores
     * the instance in *instance (any pointer; NULL is allowed) and *tick_interval_ns (0: no
     * ticks). The message lines of an RM_ERROR are reported as for check. */
    int (*create)(const struct rm_host *host, const char *settings_json, size_t settings_length,
                  void **instance, uint64_t *tick_interval_ns, char *error, size_t error_size);

    /* Takes a batch of `count` records (count >= 1), in commit order. RM_ERROR: the batch was not
     * (completely) handled; by the consumer's `on_error` setting the host retries the SAME batch
     * later (so a consumer must tolerate seeing records again that it had taken before failing)
     * or stops routing to this consumer. */
    int (*consume)(void *instance, const struct rm_record *records, size_t count,
                   char *error, size_t error_size);

    /* Optional. Learns of a worker start or exit, in order with the records. */
    void (*event)(void *instance, const struct rm_event *event);

    /* Optional. Called about every tick_interval_ns (as returned by create) on the instance's
     * thread, between other calls. An error is logged at debug level only. */
    int (*tick)(void *instance, char *error, size_t error_size);

    /* Makes everything consumed so far durable or visible. */
    int (*flush)(void *instance, char *error, size_t error_size);

    /* Final flush, then frees the instance. Called exactly once after a successful create; the
     * instance is gone afterwards even when it returns RM_ERROR. */
    int (*close)(void *instance, char *error, size_t error_size);
};

/* The one symbol a plugin exports. Returns a table with static storage duration. */
const struct rm_consumer_api *ringmaster_consumer_entry(void);

/* Copies `length` bytes of UTF-8 `text` into a caller's error buffer of `size` bytes, cut at a
 * character boundary so the message stays valid UTF-8, NUL-terminated; returns RM_ERROR, so
 * `return rm_report(error, size, msg, strlen(msg));` ends a failing call. Host and plugins
 * both use it. */
static inline int32_t rm_report(char *buffer, size_t size, const char *text, size_t length) {
    if (buffer == 0 || size == 0) return RM_ERROR;
    if (length > size - 1) {
        length = size - 1;
        while (length > 0 && (((unsigned char)text[length]) & 0xC0) == 0x80) length--;
    }
    for (size_t i = 0; i < length; i++) buffer[i] = text[i];
    buffer[length] = 0;
    return RM_ERROR;
}

#ifdef __cplusplus
}
#endif

#endif /* RINGMASTER_CONSUMER_H */
