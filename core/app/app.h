/* app.h — the `loupe` executable's commands that live in files of their own. */
#ifndef LOUPE_APP_H
#define LOUPE_APP_H

#include "loupe/loupe.h"

extern const char loupe_usage_dataset[];
int loupe_cmd_dataset(lp_ctx *ctx, int argc, char **argv, const char *cmdline);

extern const char loupe_usage_compare[];
int loupe_cmd_compare(lp_ctx *ctx, int argc, char **argv);

#endif
