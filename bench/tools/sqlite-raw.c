/* sqlite-raw: the machine's limit for the ledger (bench/run, part "ledger").
 *
 *   sqlite-raw SOURCE_DB TARGET_DB BATCH SECONDS
 *
 * Creates TARGET_DB with SOURCE_DB's schema (the sidecar's own store), the store's pragmas (WAL,
 * synchronous=FULL; SQLite's automatic checkpoint every 10,000 pages stands in for the sidecar's checkpoint
 * thread), and inserts 1,000 of SOURCE_DB's records, drawn at random so they spread over its calls as the
 * sidecar's writes do (which costs more wherever an index on the call would be), again and again, BATCH rows per
 * transaction, for SECONDS, with one prepared statement: no protocol, no threads, nothing but SQLite and the disk.
 * Prints {"rows":N,"seconds":S,"rate":R,"commits":C,"cpu_us_per_row":U}.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

struct row { char *call_id, *kind; long long so, sv; int has_eo; long long eo, ev; int has_ev; void *frag; int flen; };

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static void check(int rc, sqlite3 *db, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) { fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db)); exit(2); }
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: sqlite-raw SOURCE_DB TARGET_DB BATCH SECONDS\n"); return 64; }
    int batch = atoi(argv[3]); double secs = atof(argv[4]);
    sqlite3 *src, *db;
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); /* as the sidecar's store runs it */
    check(sqlite3_open_v2(argv[1], &src, SQLITE_OPEN_READONLY, NULL), src, "open source");
    check(sqlite3_open(argv[2], &db), db, "open target");
    check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=10000;", NULL, NULL, NULL), db, "pragma");

    sqlite3_stmt *s;
    check(sqlite3_prepare_v2(src, "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type DESC", -1, &s, NULL), src, "schema");
    while (sqlite3_step(s) == SQLITE_ROW) check(sqlite3_exec(db, (const char *)sqlite3_column_text(s, 0), NULL, NULL, NULL), db, "create");
    sqlite3_finalize(s);

    struct row *rows = calloc(1000, sizeof *rows); int n = 0;
    check(sqlite3_prepare_v2(src, "SELECT call_id, kind, start_is_offset, start_value, end_is_offset, end_value, fragment FROM records WHERE kind!='sip_event' ORDER BY random() LIMIT 1000", -1, &s, NULL), src, "rows");
    while (n < 1000 && sqlite3_step(s) == SQLITE_ROW) {
        struct row *r = &rows[n++];
        r->call_id = strdup((const char *)sqlite3_column_text(s, 0));
        r->kind = strdup((const char *)sqlite3_column_text(s, 1));
        r->so = sqlite3_column_int64(s, 2); r->sv = sqlite3_column_int64(s, 3);
        r->has_eo = sqlite3_column_type(s, 4) != SQLITE_NULL; r->eo = sqlite3_column_int64(s, 4);
        r->has_ev = sqlite3_column_type(s, 5) != SQLITE_NULL; r->ev = sqlite3_column_int64(s, 5);
        r->flen = sqlite3_column_bytes(s, 6); r->frag = malloc((size_t)r->flen + 1); memcpy(r->frag, sqlite3_column_blob(s, 6), (size_t)r->flen);
    }
    sqlite3_finalize(s);
    if (n == 0) { fprintf(stderr, "no records in %s\n", argv[1]); return 2; }

    sqlite3_stmt *ins;
    check(sqlite3_prepare_v2(db, "INSERT INTO records(call_id, kind, start_is_offset, start_value, end_is_offset, end_value, fragment) VALUES(?,?,?,?,?,?,?)", -1, &ins, NULL), db, "prepare");
    long total = 0, commits = 0; double t0 = now(), t;
    do {
        check(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), db, "begin");
        for (int i = 0; i < batch; i++, total++) {
            struct row *r = &rows[total % n];
            sqlite3_bind_text(ins, 1, r->call_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 2, r->kind, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 3, r->so); sqlite3_bind_int64(ins, 4, r->sv);
            if (r->has_eo) sqlite3_bind_int64(ins, 5, r->eo); else sqlite3_bind_null(ins, 5);
            if (r->has_ev) sqlite3_bind_int64(ins, 6, r->ev); else sqlite3_bind_null(ins, 6);
            sqlite3_bind_blob(ins, 7, r->frag, r->flen, SQLITE_STATIC);
            check(sqlite3_step(ins), db, "insert");
            sqlite3_reset(ins);
        }
        check(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
        commits++;
    } while ((t = now()) - t0 < secs);
    /* CPU of this process (user + system, the fsyncs' block-layer work included), for the sidecar's CPU per record. */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu_us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    printf("{\"rows\":%ld,\"seconds\":%.3f,\"rate\":%.1f,\"commits\":%ld,\"cpu_us_per_row\":%.1f}\n", total, t - t0,
           total / (t - t0), commits, cpu_us / (total ? total : 1));
    return 0;
}
