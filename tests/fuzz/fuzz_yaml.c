/*
 * fuzz_yaml.c — libFuzzer target for the YAML front end: the loader
 * (compiler/yaml_tree.c) and the schema walk (compiler/fe_yaml.c).
 *
 * Input: the bytes of a spec.  Each run builds a fresh IR with yaml_to_ir()
 * and releases the arena afterwards.  Besides the sanitizers, the oracles
 * (each an abort()) are:
 *   - the return value agrees with the diagnostics: true exactly when no
 *     error was reported;
 *   - a spec accepted by the front end has every string the later stages
 *     index without checking: node and component names, domains, homes,
 *     features, the given fields of identities; every position of those is
 *     inside the file (line >= 1);
 *   - node defaults were applied (every node has server, peer and listen).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcompc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Diagnostics go through stdio's stderr; point that FILE at
	 * /dev/null but leave descriptor 2 alone, so that libFuzzer's and
	 * the sanitizers' reports (written to fd 2) still show. */
	FILE *null = fopen("/dev/null", "w");

	if (null != NULL)
		stderr = null;
	return 0;
}

static void
check_str(const struct ir_str *s)
{
	if (s->s == NULL)
		abort();
	if (s->pos.file == NULL || s->pos.line < 1 || s->pos.col < 1)
		abort();
}

static void
check_endpoint(const struct ir_endpoint *e)
{
	if (e->host.s == NULL || e->port < 1 || e->port > 65535)
		abort();
}

static void
check_ir(const struct ir_spec *spec)
{
	for (size_t i = 0; i < spec->nnodes; i++) {
		check_str(&spec->nodes[i].name);
		check_endpoint(&spec->nodes[i].server);
		check_endpoint(&spec->nodes[i].peer);
		check_endpoint(&spec->nodes[i].listen);
	}
	for (size_t i = 0; i < spec->ncomponents; i++) {
		const struct ir_component *c = &spec->components[i];
		check_str(&c->domain);
		check_str(&c->name);
		for (size_t k = 0; k < c->nhomes; k++)
			check_str(&c->homes[k]);
		for (size_t k = 0; k < c->nfeatures; k++)
			check_str(&c->features[k]);
		for (size_t k = 0; k < c->nids; k++) {
			const struct ir_identity *id = &c->ids[k];
			const struct ir_str *f[] = { &id->category, &id->type,
						     &id->name, &id->lang };
			for (size_t j = 0; j < 4; j++)
				if (f[j]->s != NULL)
					check_str(f[j]);
		}
		if (c->secret.kind != SECRET_NONE)
			check_str(&c->secret.ref);
	}
	if (spec->cluster_secret.kind != SECRET_NONE)
		check_str(&spec->cluster_secret.ref);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ir_spec spec;
	int before = diag_error_count();

	if (size > VC_MAX_SPEC_BYTES)
		return 0;
	memset(&spec, 0, sizeof spec);
	/* yaml_to_ir reads exactly `size` bytes; a NUL-terminated arena copy
	 * is what read_spec_file would hand it. */
	char *text = xstrndup((const char *)data, size);
	bool ok = yaml_to_ir("fuzz.yaml", text, size, &spec);
	if (ok != (diag_error_count() == before))
		abort();
	if (ok)
		check_ir(&spec);
	arena_release();
	return 0;
}
