/* The system SQLite (pkg-config sqlite3, Debian libsqlite3-dev) for the sqlite consumer plugin
 * and its tests. SQLITE_TRANSIENT is a cast macro Swift cannot import: it is a function here. */
#ifndef CSQLITE_H
#define CSQLITE_H

#include <sqlite3.h>

/* SQLITE_TRANSIENT: sqlite3_bind_* copies the value before returning. */
static inline sqlite3_destructor_type csqlite_transient(void) { return SQLITE_TRANSIENT; }

#endif /* CSQLITE_H */
