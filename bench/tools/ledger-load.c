/* ledger-load: an agent load generator for the sidecar's Unix socket (bench/run, part "ledger" and "scale").
 *
 * Each of C connections (one thread each) keeps up to D request lines in flight and reads the replies, which
 * the sidecar sends one per line, in order; the lines replacing the replies read at once go out in one write.
 * Every reply must be {"ok":true}; anything else counts as an error.
 *
 *   ledger-load SOCKET ledgers CONNECTIONS DEPTH SECONDS TAG
 *       opens 16 ledgers per connection with `start` (simulation ids TAG-<conn>-<n>), then writes tool_call
 *       lines round-robin over them for SECONDS.
 *   ledger-load SOCKET calls CONNECTIONS DEPTH PREFIX COUNT PER_CALL
 *       writes PER_CALL tool_call lines to each SIP call PREFIX<i>@bench, i = 1..COUNT, split over the connections.
 *
 * Prints one JSON object: acked, errors, seconds, rate, p50_us, p99_us, max_us (ack latency: from the write of
 * a line to the read of its reply).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { LEDGERS_PER_CONN = 16, MAX_SAMPLES = 1 << 21 };

static const char *sock_path, *tag, *prefix;
static int connections, depth, seconds, calls_mode, per_call;
static long call_count;

struct worker {
    int index;
    long acked, errors;
    uint32_t *lat; /* microseconds */
    long nlat;
    char rbuf[1 << 16];
    size_t rlen, rpos;
};

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + ts.tv_nsec / 1000;
}

static int connect_socket(void) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, sock_path, sizeof a.sun_path - 1);
    for (int i = 0; i < 100; i++) {
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
        usleep(50000);
    }
    perror("connect");
    exit(2);
}

static void write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) { if (errno == EINTR) continue; perror("write"); exit(2); }
        p += w; n -= (size_t)w;
    }
}

/* Reads one reply line; returns 1 if it was {"ok":true}. */
static int read_reply(int fd, struct worker *w) {
    for (;;) {
        char *nl = memchr(w->rbuf + w->rpos, '\n', w->rlen - w->rpos);
        if (nl) {
            size_t len = (size_t)(nl - (w->rbuf + w->rpos));
            int ok = len == 11 && memcmp(w->rbuf + w->rpos, "{\"ok\":true}", 11) == 0;
            if (!ok && w->errors < 3) fprintf(stderr, "reply: %.*s\n", (int)(len > 300 ? 300 : len), w->rbuf + w->rpos);
            w->rpos += len + 1;
            return ok;
        }
        if (w->rpos) { memmove(w->rbuf, w->rbuf + w->rpos, w->rlen - w->rpos); w->rlen -= w->rpos; w->rpos = 0; }
        ssize_t r = read(fd, w->rbuf + w->rlen, sizeof w->rbuf - w->rlen);
        if (r <= 0) { fprintf(stderr, "socket closed by the sidecar\n"); exit(2); }
        w->rlen += (size_t)r;
    }
}

static int make_line(char *out, struct worker *w, long n) {
    if (calls_mode) {
        long per_conn = (call_count + connections - 1) / connections;
        long call = (long)w->index * per_conn + n / per_call + 1;
        return sprintf(out, "{\"type\":\"tool_call\",\"call_id\":\"%s%ld@bench\",\"name\":\"lookup_order\","
                            "\"parameters\":{\"order_id\":\"A%ld\"},\"output\":{\"status\":\"shipped\",\"eta_days\":2},"
                            "\"start_offset_ms\":%ld}\n", prefix, call, n, n % 100000);
    }
    return sprintf(out, "{\"type\":\"tool_call\",\"simulation_result_id\":\"%s-%d-%ld\",\"name\":\"lookup_order\","
                        "\"parameters\":{\"order_id\":\"A%ld\"},\"output\":{\"status\":\"shipped\",\"eta_days\":2},"
                        "\"start_offset_ms\":%ld}\n", tag, w->index, n % LEDGERS_PER_CONN, n, n % 100000);
}

static void *run(void *arg) {
    struct worker *w = arg;
    int fd = connect_socket();
    char line[512];
    if (!calls_mode) {
        for (int i = 0; i < LEDGERS_PER_CONN; i++) {
            int n = sprintf(line, "{\"type\":\"start\",\"simulation_result_id\":\"%s-%d-%d\"}\n", tag, w->index, i);
            write_all(fd, line, (size_t)n);
            char *nl;
            read_reply(fd, w); /* the lookup reply: not {"ok":true}, not an error either */
            (void)nl;
        }
        w->errors = 0;
    }
    long total = -1;
    if (calls_mode) {
        long per_conn = (call_count + connections - 1) / connections;
        long first = (long)w->index * per_conn;
        long mine = call_count - first < per_conn ? call_count - first : per_conn;
        total = mine > 0 ? mine * per_call : 0;
    }
    uint64_t *sent = calloc((size_t)depth, sizeof *sent);
    uint64_t end = now_us() + (uint64_t)seconds * 1000000u;
    long written = 0, read_n = 0;
    char *batch = malloc((size_t)depth * 512);
    for (;;) {
        int stop = calls_mode ? written >= total : now_us() >= end;
        /* Fill the window. */
        size_t blen = 0;
        uint64_t t = now_us();
        while (!stop && written - read_n < depth && (!calls_mode || written < total)) {
            blen += (size_t)make_line(batch + blen, w, written);
            sent[written % depth] = t;
            written++;
        }
        if (blen) write_all(fd, batch, blen);
        if (read_n == written) break;
        /* One reply (reading the socket if none is buffered), then every further reply already read: the
         * refill for all of them goes out in one write, as a buffered agent's would. */
        do {
            int ok = read_reply(fd, w);
            uint64_t lat = now_us() - sent[read_n % depth];
            read_n++;
            if (ok) w->acked++; else w->errors++;
            if (w->nlat < MAX_SAMPLES) w->lat[w->nlat++] = (uint32_t)lat;
        } while (read_n < written && memchr(w->rbuf + w->rpos, '\n', w->rlen - w->rpos));
    }
    close(fd);
    free(sent);
    free(batch);
    return NULL;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: ledger-load SOCKET ledgers CONNS DEPTH SECONDS TAG\n"
                        "       ledger-load SOCKET calls CONNS DEPTH PREFIX COUNT PER_CALL\n");
        return 64;
    }
    sock_path = argv[1];
    calls_mode = strcmp(argv[2], "calls") == 0;
    connections = atoi(argv[3]);
    depth = atoi(argv[4]);
    if (calls_mode) {
        if (argc < 8) return 64;
        prefix = argv[5]; call_count = atol(argv[6]); per_call = atoi(argv[7]); seconds = 0;
    } else {
        seconds = atoi(argv[5]); tag = argv[6];
    }
    if (connections < 1 || depth < 1) return 64;
    struct worker *ws = calloc((size_t)connections, sizeof *ws);
    pthread_t *th = calloc((size_t)connections, sizeof *th);
    uint64_t t0 = now_us();
    for (int i = 0; i < connections; i++) {
        ws[i].index = i;
        ws[i].lat = malloc(sizeof(uint32_t) * MAX_SAMPLES);
        pthread_create(&th[i], NULL, run, &ws[i]);
    }
    long acked = 0, errors = 0, nlat = 0;
    for (int i = 0; i < connections; i++) {
        pthread_join(th[i], NULL);
        acked += ws[i].acked; errors += ws[i].errors; nlat += ws[i].nlat;
    }
    double secs = (now_us() - t0) / 1e6;
    uint32_t *all = malloc(sizeof(uint32_t) * (size_t)(nlat ? nlat : 1));
    long k = 0;
    for (int i = 0; i < connections; i++) { memcpy(all + k, ws[i].lat, sizeof(uint32_t) * (size_t)ws[i].nlat); k += ws[i].nlat; }
    qsort(all, (size_t)nlat, sizeof *all, cmp_u32);
    uint32_t p50 = nlat ? all[nlat / 2] : 0, p99 = nlat ? all[(long)(nlat * 0.99)] : 0, mx = nlat ? all[nlat - 1] : 0;
    printf("{\"acked\":%ld,\"errors\":%ld,\"seconds\":%.3f,\"rate\":%.1f,\"p50_us\":%u,\"p99_us\":%u,\"max_us\":%u}\n",
           acked, errors, secs, acked / secs, p50, p99, mx);
    return errors ? 1 : 0;
}
