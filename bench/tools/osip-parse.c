/* osip-parse: bare libosip2 over SIP message files, the baseline for the Swift wrapper's overhead
 * (bench/run, part "parser"; compare with the bluejay-parse-bench executable under callgrind).
 *
 *   osip-parse LOOPS FILE...
 *
 * Per message and loop: osip_message_init + osip_message_parse, then Call-ID (as a string), CSeq number and
 * X-Simulation-Result-Id, then osip_message_free. Prints how many messages parsed and a checksum.
 */
#include <osipparser2/osip_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void quiet(const char *fi, int li, osip_trace_level_t level, const char *chfr, va_list ap) {
    (void)fi; (void)li; (void)level; (void)chfr; (void)ap;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: osip-parse LOOPS FILE...\n"); return 64; }
    long loops = atol(argv[1]);
    int nfiles = argc - 2;
    char **data = calloc((size_t)nfiles, sizeof *data); size_t *len = calloc((size_t)nfiles, sizeof *len);
    for (int i = 0; i < nfiles; i++) {
        FILE *f = fopen(argv[i + 2], "rb");
        if (!f) { perror(argv[i + 2]); return 2; }
        data[i] = malloc(1 << 16);
        len[i] = fread(data[i], 1, 1 << 16, f);
        fclose(f);
    }
    parser_init();
    osip_trace_initialize_func(TRACE_LEVEL0, quiet);
    long parsed = 0, checksum = 0;
    for (long l = 0; l < loops; l++) {
        for (int i = 0; i < nfiles; i++) {
            osip_message_t *m;
            if (osip_message_init(&m) != 0) return 2;
            if (osip_message_parse(m, data[i], len[i]) == 0) {
                char *cid = NULL;
                osip_call_id_to_str(osip_message_get_call_id(m), &cid);
                osip_cseq_t *cseq = osip_message_get_cseq(m);
                long number = cseq && cseq->number ? atol(cseq->number) : 0;
                osip_header_t *h = NULL;
                osip_message_header_get_byname(m, "x-simulation-result-id", 0, &h);
                checksum += (cid ? (long)strlen(cid) : 0) + number + (h && h->hvalue ? (long)strlen(h->hvalue) : 0);
                osip_free(cid);
                parsed++;
            }
            osip_message_free(m);
        }
    }
    printf("{\"parsed\":%ld,\"checksum\":%ld}\n", parsed, checksum);
    return 0;
}
