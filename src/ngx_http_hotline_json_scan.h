
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_JSON_SCAN_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_JSON_SCAN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * An in-place validating JSON tokenizer for messages of a fixed schema: a
 * JSON object whose members of known names are tabulated (the value of
 * one of them, an object, too), with no allocation and no copy.  It
 * accepts and rejects what jansson's json_loadb(JSON_REJECT_DUPLICATES)
 * accepts as an object and rejects; the few inputs it cannot judge alone
 * (containers other than the tabulated one, real numbers, duplicates
 * among many or escaped unknown names) it declines: the caller checks
 * those with a full parser, then scans them again trusted.
 */


#define NGX_HOTLINE_JSON_KEYS_MAX     16
#define NGX_HOTLINE_JSON_OTHERS_MAX   8

/* kinds of value */
#define NGX_HOTLINE_JSON_STRING       1
#define NGX_HOTLINE_JSON_INTEGER      2
#define NGX_HOTLINE_JSON_REAL         3
#define NGX_HOTLINE_JSON_TRUE         4
#define NGX_HOTLINE_JSON_FALSE        5
#define NGX_HOTLINE_JSON_NULL         6
#define NGX_HOTLINE_JSON_OBJECT       7
#define NGX_HOTLINE_JSON_ARRAY        8

/* what a string holds once decoded */
#define NGX_HOTLINE_JSON_ESCAPED      0x01   /* the source has escapes */
#define NGX_HOTLINE_JSON_LF_TAB       0x02   /* \n or \t */
#define NGX_HOTLINE_JSON_CR           0x04   /* \r */
#define NGX_HOTLINE_JSON_CONTROL      0x08   /* other C0 and C1 controls,
                                                DEL, U+2028, U+2029 */
#define NGX_HOTLINE_JSON_REWRITE      0x10   /* escaped again, the source
                                                would change: an escape
                                                other than \" \\ \n \r \t,
                                                or DEL */


typedef struct {
    u_char                       *start;    /* a string: between quotes */
    u_char                       *end;
    size_t                        len;      /* a string's, decoded */
    size_t                        chars;    /* ... in code points */
    int64_t                       integer;
    ngx_uint_t                    pos;      /* 1 + its place in the object */
    ngx_uint_t                    kind;
    ngx_uint_t                    flags;
} ngx_http_hotline_json_val_t;


typedef struct {
    ngx_str_t                    *keys;     /* the names scanned for */
    uint32_t                      present;  /* bit k: member keys[k] */
    ngx_http_hotline_json_val_t   member[NGX_HOTLINE_JSON_KEYS_MAX];

    /* the first member of another name: its key (pos 0: none) */
    ngx_http_hotline_json_val_t   other;

    /* the names of the others, for the duplicate check */
    ngx_uint_t                    nothers;
    ngx_str_t                     others[NGX_HOTLINE_JSON_OTHERS_MAX];
} ngx_http_hotline_json_obj_t;


/*
 * Scans p[0..len) as one JSON object: the members named in keys (at most
 * NGX_HOTLINE_JSON_KEYS_MAX, ended by a null string) into root, and the
 * members of the object value of keys[nested] into inner.  Returns NGX_OK
 * (a valid object), NGX_ERROR (not valid JSON, or not an object) or
 * NGX_DECLINED (see above; never when trusted, which skips the checks the
 * full parser made).
 */
ngx_int_t ngx_http_hotline_json_scan(u_char *p, size_t len, ngx_str_t *keys,
    ngx_uint_t nested, ngx_http_hotline_json_obj_t *root,
    ngx_http_hotline_json_obj_t *inner, ngx_uint_t trusted);

/* The member keys[k] of o, or NULL. */
#define ngx_http_hotline_json_get(o, k)                                      \
    (((o)->present & (1u << (k))) ? &(o)->member[k] : NULL)

/* Writes the first size bytes of a scanned string, decoded, to dst. */
void ngx_http_hotline_json_decode(ngx_http_hotline_json_val_t *v,
    u_char *dst, size_t size);

/* A scanned string as a JSON string literal, escaped as json_escape does;
 * needs 6 * v->len + 2 bytes at most. */
u_char *ngx_http_hotline_json_copy(u_char *p, ngx_http_hotline_json_val_t *v);

/* JSON string escaping of s[0..len) (no quotes); 6 * len bytes at most. */
u_char *ngx_http_hotline_json_escape(u_char *p, u_char *s, size_t len);


#endif /* _NGX_HTTP_HOTLINE_JSON_SCAN_H_INCLUDED_ */
