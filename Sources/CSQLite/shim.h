#ifndef BLUEJAY_CSQLITE_SHIM_H
#define BLUEJAY_CSQLITE_SHIM_H
#include <sqlite3.h>
/* SQLITE_TRANSIENT is a cast macro Swift cannot import. */
static inline int bj_sqlite3_bind_text_transient(sqlite3_stmt *s, int i, const char *t, int n) {
    return sqlite3_bind_text(s, i, t, n, SQLITE_TRANSIENT);
}
static inline int bj_sqlite3_bind_blob_transient(sqlite3_stmt *s, int i, const void *b, int n) {
    return sqlite3_bind_blob(s, i, b, n, SQLITE_TRANSIENT);
}
/* Syncs the log (WAL) of db's main database to disk. Commits made with synchronous=NORMAL are in the log but not
   synced; after this they are durable. Nothing to do while no log is open. */
static inline int bj_sqlite3_sync_log(sqlite3 *db) {
    sqlite3_file *log = 0;
    int rc = sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &log);
    if (rc != SQLITE_OK) return rc;
    if (log == 0 || log->pMethods == 0) return SQLITE_OK;
    return log->pMethods->xSync(log, SQLITE_SYNC_NORMAL);
}
/* Turns off SQLite's memory statistics, which no one here reads: with them on, every allocation and free SQLite makes
   takes a process-wide mutex (a twentieth of the store writer's time at 4,000 calls/s). A start-up setting: SQLITE_MISUSE
   once SQLite is initialised. sqlite3_config is variadic, which Swift cannot call. */
static inline int bj_sqlite3_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
#endif
