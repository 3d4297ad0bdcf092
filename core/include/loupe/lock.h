/*
 * lock.h — one writer at a time, across processes, and files replaced whole or not at all.
 *
 *   lp_lock *l;
 *   if (lp_lock_acquire(ctx, "runs/x.ckpt/lock", &l))   // LP_ERR_BUSY: another process has it
 *           return lp_error_wrap(ctx, LP_ERR_BUSY, "train: checkpoint directory runs/x.ckpt");
 *   ...
 *   lp_lock_release(l);                                   // unlinks the lock file
 *
 * A lock is an flock(2) on a small file that says who holds it (pid, command line, since when),
 * so a refusal can name the other process. The kernel drops the flock when its holder dies
 * (SIGKILL, OOM, power loss), so a stale lock file never blocks anybody: the next acquirer takes
 * it over. Errors name the lock file; nothing here exits or prints.
 */
#ifndef LOUPE_LOCK_H
#define LOUPE_LOCK_H

#include "loupe/loupe.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp_lock lp_lock;

/* Take the lock at path (creating the file). Held by another process: LP_ERR_BUSY with a
 * message "process PID (COMMAND) holds PATH since TIME". */
int lp_lock_acquire(lp_ctx *ctx, const char *path, lp_lock **out);
/* Drop the lock and remove its file. NULL is a no-op. */
void lp_lock_release(lp_lock *l);

/* Which other process holds an flock or POSIX lock on the file at path (from /proc/locks):
 * returns 1 and fills pid (and *writer: 1 for an exclusive lock) when one does, 0 when none
 * does or the file does not exist. HDF5 locks every file it opens: this finds h5py too. */
int lp_file_holder(const char *path, long *pid, int *writer);
/* The command line of a process, space-joined, into buf ("?" when unknown). */
void lp_process_command(long pid, char *buf, size_t size);

/* Copy src to dst (created, mode of src), then fsync dst. */
int lp_file_copy(lp_ctx *ctx, const char *src, const char *dst);
/* fsync a file, or the directory holding path (dir = 1). */
int lp_file_sync(lp_ctx *ctx, const char *path, int dir);

#ifdef __cplusplus
}
#endif
#endif
