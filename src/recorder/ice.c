/*
 * hotline-recorder: libnice agent per session.  The recorder is the
 * controlled agent (the WHIP client offers), gathers host candidates on
 * the configured addresses only, and answers with all of them.
 */

#include <stdio.h>
#include <string.h>

#include "ice.h"


/*
 * GLib (2.74) takes the descriptors of a source that cannot recurse out
 * of the poll set for each of its dispatches and puts them back after
 * it, waking the loop up (a write(2) to its eventfd) both times: two
 * system calls for each socket read.  The recorder never runs the loop
 * from inside a callback, so the socket source that delivers a packet
 * is marked as one that may recurse the first time it does.
 */

static void
rec_ice_on_recv(NiceAgent *agent, guint stream, guint component, guint len,
    gchar *buf, gpointer data)
{
    GSource    *source;
    rec_ice_t  *ice;

    (void) agent;
    (void) stream;
    (void) component;

    source = g_main_current_source();

    if (source != NULL && !g_source_get_can_recurse(source)) {
        g_source_set_can_recurse(source, TRUE);
    }

    ice = data;
    ice->recv(ice->data, (u_char *) buf, len);
}


static void
rec_ice_on_state(NiceAgent *agent, guint stream, guint component,
    guint state, gpointer data)
{
    rec_ice_t  *ice;

    (void) agent;
    (void) component;

    ice = data;

    if (stream != ice->stream) {
        return;
    }

    rec_log(REC_LOG_DEBUG, "ice: state %s",
            nice_component_state_to_string(state));

    if (state == NICE_COMPONENT_STATE_READY
        || state == NICE_COMPONENT_STATE_CONNECTED)
    {
        ice->state(ice->data, REC_ICE_CONNECTED);

    } else if (state == NICE_COMPONENT_STATE_FAILED) {
        ice->state(ice->data, REC_ICE_FAILED);
    }
}


int
rec_ice_create(rec_ice_t *ice, rec_ice_recv_pt recv, rec_ice_state_pt state,
    void *data)
{
    unsigned      i;
    NiceAddress   addr;

    memset(ice, 0, sizeof(rec_ice_t));
    ice->recv = recv;
    ice->state = state;
    ice->data = data;

    ice->agent = nice_agent_new_full(g_main_context_default(),
                                     NICE_COMPATIBILITY_RFC5245,
                                     NICE_AGENT_OPTION_NONE);
    if (ice->agent == NULL) {
        return REC_ERROR;
    }

    /* no UPnP port mapping (it would probe the network), UDP only */

    g_object_set(ice->agent, "controlling-mode", FALSE, "upnp", FALSE,
                 "ice-tcp", FALSE, NULL);

    for (i = 0; i < rec_conf.n_ice_addrs; i++) {
        nice_address_init(&addr);

        if (!nice_address_set_from_string(&addr, rec_conf.ice_addrs[i])
            || !nice_agent_add_local_address(ice->agent, &addr))
        {
            rec_log(REC_LOG_ERR, "ice: bad local address \"%s\"",
                    rec_conf.ice_addrs[i]);
            goto failed;
        }
    }

    ice->stream = nice_agent_add_stream(ice->agent, 1);
    if (ice->stream == 0) {
        goto failed;
    }

    if (rec_conf.port_min) {
        nice_agent_set_port_range(ice->agent, ice->stream, 1,
                                  rec_conf.port_min, rec_conf.port_max);
    }

    g_signal_connect(ice->agent, "component-state-changed",
                     G_CALLBACK(rec_ice_on_state), ice);

    if (!nice_agent_attach_recv(ice->agent, ice->stream, 1,
                                g_main_context_default(), rec_ice_on_recv,
                                ice))
    {
        goto failed;
    }

    if (!nice_agent_gather_candidates(ice->agent, ice->stream)) {
        goto failed;
    }

    return REC_OK;

failed:

    rec_ice_free(ice);
    return REC_ERROR;
}


int
rec_ice_local(rec_ice_t *ice, gchar **ufrag, gchar **pwd,
    gchar ***candidates)
{
    guint        n;
    gchar       *sdp;
    GSList      *list, *l;
    GPtrArray   *arr;

    if (!nice_agent_get_local_credentials(ice->agent, ice->stream, ufrag,
                                          pwd))
    {
        return REC_ERROR;
    }

    list = nice_agent_get_local_candidates(ice->agent, ice->stream, 1);
    arr = g_ptr_array_new();
    n = 0;

    for (l = list; l != NULL; l = l->next) {
        sdp = nice_agent_generate_local_candidate_sdp(ice->agent, l->data);

        if (sdp != NULL && strncmp(sdp, "a=", 2) == 0) {
            g_ptr_array_add(arr, g_strdup(sdp + 2));
            n++;
        }

        g_free(sdp);
    }

    g_slist_free_full(list, (GDestroyNotify) nice_candidate_free);
    g_ptr_array_add(arr, NULL);
    *candidates = (gchar **) g_ptr_array_free(arr, FALSE);

    if (n == 0) {
        g_free(*ufrag);
        g_free(*pwd);
        g_strfreev(*candidates);
        return REC_ERROR;
    }

    return REC_OK;
}


int
rec_ice_remote(rec_ice_t *ice, const char *ufrag, const char *pwd)
{
    if (!nice_agent_set_remote_credentials(ice->agent, ice->stream, ufrag,
                                           pwd))
    {
        return REC_ERROR;
    }

    return REC_OK;
}


int
rec_ice_add_candidates(rec_ice_t *ice, char (*c)[512], unsigned n)
{
    char           line[600];
    GSList        *list;
    unsigned       i, added;
    NiceCandidate *cand;

    list = NULL;
    added = 0;

    for (i = 0; i < n; i++) {
        snprintf(line, sizeof(line), "a=%s", c[i]);

        cand = nice_agent_parse_remote_candidate_sdp(ice->agent,
                                                     ice->stream, line);
        if (cand == NULL) {
            continue;       /* mDNS names, TCP, unparseable: skipped */
        }

        if (cand->component_id != 1) {
            nice_candidate_free(cand);
            continue;
        }

        list = g_slist_prepend(list, cand);
        added++;
    }

    if (list != NULL) {
        (void) nice_agent_set_remote_candidates(ice->agent, ice->stream, 1,
                                                list);
        g_slist_free_full(list, (GDestroyNotify) nice_candidate_free);
    }

    return (int) added;
}


int
rec_ice_send(rec_ice_t *ice, const u_char *buf, size_t len)
{
    gint  n;

    if (ice->agent == NULL) {
        return REC_ERROR;
    }

    n = nice_agent_send(ice->agent, ice->stream, 1, (guint) len,
                        (const gchar *) buf);

    return n == (gint) len ? REC_OK : REC_ERROR;
}


void
rec_ice_free(rec_ice_t *ice)
{
    if (ice->agent != NULL) {
        if (ice->stream) {
            nice_agent_attach_recv(ice->agent, ice->stream, 1,
                                   g_main_context_default(), NULL, NULL);
            nice_agent_remove_stream(ice->agent, ice->stream);
        }

        g_signal_handlers_disconnect_by_data(ice->agent, ice);
        g_object_unref(ice->agent);
        ice->agent = NULL;
    }
}
