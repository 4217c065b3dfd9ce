/* Small TCP helpers shared by the collectors that speak a protocol themselves (redis, port):
 * a connect and blocking-free reads and writes bounded by a monotonic deadline, so a server that
 * accepts and never answers cannot hold a collector past its budget. */
#ifndef HM_COLLECTORS_NET_H
#define HM_COLLECTORS_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/util.h"

/* Milliseconds left until deadline_mono (an hm_mono_ms() value); at least 1 so a caller can
 * still try once, never negative. */
int64_t net_remaining_ms(int64_t deadline_mono);

/* Splits "host:port" or "[v6addr]:port" into host (without brackets) and port. Returns 0, or -1
 * with e set ("invalid address 'x': expected host:port") when the port is missing or empty. */
int net_split_address(const char *address, char *host, size_t host_size, char *port,
                      size_t port_size, hm_err *e);

/* Connects to host:port over TCP without blocking past deadline_mono. The returned socket is
 * non-blocking. Returns the file descriptor, or -1 with e set to the reason only, in lower case:
 * "connection refused", "no answer within 5 s" (timeout_ms is used for this text only),
 * "cannot resolve 'x': Name or service not known". Name resolution itself uses getaddrinfo and
 * is not bounded for host names (numeric addresses resolve instantly). */
int net_connect_tcp(const char *host, const char *port, int64_t deadline_mono, int64_t timeout_ms,
                    hm_err *e);

/* Writes all n bytes to a non-blocking fd before the deadline. Returns 0, or -1 with e set
 * ("no answer within N s" on timeout, else the system's reason in lower case). */
int net_write_all(int fd, const void *buf, size_t n, int64_t deadline_mono, int64_t timeout_ms,
                  hm_err *e);

/* Reads whatever is available (waiting until the deadline for at least one byte) and appends
 * it to sb. Returns the number of bytes read, 0 at end of stream, or -1 with e set as above. */
ssize_t net_read_some(int fd, strbuf *sb, int64_t deadline_mono, int64_t timeout_ms, hm_err *e);

/* strerror(err) with its first letter in lower case, as hmctl's messages use it ("connection
 * refused"); a pointer into buf. */
const char *net_strerror(int err, char *buf, size_t size);

#endif
