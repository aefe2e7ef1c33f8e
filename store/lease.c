/* Writer leases (include/store/lease.h).  The renewal thread sleeps on a
 * condition variable so releasing the lease never waits for a timer. */
#include "store/lease.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/os.h"

struct lease {
	struct repo *r;
	struct codec *codec;      /* the renewal thread's */
	char key[96];
	char purpose[64];
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
};

static int write_lease(struct lease *l)
{
	char host[256], t[64];
	int64_t now = os_now_ns();
	os_hostname(host, sizeof(host));
	time_format_rfc3339(now, t, sizeof(t));
	json_t *o = json_pack("{sssisssssI}", "host", host, "pid", (int)getpid(),
			      "purpose", l->purpose, "time", t, "expires",
			      (json_int_t)(now / 1000000000 + LEASE_SECONDS));
	char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!txt)
		return -ENOMEM;
	struct buf box = BUF_INIT;
	int e = codec_seal(l->codec, OBJ_LEASE, NULL, txt, strlen(txt), &box);
	free(txt);
	if (!e)
		e = backend_put(l->r->be, l->key, box.data, box.len);
	buf_release(&box);
	return e;
}

static void *renew_main(void *arg)
{
	struct lease *l = arg;
	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += LEASE_SECONDS / 3;
		if (pthread_cond_timedwait(&l->cv, &l->mu, &ts) == 0 || l->stop)
			continue;
		int e = write_lease(l);
		if (e < 0)
			log_warn("%s: renewing lease %s: %s", l->r->url, l->key, errstr(e));
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

int lease_take(struct repo *r, const char *purpose, struct lease **out)
{
	struct lease *l = calloc(1, sizeof(*l));
	struct oid id;
	int e;
	if (!l)
		return -ENOMEM;
	l->r = r;
	snprintf(l->purpose, sizeof(l->purpose), "%s", purpose);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	if ((e = crypto_random(id.b, OID_LEN)) < 0 ||
	    !(l->codec = codec_new(&r->keys, COMP_NONE, 0))) {
		e = e < 0 ? e : -ENOMEM;
		goto fail;
	}
	repo_object_key(l->key, sizeof(l->key), OBJ_LEASE, &id);
	if ((e = write_lease(l)) < 0) {
		log_error("%s: storing lease %s: %s", r->url, l->key, errstr(e));
		goto fail;
	}
	if (pthread_create(&l->thread, NULL, renew_main, l) != 0) {
		backend_del(r->be, l->key);
		e = -EAGAIN;
		goto fail;
	}
	*out = l;
	return 0;
fail:
	codec_free(l->codec);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
	return e;
}

void lease_release(struct lease *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->stop = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	int e = backend_del(l->r->be, l->key);
	if (e < 0 && e != -ENOENT)
		log_warn("%s: removing lease %s: %s", l->r->url, l->key, errstr(e));
	codec_free(l->codec);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
}
