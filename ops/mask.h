/* Masking secrets in configuration files and logs before they leave the host (hmctl logs
 * collect). The forms are those of the component configurations in seeds/000 (the ant service
 * config, /etc/hamal/hamal.conf, /var/lib/egisplus-agent/config.ini,
 * /var/lib/sgateway/config/s3block_config.ini, the Windows agent's Sysconfig.ini):
 *   key = value # comment      key=value      key: value      "key": "value",
 *   requirepass value          scheme://user:password@host
 * A secret value becomes MASK_TEXT; everything else of the line, inline comments included,
 * stays as it was. */
#ifndef HM_OPS_MASK_H
#define HM_OPS_MASK_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/util.h"

#define MASK_TEXT "********"

/* Whether a key names a secret. The key is compared case-insensitively with '_', '-', '.' and
 * spaces removed: it is a secret when it contains password, passwd, secret, token, accesskey,
 * secretkey, authkey, apikey, privatekey, nodekey or credential, or is pass, pwd, requirepass
 * or masterauth, unless it ends in file, path or dir (where a secret is kept, not the secret:
 * password_file). So password, passwd, secret, secretAccessKey, SecretKey, AccessKey,
 * accessKey, auth_key and token all are. */
bool mask_is_secret_key(const char *key, size_t len);

/* Appends one line (without its newline) to out with its secrets masked; returns how many
 * values were masked. */
int mask_line(const char *line, size_t len, strbuf *out);

/* Masks a whole text, line by line, keeping its line ends ("\n" or "\r\n"). Returns the number
 * of values masked; out gets the result. */
int mask_text(const char *text, size_t len, strbuf *out);

#endif
