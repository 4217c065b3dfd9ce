/* Port checks: a TCP connect and, for TLS ports, a handshake reporting the certificate's days
 * to expiry (the seed's "10443 port health"). */
#ifndef HM_COLLECTORS_PORT_H
#define HM_COLLECTORS_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "collectors/collector.h"

/* What one probe found. */
typedef struct port_probe {
    bool open;
    char error[256];      /* why the connect failed ("connection refused", "no answer within
                             5 s"), or why the handshake failed; "" otherwise */
    double connect_ms;
    bool tls;             /* a handshake was attempted */
    bool handshake_ok;
    double handshake_ms;
    bool have_cert;
    int64_t cert_days;    /* whole days from now to notAfter, negative once expired */
    char cert_date[16];   /* notAfter as YYYY-MM-DD (UTC) */
    bool verified;        /* checked against ca_file */
    char verify_error[160]; /* why verification failed, "" when it passed or was not asked */
} port_probe;

/* Connects to host:port (and with tls, handshakes with SNI = host, verifying against
 * ca_file when non-NULL) without blocking past deadline_mono; timeout_ms is only used in the
 * "no answer within N s" text. now_ms is the wall clock for the days to expiry. Fills p;
 * never fails as a function. */
void port_probe_run(const char *host, const char *port, bool tls, const char *ca_file,
                    int64_t deadline_mono, int64_t timeout_ms, int64_t now_ms, port_probe *p);

/* Days from now_ms to the certificate's notAfter (negative when expired) and its date as
 * YYYY-MM-DD. x509 is an OpenSSL X509 *. Returns 0, or -1 when the time cannot be read. */
int port_cert_expiry(const void *x509, int64_t now_ms, int64_t *days, char date[16]);

/* The component "port NAME" (kind "port", status "open"/"closed") and samples port.up,
 * port.connect.ms and, with a certificate, port.tls.cert_days, all labelled port="NAME".
 * Critical when closed, the handshake failed or the certificate has expired; warning when it
 * expires within cert_warning_ms or was not trusted by the CA file. */
void port_report(const char *name, const char *address, const port_probe *p,
                 int64_t cert_warning_ms, int64_t now_ms, hm_result *out);

#endif
