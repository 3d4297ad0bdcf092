/* test_params.c — parameter tables are checked against the plugin's declared spec: unknown,
 * missing and mistyped keys are errors naming the key and the plugin; defaults fill the rest. */
#include "loupe/plugins.h"
#include "test_util.h"

#define NUM(k, v) { k, { .type = LP_PARAM_NUMBER, .number = v } }
#define INT(k, v) { k, { .type = LP_PARAM_INT, .integer = v, .number = v } }
#define STR(k, v) { k, { .type = LP_PARAM_STRING, .string = v } }
#define BOOL(k, v) { k, { .type = LP_PARAM_BOOL, .boolean = v } }

int main(void)
{
	lp_ctx *ctx = tu_ctx();
	const lp_plugin *p;
	lp_params *ps = NULL;

	CHECK_OK(ctx, lp_plugin_load(ctx, FIXTURE_DIR "/good/fixture_good.so", &p));
	if (tu_failures)
		return tu_finish(ctx, "test_params");

	lp_kv ok[] = { INT("k", 3), NUM("alpha", 0.25), BOOL("flag", 1) };
	CHECK_OK(ctx, lp_params_new(ctx, p, ok, 3, &ps));
	lp_params_free(ps);

	lp_kv typo[] = { INT("k", 3), NUM("alpah", 0.25) };
	CHECK(lp_params_new(ctx, p, typo, 2, &ps) == LP_ERR_ARG && ps == NULL);
	CHECK_MSG(ctx, "fixture_good", "unknown parameter 'alpah'", "did you mean 'alpha'");

	lp_kv far[] = { INT("k", 3), NUM("zzzzzzzz", 1) };
	CHECK(lp_params_new(ctx, p, far, 2, &ps) == LP_ERR_ARG);
	CHECK_MSG(ctx, "fixture_good", "'zzzzzzzz'", "parameters: k, alpha, flag, mode");

	lp_kv missing[] = { NUM("alpha", 1) };
	CHECK(lp_params_new(ctx, p, missing, 1, &ps) == LP_ERR_ARG);
	CHECK_MSG(ctx, "fixture_good", "missing required parameter 'k'");

	lp_kv wrong[] = { INT("k", 1), STR("alpha", "big") };
	CHECK(lp_params_new(ctx, p, wrong, 2, &ps) == LP_ERR_ARG);
	CHECK_MSG(ctx, "fixture_good", "'alpha' must be a number, got a string");

	lp_kv frac[] = { NUM("k", 1.5) };
	CHECK(lp_params_new(ctx, p, frac, 1, &ps) == LP_ERR_ARG);
	CHECK_MSG(ctx, "'k' must be an integer", "got a number");

	lp_kv whole[] = { NUM("k", 2.0), INT("alpha", 2) }; /* 2.0 is an integer; 2 a number */
	CHECK_OK(ctx, lp_params_new(ctx, p, whole, 2, &ps));
	lp_params_free(ps);

	/* values reach the plugin through the host table, defaults included */
	lp_layer *l = NULL;
	lp_kv neg[] = { INT("k", -1) };
	CHECK(lp_layer_new(ctx, p, neg, 1, &l) == LP_ERR_ARG && l == NULL);
	CHECK_MSG(ctx, "fixture_good", "k must be >= 0");
	CHECK_OK(ctx, lp_layer_new(ctx, p, ok, 1, &l));
	lp_layer_free(l);
	return tu_finish(ctx, "test_params");
}
