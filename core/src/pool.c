/* pool.c — a parallel for over items, each worker with its own context (errors are per item). */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "data.h"

int lpi_cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

struct job {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int64_t next, done, n;
	void (*fn)(void *, int64_t, lp_ctx *);
	void *user;
	uint64_t seed;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	lp_ctx *w = NULL;

	if (lp_ctx_new(&w) == LP_OK)
		lp_ctx_seed(w, j->seed);
	for (;;) {
		pthread_mutex_lock(&j->mu);
		int64_t i = j->next < j->n ? j->next++ : -1;
		pthread_mutex_unlock(&j->mu);
		if (i < 0)
			break;
		j->fn(j->user, i, w); /* w may be NULL when out of memory: fn copes */
		pthread_mutex_lock(&j->mu);
		j->done++;
		pthread_cond_signal(&j->cv);
		pthread_mutex_unlock(&j->mu);
	}
	lp_ctx_free(w);
	return NULL;
}

int lpi_parallel_for(lp_ctx *ctx, int64_t n, int threads,
		     void (*fn)(void *user, int64_t i, lp_ctx *wctx), void *user,
		     lp_progress_fn progress, void *puser)
{
	struct job j = { .next = 0, .done = 0, .n = n, .fn = fn, .user = user,
			 .seed = lp_ctx_get_seed(ctx) };
	pthread_t tid[64];
	int nt = threads > 0 ? threads : lpi_cpu_count(), started = 0;

	if (nt > 64)
		nt = 64;
	if (nt > n)
		nt = (int)(n > 0 ? n : 1);
	pthread_mutex_init(&j.mu, NULL);
	pthread_cond_init(&j.cv, NULL);
	for (int t = 0; t < nt; t++)
		if (pthread_create(&tid[t], NULL, worker, &j) == 0)
			started++;
	if (!started) /* no threads to be had: do the work here */
		worker(&j);
	pthread_mutex_lock(&j.mu);
	while (j.done < n) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&j.cv, &j.mu, &ts);
		if (progress) {
			int64_t d = j.done;
			pthread_mutex_unlock(&j.mu);
			progress(puser, d, n);
			pthread_mutex_lock(&j.mu);
		}
	}
	pthread_mutex_unlock(&j.mu);
	for (int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	if (progress)
		progress(puser, n, n);
	pthread_mutex_destroy(&j.mu);
	pthread_cond_destroy(&j.cv);
	return LP_OK;
}
