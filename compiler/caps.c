/*
 * caps.c — the XEP-0115 §5.1 verification string ("ver") of a disco#info
 * response.
 *
 * Every sort here is the "i;octet" collation of RFC 4790 §9.3, which is a
 * byte-wise comparison.  strcmp() is exactly that for NUL-free strings: the
 * C standard has it compare bytes as unsigned char, so "el" < "en" and
 * U+03A8 (CE A8) sorts after every ASCII character.  An absent lang or name
 * (NULL) is the empty string, as the algorithm writes "client/pc//name<".
 *
 * Memory: the sorted copies and the string S live on the heap only for the
 * duration of caps_ver() and are freed before it returns.
 */
#include <stdlib.h>
#include <string.h>

#include <nettle/base64.h>
#include <nettle/sha1.h>

#include "vcompc.h"

static const char *
str_or_empty(const struct ir_str *s)
{
	return s->s != NULL ? s->s : "";
}

static void *
heap_array(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (p == NULL)
		oom();
	return p;
}

int
caps_identity_cmp(const void *a, const void *b)
{
	const struct ir_identity *x = *(const struct ir_identity *const *)a;
	const struct ir_identity *y = *(const struct ir_identity *const *)b;
	int r;

	if ((r = strcmp(str_or_empty(&x->category),
			str_or_empty(&y->category))) != 0)
		return r;
	if ((r = strcmp(str_or_empty(&x->type), str_or_empty(&y->type))) != 0)
		return r;
	if ((r = strcmp(str_or_empty(&x->lang), str_or_empty(&y->lang))) != 0)
		return r;
	/* Not part of the XEP's order (a well-formed response has no two
	 * identities equal so far), but keeps the result independent of the
	 * input order even for ill-formed input. */
	return strcmp(str_or_empty(&x->name), str_or_empty(&y->name));
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
cmp_form(const void *a, const void *b)
{
	const struct caps_form *x = *(const struct caps_form *const *)a;
	const struct caps_form *y = *(const struct caps_form *const *)b;

	return strcmp(x->form_type, y->form_type);
}

static int
cmp_field(const void *a, const void *b)
{
	const struct caps_form_field *x = *(const struct caps_form_field *const *)a;
	const struct caps_form_field *y = *(const struct caps_form_field *const *)b;

	return strcmp(x->var, y->var);
}

/* Appends s and the '<' that terminates every item of S. */
static void
add_item(struct buf *b, const char *s)
{
	buf_puts(b, s);
	buf_add(b, "<", 1);
}

static void
add_form(struct buf *b, const struct caps_form *f)
{
	const struct caps_form_field **fields;
	const char **values;

	add_item(b, f->form_type);
	fields = heap_array(f->nfields, sizeof *fields);
	for (size_t i = 0; i < f->nfields; i++)
		fields[i] = &f->fields[i];
	qsort(fields, f->nfields, sizeof *fields, cmp_field);
	for (size_t i = 0; i < f->nfields; i++) {
		/* FORM_TYPE went first, as the form's own key. */
		if (strcmp(fields[i]->var, "FORM_TYPE") == 0)
			continue;
		add_item(b, fields[i]->var);
		values = heap_array(fields[i]->nvalues, sizeof *values);
		for (size_t j = 0; j < fields[i]->nvalues; j++)
			values[j] = fields[i]->values[j];
		qsort(values, fields[i]->nvalues, sizeof *values, cmp_str);
		for (size_t j = 0; j < fields[i]->nvalues; j++)
			add_item(b, values[j]);
		free(values);
	}
	free(fields);
}

void
caps_ver(const struct ir_identity *ids, size_t nids,
	 const char *const *features, size_t nfeatures,
	 const struct caps_form *forms, size_t nforms, char out[29])
{
	const struct ir_identity **sid;
	const char **sfeat;
	const struct caps_form **sform;
	struct buf s = { 0 };
	struct sha1_ctx ctx;
	uint8_t digest[SHA1_DIGEST_SIZE];

	sid = heap_array(nids, sizeof *sid);
	for (size_t i = 0; i < nids; i++)
		sid[i] = &ids[i];
	qsort(sid, nids, sizeof *sid, caps_identity_cmp);
	for (size_t i = 0; i < nids; i++) {
		buf_printf(&s, "%s/%s/%s/", str_or_empty(&sid[i]->category),
			   str_or_empty(&sid[i]->type),
			   str_or_empty(&sid[i]->lang));
		add_item(&s, str_or_empty(&sid[i]->name));
	}
	free(sid);

	sfeat = heap_array(nfeatures, sizeof *sfeat);
	for (size_t i = 0; i < nfeatures; i++)
		sfeat[i] = features[i];
	qsort(sfeat, nfeatures, sizeof *sfeat, cmp_str);
	for (size_t i = 0; i < nfeatures; i++)
		add_item(&s, sfeat[i]);
	free(sfeat);

	sform = heap_array(nforms, sizeof *sform);
	for (size_t i = 0; i < nforms; i++)
		sform[i] = &forms[i];
	qsort(sform, nforms, sizeof *sform, cmp_form);
	for (size_t i = 0; i < nforms; i++)
		add_form(&s, sform[i]);
	free(sform);

	sha1_init(&ctx);
	sha1_update(&ctx, s.len, (const uint8_t *)(s.data ? s.data : ""));
	sha1_digest(&ctx, sizeof digest, digest);
	buf_free(&s);

	/* 20 bytes are 28 base64 characters, the last one '=' (RFC 4648 §4,
	 * padding kept as the XEP's examples do). */
	base64_encode_raw(out, sizeof digest, digest);
	out[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE)] = '\0';
}
