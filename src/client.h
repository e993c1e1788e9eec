/* SPDX-License-Identifier: MIT */
/*
 * client.h: the csp_client handle shared by the library's modules: logging,
 * the last error, the resolved settings, the cancel flag and the connection
 * pool that chat and speech draw from.
 */
#ifndef CSP_CLIENT_H
#define CSP_CLIENT_H
#include "clawspeak.h"
#include "report.h"
#include "settings.h"

#include <stdatomic.h>

struct csp_client {
    csp_report report; /* log, last error, cancel flag: what lower modules get */
    csp_overrides overrides;
    csp_settings settings;
    int loaded;
    struct csp_http_pool *pool; /* connections kept between requests, turns and threads */
};
/* CSP_EKEY naming every place the key can live (config places, then the env var), when NULL. */
csp_code csp__require_key(csp_client *client, const char *key, const char *purpose,
                          const char *config_places);
/* Pick this run's speech provider: no key and no explicit choice means the local engine. */
csp_code csp__choose_provider(csp_client *client);
#endif
