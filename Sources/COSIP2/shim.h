#ifndef BLUEJAY_COSIP2_SHIM_H
#define BLUEJAY_COSIP2_SHIM_H
/* libosip2's headers use struct timeval and time_t without including their headers. */
#include <time.h>
#include <sys/time.h>
#include <osipparser2/osip_parser.h>
#include <osipparser2/osip_port.h>
#include <osipparser2/sdp_message.h>
#endif
