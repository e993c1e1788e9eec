/* ask_tmp.c: placeholder until the chat path lands (issue 4): says so plainly. */
#include "client.h"
csp_code csp_ask(csp_client *client, const csp_chat_message *messages, size_t count,
                 const csp_ask_options *options, char **reply)
{
    (void)messages, (void)count, (void)options;
    if (reply)
        *reply = NULL;
    return csp__fail(client, CSP_EUSAGE, "'ask' is not available in this build yet");
}
