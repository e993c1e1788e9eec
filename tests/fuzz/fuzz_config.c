/* SPDX-License-Identifier: MIT */
/* fuzz_config.c: a fuzzed file through the whole config path: JSON5,
   ${VAR} substitution, both layouts, the settings resolver. Then `models
   set` edits it in place; when that succeeds the file must read back with
   the new model and no other change to the settings. */
#include "clawspeak.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

static csp_code load(const char *file, char *voice, size_t size)
{
    csp_client *client = csp_client_new();
    csp_code rc = csp_client_load(client, file);
    if (rc == CSP_OK && voice) {
        snprintf(voice, size, "%s|%s|%s", csp_setting_get(client, "voice"),
                 csp_setting_get(client, "base_url"), csp_setting_get(client, "api_key"));
        /* the displayed value, masked where it shares 8+ characters with a key the file holds */
        const char *model = csp_setting_get(client, "chat_model");
        assert(strcmp(model, "openrouter/fuzz/model") == 0 || strstr(model, "..."));
    }
    if (rc != CSP_OK) {
        const char *e = csp_client_error(client);
        assert(e[0] != '\0');
    }
    csp_client_free(client);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/csp-fuzz-config-%d.json5", (int)getpid());
        setenv("CSP_FUZZ_VAR", "from-env", 1);
    }
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, size, f);
    fclose(f);
    csp_client *client = csp_client_new();
    csp_code rc = csp_client_load(client, path);
    char before[512] = "";
    if (rc == CSP_OK)
        snprintf(before, sizeof before, "%s|%s|%s", csp_setting_get(client, "voice"),
                 csp_setting_get(client, "base_url"), csp_setting_get(client, "api_key"));
    else
        assert(csp_client_error(client)[0] != '\0');
    csp_code set = csp_config_set_model(client, path, "openrouter/fuzz/model");
    csp_client_free(client);
    if (rc == CSP_OK && set == CSP_OK) {
        char after[512];
        assert(load(path, after, sizeof after) == CSP_OK);
        assert(strcmp(before, after) == 0);
    }
    unlink(path);
    return 0;
}
