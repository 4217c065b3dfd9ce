/* MariaDB, checked with the client library (libmariadb): connect with the configured account,
 * mysql_ping, server version. */
#ifndef HM_COLLECTORS_MARIADB_H
#define HM_COLLECTORS_MARIADB_H

#include "collectors/collector.h"

/* "MariaDB 10.11.6" from the server's version string ("10.11.6-MariaDB-0+deb12u1", or with the
 * "5.5.5-" prefix older servers send for replication compatibility); "MySQL 8.0.36" when the
 * string does not say MariaDB. buf receives the text; returns buf. */
const char *mariadb_version_text(const char *server_info, char *buf, size_t size);

/* The component state for a client error number: unknown for refused logins (1045 access
 * denied, 1044 no database access, 1698 socket-only account; the server is up but our
 * account is wrong), critical for everything else (2002/2003 cannot connect, 2013 lost, ...). */
enum hm_state mariadb_error_state(unsigned int err);

#endif
