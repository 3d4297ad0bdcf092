/* app.h — the `loupe` executable's commands that live in files of their own. */
#ifndef LOUPE_APP_H
#define LOUPE_APP_H

#include "loupe/loupe.h"
#include "loupe/plugins.h"

/* key=value -> kv, typed as plugin p declares key; 2 (said on stderr, as `loupe CMD`) if not */
int loupe_parse_kv(const char *cmd, const lp_plugin *p, char *arg, lp_kv *kv);

extern const char loupe_usage_dataset[];
int loupe_cmd_dataset(lp_ctx *ctx, int argc, char **argv, const char *cmdline);

extern const char loupe_usage_compare[];
int loupe_cmd_compare(lp_ctx *ctx, int argc, char **argv);

extern const char loupe_usage_analyze[];
int loupe_cmd_analyze(lp_ctx *ctx, int argc, char **argv);

extern const char loupe_usage_report[];
int loupe_cmd_report(lp_ctx *ctx, int argc, char **argv);

extern const char loupe_usage_review[];
int loupe_cmd_review(lp_ctx *ctx, int argc, char **argv);

#endif
