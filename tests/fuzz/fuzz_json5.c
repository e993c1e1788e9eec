/* SPDX-License-Identifier: MIT */
/* fuzz_json5.c: the JSON5 reader never crashes; errors carry a position; a
   parsed tree prints as JSON that parses back to the same tree. */
#include "json5.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static int finite_tree(const cJSON *node)
{
    for (const cJSON *c = node; c; c = c->next) {
        if (cJSON_IsNumber(c) && !isfinite(c->valuedouble))
            return 0;
        if (c->child && !finite_tree(c->child))
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const path[] = {"agents", "defaults", "model", "primary"};
    csp_json5_track track = {path, 4, 0, {{0}}};
    csp_json5_error err;
    cJSON *root = csp__json5_parse((const char *)data, size, size % 2 ? &track : NULL, &err);
    if (!root) {
        assert(err.line >= 1 && err.column >= 1 && err.message[0]);
        return 0;
    }
    if (finite_tree(root)) {
        char *json = cJSON_PrintUnformatted(root);
        if (json) {
            cJSON *again = csp__json5_parse(json, strlen(json), NULL, &err);
            assert(again && cJSON_Compare(root, again, 1));
            cJSON_Delete(again);
            cJSON_free(json);
        }
    }
    cJSON_Delete(root);
    return 0;
}
