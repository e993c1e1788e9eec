/*
 * client.h: the csp_client handle shared by the library's modules: logging,
 * the last error, the resolved settings and the cancel flag.
 */
#ifndef CSP_CLIENT_H
#define CSP_CLIENT_H
#include "clawspeak.h"
#include "settings.h"

#include <stdatomic.h>

#define CSP_MAX_OVERRIDES 16

struct csp_client {
    csp_log_fn log_fn;
    void *log_userdata;
    csp_log_level log_max;
    char error[1024];
    struct {
        char *name, *value;
    } overrides[CSP_MAX_OVERRIDES];
    size_t override_count;
    csp_settings settings;
    int loaded;
    atomic_int canceled;
};

/* Log through the client's callback; formatted only when the level is wanted. */
void csp__log(csp_client *client, csp_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Record the failure detail (redacted) and return code. */
csp_code csp__fail(csp_client *client, csp_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int csp__canceled(const csp_client *client);
/* CSP_EKEY naming every place the key can live (config places, then the env var), when NULL. */
csp_code csp__require_key(csp_client *client, const char *key, const char *purpose,
                          const char *config_places);
/* Pick this run's speech provider: no key and no explicit choice means the local engine. */
csp_code csp__choose_provider(csp_client *client);
#endif
