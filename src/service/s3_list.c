/* s3_list.c - ListObjectsV2, one page at a time (see s3.h): the query
 * built in SigV4's canonical order, the XML answer parsed with libxml2
 * (no network access, no entity expansion). */
#include "service/s3_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

static time_t parse_iso8601(const char *text)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (text == NULL || strptime(text, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
        return 0;
    return timegm(&tm);
}

static char *node_text(xmlNodePtr n)
{
    xmlChar *c = xmlNodeGetContent(n);
    char *s = strdup(c ? (const char *)c : "");
    xmlFree(c);
    return s;
}

static int parse_contents(xmlNodePtr node, anon_s3_entry *e)
{
    memset(e, 0, sizeof *e);
    for (xmlNodePtr n = node->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        char *text = node_text(n);
        if (text == NULL)
            return -1;
        if (xmlStrcmp(n->name, BAD_CAST "Key") == 0) {
            free(e->key);
            e->key = text;
            continue;
        }
        if (xmlStrcmp(n->name, BAD_CAST "Size") == 0)
            e->size = strtoll(text, NULL, 10);
        else if (xmlStrcmp(n->name, BAD_CAST "ETag") == 0)
            s3_copy_value(text, strlen(text), e->etag, sizeof e->etag, 1);
        else if (xmlStrcmp(n->name, BAD_CAST "LastModified") == 0)
            e->last_modified = parse_iso8601(text);
        free(text);
    }
    return e->key ? 0 : -1;
}

static int parse_listing(const anon_buffer *body, anon_s3_listing *out, anon_error *err)
{
    xmlDocPtr doc = xmlReadMemory((const char *)body->data, (int)body->len, "list.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (root == NULL || xmlStrcmp(root->name, BAD_CAST "ListBucketResult") != 0) {
        xmlFreeDoc(doc);
        return anon_fail(err, "s3 list: the answer is not a ListBucketResult document");
    }
    size_t cap = 0;
    int rc = 0;
    for (xmlNodePtr n = root->children; n && rc == 0; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (xmlStrcmp(n->name, BAD_CAST "Contents") == 0) {
            if (out->count == cap) {
                cap = cap ? cap * 2 : 64;
                anon_s3_entry *grown = realloc(out->entries, cap * sizeof *grown);
                if (grown == NULL) {
                    rc = anon_fail(err, "out of memory");
                    break;
                }
                out->entries = grown;
            }
            if (parse_contents(n, &out->entries[out->count]) < 0) {
                free(out->entries[out->count].key);
                rc = anon_fail(err, "s3 list: an entry without a key");
                break;
            }
            out->count++;
        } else if (xmlStrcmp(n->name, BAD_CAST "IsTruncated") == 0) {
            xmlChar *c = xmlNodeGetContent(n);
            out->truncated = c && xmlStrcmp(c, BAD_CAST "true") == 0;
            xmlFree(c);
        } else if (xmlStrcmp(n->name, BAD_CAST "NextContinuationToken") == 0) {
            free(out->next_token);
            if ((out->next_token = node_text(n)) == NULL)
                rc = anon_fail(err, "out of memory");
        }
    }
    xmlFreeDoc(doc);
    if (rc == 0 && out->truncated && (out->next_token == NULL || out->next_token[0] == '\0'))
        rc = anon_fail(err, "s3 list: truncated listing without a continuation token");
    if (rc == 0 && !out->truncated) {
        free(out->next_token);
        out->next_token = NULL;
    }
    return rc;
}

/* Appends "name=value" (value encoded) to a query, with '&' between. */
static int add_param(anon_buffer *q, const char *name, const char *value, anon_error *err)
{
    if (q->len > 0 && s3_append_str(q, "&", err) < 0)
        return -1;
    if (s3_append_str(q, name, err) < 0 || s3_append_str(q, "=", err) < 0)
        return -1;
    return anon_s3_uri_encode(value, 0, q, err);
}

int anon_s3_list(anon_s3 *s3, const char *bucket, const char *prefix,
                 const char *continuation, size_t max_keys,
                 anon_s3_listing *out, anon_error *err)
{
    memset(out, 0, sizeof *out);
    if (s3_check_bucket(bucket, err) < 0)
        return -1;
    anon_buffer query = ANON_BUFFER_INIT, body = ANON_BUFFER_INIT;
    char max[32];
    snprintf(max, sizeof max, "%zu", max_keys);
    int rc = -1;
    /* In sorted order, as SigV4's canonical query string wants them. */
    if ((continuation && continuation[0] &&
         add_param(&query, "continuation-token", continuation, err) < 0) ||
        add_param(&query, "list-type", "2", err) < 0 ||
        (max_keys > 0 && add_param(&query, "max-keys", max, err) < 0) ||
        (prefix && prefix[0] && add_param(&query, "prefix", prefix, err) < 0) ||
        anon_buffer_append(&query, "", 1, err) < 0)
        goto out;
    struct s3_request r;
    s3_request_init(&r, "GET", bucket, NULL);
    r.query = (const char *)query.data;
    r.out = &body;
    r.max_bytes = 64u << 20;
    if (s3_perform(s3, &r, err) < 0)
        goto out;
    if (parse_listing(&body, out, err) < 0) {
        anon_s3_listing_free(out);
        goto out;
    }
    rc = 0;
out:
    anon_buffer_free(&query);
    anon_buffer_free(&body);
    return rc;
}

void anon_s3_listing_free(anon_s3_listing *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->entries[i].key);
    free(list->entries);
    free(list->next_token);
    memset(list, 0, sizeof *list);
}
