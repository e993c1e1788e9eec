/* SPDX-License-Identifier: MIT */
/* test_json5.c: the JSON5 reader against the grammar, table-driven. */
#include "check.h"
#include "json5.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

static const struct {
    const char *input, *expect; /* expect: compact JSON of the tree */
} valid[] = {
    {"{}", "{}"},
    {"  {a: 1}  ", "{\"a\":1}"},
    {"{$a_1: 2, _b: 3}", "{\"$a_1\":2,\"_b\":3}"},
    {"{'single': 'quoted'}", "{\"single\":\"quoted\"}"},
    {"{\"a\": [1, 2, 3,],}", "{\"a\":[1,2,3]}"},
    {"// line comment\n{a: /* block */ 1}", "{\"a\":1}"},
    {"{a: 0x1F, b: 0XaB}", "{\"a\":31,\"b\":171}"},
    {"{a: .5, b: 5., c: +1, d: -2}", "{\"a\":0.5,\"b\":5,\"c\":1,\"d\":-2}"},
    {"{a: 1e3, b: 2.5E-1}", "{\"a\":1000,\"b\":0.25}"},
    {"{a: 'it\\'s', b: \"say \\\"hi\\\"\"}", "{\"a\":\"it's\",\"b\":\"say \\\"hi\\\"\"}"},
    {"{a: 'line1 \\\nline2'}", "{\"a\":\"line1 line2\"}"},
    {"{a: 'cr\\\r\nlf'}", "{\"a\":\"crlf\"}"},
    {"{a: '\\x41\\u0042\\t'}", "{\"a\":\"AB\\t\"}"},
    {"{a: '\\uD83D\\uDE00'}", "{\"a\":\"\xF0\x9F\x98\x80\"}"},
    {"{a: '\\q\\/'}", "{\"a\":\"q/\"}"},
    {"{a: 1, a: 2}", "{\"a\":2}"},
    {"{a: true, b: false, c: null}", "{\"a\":true,\"b\":false,\"c\":null}"},
    {"{\xC3\xA9t\xC3\xA9: 'caf\xC3\xA9'}", "{\"\xC3\xA9t\xC3\xA9\":\"caf\xC3\xA9\"}"},
    {"\xEF\xBB\xBF{a: 1}", "{\"a\":1}"},
    {"{a:\xC2\xA0" "1}", "{\"a\":1}"},
    {"{a: 'u2028 \xE2\x80\xA8 ok'}", "{\"a\":\"u2028 \xE2\x80\xA8 ok\"}"},
    {"[]", "[]"},
    {"'top'", "\"top\""},
};

static const struct {
    const char *input;
    size_t line, column;
    const char *message; /* a substring of the message */
} invalid[] = {
    {"", 1, 1, "expected a value"},
    {"{a: 1", 1, 1, "unterminated object"},
    {"{a: 'abc}", 1, 5, "unterminated string"},
    {"{a: 'ab\ncd'}", 1, 5, "unterminated string"},
    {"{a: 1 /* never closed", 1, 7, "unterminated block comment"},
    {"{a: 1} x", 1, 8, "end of input"},
    {"{a: 1}}", 1, 7, "end of input"},
    {"{a: '\\x4'}", 1, 6, "bad escape"},
    {"{a: '\\u12G4'}", 1, 6, "bad escape"},
    {"{a: '\\1'}", 1, 6, "octal"},
    {"{a: '\\01'}", 1, 6, "bad escape"},
    {"{a: '\\uD83D'}", 1, 6, "surrogate"},
    {"{a: 01}", 1, 5, "leading zeros"},
    {"{a: 1.2.3}", 1, 8, "delimiter"},
    {"{a: 0x}", 1, 7, "hex digits"},
    {"{a: 1e}", 1, 7, "exponent"},
    {"{a: +}", 1, 6, "digit"},
    {"{a 1}", 1, 4, "':'"},
    {"{a: 1 b: 2}", 1, 7, "',' or '}'"},
    {"[1 2]", 1, 4, "',' or ']'"},
    {"{a: tru}", 1, 5, "a value"},
    {"{1a: 2}", 1, 2, "member name"},
    {"{\n  a: 1,\n  b: @\n}", 3, 6, "a value"},
    {"{a: '\xFF'}", 1, 6, "invalid UTF-8"},
    {"{a: '\xC0\xAF'}", 1, 6, "invalid UTF-8"},
    {"{a: '\xED\xA0\x80'}", 1, 6, "invalid UTF-8"},
    {"{a: / 1}", 1, 5, "comment"},
    {"{a: '\\0'}", 1, 6, "NUL"},
};

static void check_depth(void)
{
    char deep[CSP_JSON5_MAX_DEPTH * 2 + 8];
    size_t n = 0;
    for (int i = 0; i < CSP_JSON5_MAX_DEPTH + 1; i++)
        deep[n++] = '[';
    for (int i = 0; i < CSP_JSON5_MAX_DEPTH + 1; i++)
        deep[n++] = ']';
    csp_json5_error err;
    CHECK(csp__json5_parse(deep, n, NULL, &err) == NULL);
    CHECK(strstr(err.message, "nesting") != NULL);
    /* exactly at the limit is fine */
    cJSON *ok = csp__json5_parse(deep + 1, n - 2, NULL, &err);
    CHECK(ok != NULL);
    cJSON_Delete(ok);
}

static void check_track(void)
{
    static const char *const path[] = {"agents", "defaults", "model", "primary"};
    const char *text = "{\n  // keep me\n  agents: {defaults: {model: {primary: 'x/y'}}},\n}\n";
    csp_json5_track track = {path, 4, 0, {{0}}};
    csp_json5_error err;
    cJSON *root = csp__json5_parse(text, strlen(text), &track, &err);
    CHECK(root != NULL);
    CHECK_INT(track.found, 5);
    CHECK_INT(track.level[4].value_end - track.level[4].value_start, 5);
    CHECK(strncmp(text + track.level[4].value_start, "'x/y'", 5) == 0);
    cJSON_Delete(root);
}

int main(void)
{
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        csp_json5_error err;
        cJSON *root = csp__json5_parse(valid[i].input, strlen(valid[i].input), NULL, &err);
        if (!root) {
            fprintf(stderr, "valid[%zu] %s: %zu:%zu: %s\n", i, valid[i].input, err.line,
                    err.column, err.message);
            check_failures++;
            continue;
        }
        char *out = cJSON_PrintUnformatted(root);
        CHECK_STR(out, valid[i].expect);
        cJSON_free(out);
        cJSON_Delete(root);
    }
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        csp_json5_error err;
        cJSON *root = csp__json5_parse(invalid[i].input, strlen(invalid[i].input), NULL, &err);
        CHECK(root == NULL);
        cJSON_Delete(root);
        if (!root) {
            if (err.line != invalid[i].line || err.column != invalid[i].column ||
                !strstr(err.message, invalid[i].message)) {
                fprintf(stderr, "invalid[%zu] '%s': got %zu:%zu '%s', want %zu:%zu '%s'\n", i,
                        invalid[i].input, err.line, err.column, err.message, invalid[i].line,
                        invalid[i].column, invalid[i].message);
                check_failures++;
            }
            check_count++;
        }
    }
    /* Infinity and NaN parse to numbers */
    csp_json5_error err;
    cJSON *special = csp__json5_parse("[Infinity, -Infinity, NaN, +Infinity]", 37, NULL, &err);
    CHECK(special != NULL);
    CHECK(special && cJSON_GetArrayItem(special, 0)->valuedouble > 1e308);
    CHECK(special && cJSON_GetArrayItem(special, 1)->valuedouble < -1e308);
    CHECK(special && cJSON_GetArrayItem(special, 2)->valuedouble != cJSON_GetArrayItem(special, 2)->valuedouble);
    cJSON_Delete(special);
    CHECK(csp__json5_parse("{a:\0}", 5, NULL, &err) == NULL);
    check_depth();
    check_track();
    return CHECK_DONE();
}
