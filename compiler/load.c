/*
 * load.c — one spec from its file to a checked IR: read, front end, node
 * defaults, named checks.  vcompc's build path (main.c) and `vcompc plan`
 * (plan.c, which loads two) share it.
 *
 * Memory: the IR and the text are arena memory (vcompc.h).
 */
#include <string.h>

#include "vcompc.h"

bool
spec_load(const char *path, int format, struct ir_spec *spec)
{
	char *text;
	size_t len;
	bool ok;
	int before = diag_error_count();

	memset(spec, 0, sizeof *spec);
	spec->path = path;
	spec->format = format;
	ir_limits_default(&spec->limits);
	if ((text = read_spec_file(path, &len)) == NULL)
		return false;
	if (format == FMT_PROPERTIES) {
		struct prop *props = NULL;
		size_t nprops = 0;

		ok = properties_read(path, text, len, &props, &nprops);
		ok = ok && properties_to_ir(props, nprops, spec);
	} else if (format == FMT_TDSL) {
		struct td_state *doc;

		ok = tdsl_read(path, text, len, &doc);
		ok = ok && tdsl_to_ir(doc, spec);
	} else {
		ok = yaml_to_ir(path, text, len, spec);
	}
	if (!ok || diag_error_count() > before)
		return false;
	ir_apply_node_defaults(spec);
	return check_spec(spec) && diag_error_count() == before;
}
