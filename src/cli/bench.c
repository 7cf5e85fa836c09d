// SPDX-License-Identifier: MIT
/*
 * jitwg bench: built-in benchmarks, one table entry each, so a number in
 * docs/PERFORMANCE.md can be re-measured with the same binary. Every rate
 * is compared with another rate measured in the same run, in interleaved
 * slices, because the machines this runs on are shared and noisy.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "crypto/aead.h"
#include "crypto/blake2s.h"
#include "crypto/hmac.h"
#include "crypto/x25519.h"
#include "noise/noise.h"
#include "wire/messages.h"

enum { RETURNING_KEYS = 64, MESSAGES = 2048, MAX_THREADS = 64 };
/* Slices of about 50 ms: short enough that a burst of other load hits
 * every mode alike, long enough that thread start-up does not count. */
#define SLICE_SECONDS 0.05

static double now(void)
{
	return (double)clock_mono_ns() * 1e-9;
}

static double cpu_now(void)
{
	return (double)clock_thread_cpu_ns() * 1e-9;
}

static void cpu_name(char *out, size_t cap)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(out, cap, "unknown CPU");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && colon) {
			snprintf(out, cap, "%s", colon + 2);
			out[strcspn(out, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
}

static const char *loadavg(char *out, size_t cap)
{
	FILE *f = fopen("/proc/loadavg", "r");

	snprintf(out, cap, "unknown");
	if (f && fgets(out, (int)cap, f))
		out[strcspn(out, "\n")] = '\0';
	if (f)
		fclose(f);
	return out;
}

/* ---- identify ----------------------------------------------------------- */

enum mode { MODE_X25519, MODE_RETURNING, MODE_FIRST };
static const char *const mode_names[] = { "x25519 (raw, same build)", "identify, returning keys",
					  "identify, first-time keys" };

struct workload {
	struct noise_responder *r;
	uint8_t (*returning)[WG_MSG_INITIATION_LEN]; /* RETURNING_KEYS initiators, many messages */
	uint8_t (*first)[WG_MSG_INITIATION_LEN];     /* every message from a new key */
	size_t n;
};

struct worker {
	pthread_t thread;
	const struct workload *w;
	enum mode mode;
	unsigned id;
	atomic_bool *go, *stop;
	atomic_uint *ready;
	uint64_t done, bad, hits, misses;
	double cpu; /* this thread's CPU seconds inside the timed window */
	int err;
};

static void *worker_main(void *arg)
{
	struct worker *k = arg;
	const struct workload *w = k->w;
	/* First-time keys: a cache far smaller than the key set never hits,
	 * which is exactly a stream of initiators never seen before. */
	struct noise_sscache *cache = noise_sscache_new(k->mode == MODE_FIRST ? 8 : 4096);
	struct x25519_key *xk = NULL;
	struct x25519_ctx *xc = NULL;
	struct noise_result res;
	uint8_t priv[32], out[32];
	size_t i = (size_t)k->id * 97;

	if (!cache) {
		k->err = -ENOMEM;
		atomic_fetch_add(k->ready, 1);
		return NULL;
	}
	if (k->mode == MODE_X25519) {
		if (x25519_generate(priv) || !(xk = x25519_key_new(priv)) || !(xc = x25519_ctx_new(xk))) {
			k->err = -EIO;
			atomic_fetch_add(k->ready, 1);
			goto out;
		}
	}
	/* Warm the cache and contexts outside the timed window. */
	if (k->mode == MODE_RETURNING) {
		for (size_t j = 0; j < RETURNING_KEYS * 2 && j < w->n; ++j)
			noise_consume_initiation(w->r, cache, w->returning[j], WG_MSG_INITIATION_LEN, &res);
	}
	noise_sscache_stats(cache, &k->hits, &k->misses, NULL);
	atomic_fetch_add(k->ready, 1);
	while (!atomic_load_explicit(k->go, memory_order_acquire))
		;
	k->cpu = cpu_now();
	while (!atomic_load_explicit(k->stop, memory_order_relaxed)) {
		const uint8_t *m;

		i = (i + 1) % w->n;
		switch (k->mode) {
		case MODE_X25519:
			/* The ephemeral keys of the messages: valid points, all different. */
			if (x25519_ctx_derive(xc, out, w->first[i] + 8))
				++k->bad;
			break;
		case MODE_RETURNING:
		case MODE_FIRST:
			m = k->mode == MODE_RETURNING ? w->returning[i] : w->first[i];
			noise_consume_initiation(w->r, cache, m, WG_MSG_INITIATION_LEN, &res);
			k->bad += res.verdict != NOISE_OK;
			break;
		}
		++k->done;
	}
	k->cpu = cpu_now() - k->cpu;
	{
		uint64_t h0 = k->hits, m0 = k->misses;

		noise_sscache_stats(cache, &k->hits, &k->misses, NULL);
		k->hits -= h0;
		k->misses -= m0;
	}
out:
	x25519_ctx_free(xc);
	x25519_key_free(xk);
	noise_sscache_free(cache);
	return NULL;
}

struct tally {
	uint64_t ops, bad, hits, misses;
	double seconds; /* wall clock */
	double cpu;     /* summed over threads */
};

/* Runs one slice of one mode on n threads and adds it to *t. */
static int run_slice(const struct workload *w, enum mode mode, unsigned n, double seconds,
		     struct tally *t)
{
	struct worker k[MAX_THREADS];
	atomic_bool go = false, stop = false;
	atomic_uint ready = 0;
	double start;
	unsigned i;
	int ret = 0;

	memset(k, 0, sizeof(k));
	for (i = 0; i < n; ++i) {
		k[i] = (struct worker){ .w = w, .mode = mode, .id = i, .go = &go, .stop = &stop, .ready = &ready };
		if (pthread_create(&k[i].thread, NULL, worker_main, &k[i])) {
			atomic_store(&stop, true);
			atomic_store(&go, true);
			n = i;
			ret = -EAGAIN;
			break;
		}
	}
	/* The clock starts when every thread has warmed up and waits. */
	while (atomic_load(&ready) < n)
		usleep(1000);
	start = now();
	atomic_store_explicit(&go, true, memory_order_release);
	if (!ret)
		usleep((useconds_t)(seconds * 1e6));
	atomic_store(&stop, true);
	for (i = 0; i < n; ++i) {
		pthread_join(k[i].thread, NULL);
		t->ops += k[i].done;
		t->bad += k[i].bad;
		t->hits += k[i].hits;
		t->misses += k[i].misses;
		t->cpu += k[i].cpu;
		if (k[i].err)
			ret = k[i].err;
	}
	t->seconds += now() - start;
	return ret;
}

static int make_workload(struct workload *w, size_t n)
{
	uint8_t resp_priv[32], resp_pub[32], keys[RETURNING_KEYS][32], priv[32], ts[12] = { 0x40 };
	size_t i;
	int ret = -ENOMEM;

	memset(w, 0, sizeof(*w));
	w->n = n;
	w->returning = calloc(n, sizeof(*w->returning));
	w->first = calloc(n, sizeof(*w->first));
	if (!w->returning || !w->first)
		goto out;
	ret = -EIO;
	if (x25519_generate(resp_priv) || x25519_public_from_private(resp_pub, resp_priv))
		goto out;
	w->r = noise_responder_new(resp_priv);
	if (!w->r)
		goto out;
	for (i = 0; i < RETURNING_KEYS; ++i) {
		if (x25519_generate(keys[i]))
			goto out;
	}
	for (i = 0; i < n; ++i) {
		ts[11] = (uint8_t)i;
		if (noise_initiation_create(w->returning[i], keys[i % RETURNING_KEYS], resp_pub, (uint32_t)i, ts, NULL) ||
		    x25519_generate(priv) ||
		    noise_initiation_create(w->first[i], priv, resp_pub, (uint32_t)i, ts, NULL))
			goto out;
	}
	ret = 0;
out:
	explicit_bzero(resp_priv, sizeof(resp_priv));
	explicit_bzero(keys, sizeof(keys));
	explicit_bzero(priv, sizeof(priv));
	return ret;
}

static void free_workload(struct workload *w)
{
	noise_responder_free(w->r);
	free(w->returning);
	free(w->first);
}

/* --threads and --seconds into *threads, *seconds. Returns -1 to run, else the exit status (help, usage). */
static int identify_args(int argc, char **argv, unsigned *threads, double *seconds)
{
	static const struct option opts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "t:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			*threads = (unsigned)strtoul(optarg, &end, 10);
			if (*end || *threads < 1 || *threads > MAX_THREADS) {
				fprintf(stderr, "jitwg bench identify: --threads must be 1..%d\n", MAX_THREADS);
				return 2;
			}
			break;
		case 's':
			*seconds = strtod(optarg, &end);
			if (*end || !(*seconds >= 0.1 && *seconds <= 3600)) {
				fprintf(stderr, "jitwg bench identify: --seconds must be 0.1..3600\n");
				return 2;
			}
			break;
		case 'h':
			printf("Usage: jitwg bench identify [--threads N] [--seconds S]\n"
			       "Identify throughput for returning and first-time initiators against the raw\n"
			       "X25519 rate, on 1 and N threads (default 2), S seconds each (default 2).\n");
			return 0;
		default:
			fprintf(stderr, "Usage: jitwg bench identify [--threads N] [--seconds S]\n");
			return 2;
		}
	}
	return -1;
}

/*
 * Measures every mode on 1 thread and (threads > 1) on threads, into
 * t[mode][0 or 1]. The slices are interleaved so drift in the machine's
 * load hits every measurement alike. Returns 0 or -errno.
 */
static int identify_measure(const struct workload *w, unsigned threads, double seconds, struct tally t[3][2])
{
	unsigned nth[2] = { 1, threads };
	int slices = (int)(seconds / SLICE_SECONDS), s, n, m, ret;

	memset(t, 0, 3 * sizeof(t[0]));
	if (slices < 2)
		slices = 2;
	for (s = 0; s < slices; ++s)
		for (n = 0; n < (threads > 1 ? 2 : 1); ++n)
			for (m = 0; m < 3; ++m)
				if ((ret = run_slice(w, (enum mode)m, nth[n], seconds / slices, &t[m][n])))
					return ret;
	return 0;
}

/*
 * Two views. Per core: operations per CPU-second of the measuring thread,
 * which time spent descheduled by other load does not dilute; the 1-thread
 * ratios come from these. Wall clock: what N threads really deliver
 * together, for the scaling figure.
 */
static void identify_report(struct tally t[3][2], unsigned threads)
{
	double rate[3][2], cpu_rate[3];
	char load[128];
	int m;

	printf("\n%-28s %16s %16s", "", "1 thread", "1 thread");
	if (threads > 1)
		printf(" %13u threads %8s", threads, "scaling");
	printf("\n%-28s %16s %16s", "", "per CPU-second", "wall clock");
	if (threads > 1)
		printf(" %21s %8s", "wall clock", "");
	printf("\n");
	for (m = 0; m < 3; ++m) {
		for (int n = 0; n < 2; ++n)
			rate[m][n] = t[m][n].seconds > 0 ? (double)t[m][n].ops / t[m][n].seconds : 0;
		cpu_rate[m] = t[m][0].cpu > 0 ? (double)t[m][0].ops / t[m][0].cpu : 0;
		printf("%-28s %14.0f/s %14.0f/s", mode_names[m], cpu_rate[m], rate[m][0]);
		if (threads > 1)
			printf(" %19.0f/s %7.2fx", rate[m][1], rate[m][1] / rate[m][0]);
		if (m != MODE_X25519)
			printf("   ss cache hits %.0f%%",
			       100.0 * (double)t[m][0].hits / (double)(t[m][0].hits + t[m][0].misses + !t[m][0].hits));
		printf("\n");
	}
	printf("\nreturning / x25519   %.3f  (per CPU-second; wall clock %.3f)  target >= 0.90\n",
	       cpu_rate[MODE_RETURNING] / cpu_rate[MODE_X25519], rate[MODE_RETURNING][0] / rate[MODE_X25519][0]);
	printf("first-time / x25519  %.3f  (per CPU-second; wall clock %.3f)  target >= 0.45\n",
	       cpu_rate[MODE_FIRST] / cpu_rate[MODE_X25519], rate[MODE_FIRST][0] / rate[MODE_X25519][0]);
	if (threads > 1) {
		printf("%u threads / 1 thread (wall clock): returning %.2fx, first-time %.2fx, raw x25519 %.2fx"
		       " (target >= 1.8x with 2)\n", threads, rate[MODE_RETURNING][1] / rate[MODE_RETURNING][0],
		       rate[MODE_FIRST][1] / rate[MODE_FIRST][0], rate[MODE_X25519][1] / rate[MODE_X25519][0]);
		/* Wall-clock scaling needs idle cores; work per CPU-second on N
		 * threads against 1 shows whether the threads slow each other
		 * (locks, shared cache lines) independently of other load. */
		printf("%u threads, per CPU-second vs 1 thread: returning %.2f, first-time %.2f, raw x25519 %.2f"
		       " (1.00 = no contention between threads)\n", threads,
		       (double)t[MODE_RETURNING][1].ops / t[MODE_RETURNING][1].cpu / cpu_rate[MODE_RETURNING],
		       (double)t[MODE_FIRST][1].ops / t[MODE_FIRST][1].cpu / cpu_rate[MODE_FIRST],
		       (double)t[MODE_X25519][1].ops / t[MODE_X25519][1].cpu / cpu_rate[MODE_X25519]);
		printf("CPU available to the %u-thread runs: %.2f cores on average\n", threads,
		       (t[MODE_RETURNING][1].cpu + t[MODE_FIRST][1].cpu + t[MODE_X25519][1].cpu) /
			       (t[MODE_RETURNING][1].seconds + t[MODE_FIRST][1].seconds + t[MODE_X25519][1].seconds));
	}
	printf("load average at the end: %s\n", loadavg(load, sizeof(load)));
}

static int bench_identify(int argc, char **argv)
{
	struct tally t[3][2];
	struct workload w;
	unsigned threads = 2;
	double seconds = 2;
	char cpu[128];
	int m, ret;

	ret = identify_args(argc, argv, &threads, &seconds);
	if (ret >= 0)
		return ret;
	cpu_name(cpu, sizeof(cpu));
	printf("jitwg bench identify: %s, %ld CPUs online, %s\n", cpu, sysconf(_SC_NPROCESSORS_ONLN),
	       OpenSSL_version(OPENSSL_VERSION));
	printf("preparing %d initiations per workload...\n", MESSAGES);
	fflush(stdout);
	ret = make_workload(&w, MESSAGES);
	if (ret) {
		fprintf(stderr, "jitwg bench identify: cannot prepare the workload: %s\n", strerror(-ret));
		goto out;
	}
	ret = identify_measure(&w, threads, seconds, t);
	if (ret) {
		fprintf(stderr, "jitwg bench identify: %s\n", strerror(-ret));
		goto out;
	}
	identify_report(t, threads);
	for (m = 0; m < 3; ++m) {
		if (t[m][0].bad || t[m][1].bad) {
			fprintf(stderr, "jitwg bench identify: %s: %llu operations failed\n", mode_names[m],
				(unsigned long long)(t[m][0].bad + t[m][1].bad));
			ret = -EIO;
			goto out;
		}
	}
out:
	free_workload(&w);
	return ret ? 1 : 0;
}

/* ---- primitives: the measurements behind the choices in src/crypto ------ */

/* Best of five runs in thread CPU time: on a shared machine the minimum is
 * the figure least disturbed by other load. */
#define TIME_LOOP_PER(label, iters, per, body)                                                  \
	do {                                                                           \
		double best_ = 1e9;                                                    \
		for (int rep_ = 0; rep_ < 5; ++rep_) {                                 \
			double t0_ = cpu_now();                                        \
			for (long it_ = 0; it_ < (iters) / 5; ++it_) {                 \
				body;                                                  \
			}                                                              \
			t0_ = (cpu_now() - t0_) / (double)((iters) / 5);               \
			if (t0_ < best_)                                               \
				best_ = t0_;                                           \
		}                                                                      \
		printf("  %-56s %9.0f ns\n", label, best_ * 1e9 / (per));              \
	} while (0)
#define TIME_LOOP(label, iters, body) TIME_LOOP_PER(label, iters, 1, body)

/* What the primitive measurements share: inputs, and OpenSSL objects fetched once. */
struct prims {
	uint8_t in[148], key[32], priv[32], pub[64][32];
	EVP_MD *md;
	EVP_MD_CTX *mdctx;
	EVP_MAC *hmac, *b2mac;
	EVP_MAC_CTX *macctx, *b2macctx;
	EVP_CIPHER *chacha;
	EVP_CIPHER_CTX *cctx;
	struct aead_ctx *aead;
	struct x25519_key *xk;
	struct x25519_ctx *xc;
};

static void prims_free(struct prims *p)
{
	x25519_ctx_free(p->xc);
	x25519_key_free(p->xk);
	aead_ctx_free(p->aead);
	EVP_CIPHER_CTX_free(p->cctx);
	EVP_CIPHER_free(p->chacha);
	EVP_MAC_CTX_free(p->b2macctx);
	EVP_MAC_free(p->b2mac);
	EVP_MAC_CTX_free(p->macctx);
	EVP_MAC_free(p->hmac);
	EVP_MD_CTX_free(p->mdctx);
	EVP_MD_free(p->md);
	explicit_bzero(p, sizeof(*p));
}

/* Fetches and keys everything; returns 0 or -EIO (then prims_free() what was made). */
static int prims_init(struct prims *p)
{
	int i;

	memset(p, 0, sizeof(*p));
	p->md = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
	p->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	p->mdctx = EVP_MD_CTX_new();
	p->macctx = p->hmac ? EVP_MAC_CTX_new(p->hmac) : NULL;
	p->b2mac = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
	p->b2macctx = p->b2mac ? EVP_MAC_CTX_new(p->b2mac) : NULL;
	p->chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	p->cctx = EVP_CIPHER_CTX_new();
	p->aead = aead_ctx_new();
	if (!p->md || !p->hmac || !p->mdctx || !p->macctx || !p->aead || !p->b2macctx || !p->chacha ||
	    !p->cctx || EVP_CipherInit_ex2(p->cctx, p->chacha, NULL, NULL, 0, NULL) != 1 ||
	    x25519_generate(p->priv) || !(p->xk = x25519_key_new(p->priv)) || !(p->xc = x25519_ctx_new(p->xk)))
		return -EIO;
	for (i = 0; i < 64; ++i) {
		uint8_t priv[32];
		int bad = x25519_generate(priv) || x25519_public_from_private(p->pub[i], priv);

		explicit_bzero(priv, sizeof(priv));
		if (bad)
			return -EIO;
	}
	memset(p->in, 0x5a, sizeof(p->in));
	memset(p->key, 0x33, sizeof(p->key));
	return 0;
}

static void bench_hashes(struct prims *p, long n)
{
	static const size_t sizes[] = { 32, 64, 116 };
	uint8_t out[32];
	unsigned int mdlen;
	char label[96];
	int i;

	printf("BLAKE2s-256 compression functions (1 KiB = 16 blocks, per block):\n");
	for (i = BLAKE2S_IMPL_GENERIC; i <= BLAKE2S_IMPL_AVX512VL; ++i) {
		static const char *names[] = { "", "generic C", "SSSE3", "AVX-512VL (256-bit registers)" };
		uint8_t big[1024] = { 0 };

		if (!blake2s_use_impl((enum blake2s_impl)i))
			continue;
		TIME_LOOP_PER(names[i], n / 16, 16, {
			blake2s(out, 32, big, sizeof(big), NULL, 0);
			big[0]++;
		});
	}
	blake2s_use_impl(BLAKE2S_IMPL_AUTO);
	printf("BLAKE2s-256, whole hashes:\n");
	for (i = 0; i < 3; ++i) {
		snprintf(label, sizeof(label), "hand-written, %zu bytes", sizes[i]);
		TIME_LOOP(label, n, blake2s(out, 32, p->in, sizes[i], NULL, 0));
		snprintf(label, sizeof(label), "EVP (fetched once, context reused), %zu bytes", sizes[i]);
		TIME_LOOP(label, n, {
			EVP_DigestInit_ex2(p->mdctx, p->md, NULL);
			EVP_DigestUpdate(p->mdctx, p->in, sizes[i]);
			EVP_DigestFinal_ex(p->mdctx, out, &mdlen);
		});
		snprintf(label, sizeof(label), "EVP_Digest one-shot, %zu bytes", sizes[i]);
		TIME_LOOP(label, n, EVP_Digest(p->in, sizes[i], out, &mdlen, p->md, NULL));
	}
}

static void bench_macs(struct prims *p, long n)
{
	OSSL_PARAM params[2], b2params[2];
	struct blake2s_state mac1_pre;
	size_t outlen, b2size = 16;
	uint8_t out[32];

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "BLAKE2S-256", 0);
	params[1] = OSSL_PARAM_construct_end();
	b2params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &b2size);
	b2params[1] = OSSL_PARAM_construct_end();
	blake2s_init_key(&mac1_pre, 16, p->key, 32);
	blake2s_flush_pending(&mac1_pre);
	printf("HMAC-BLAKE2s, 32-byte key and message (one KDF step):\n");
	TIME_LOOP("hand-written", n, hmac_blake2s(out, p->key, 32, p->in, 32));
	TIME_LOOP("EVP_MAC HMAC (fetched once, context reused)", n / 4, {
		EVP_MAC_init(p->macctx, p->key, 32, params);
		EVP_MAC_update(p->macctx, p->in, 32);
		EVP_MAC_final(p->macctx, out, &outlen, 32);
	});
	printf("KDF with 2 outputs (es/ss step: 3 HMACs, one key reused):\n");
	TIME_LOOP("hand-written", n, kdf(out, p->key, NULL, p->key, p->in, 32));
	TIME_LOOP("EVP_MAC HMAC x3 (fetched once, context reused)", n / 4, {
		for (int h_ = 0; h_ < 3; ++h_) {
			EVP_MAC_init(p->macctx, p->key, 32, params);
			EVP_MAC_update(p->macctx, p->in, 32);
			EVP_MAC_final(p->macctx, out, &outlen, 32);
		}
	});
	printf("mac1: keyed BLAKE2s-128 over 116 bytes:\n");
	TIME_LOOP("hand-written, key block precomputed", n, {
		struct blake2s_state st_ = mac1_pre;

		blake2s_update(&st_, p->in, 116);
		blake2s_final(&st_, out);
	});
	TIME_LOOP("EVP_MAC BLAKE2SMAC (fetched once, context reused)", n / 4, {
		EVP_MAC_init(p->b2macctx, p->key, 32, b2params);
		EVP_MAC_update(p->b2macctx, p->in, 116);
		EVP_MAC_final(p->b2macctx, out, &outlen, 16);
	});
}

static void bench_aead(struct prims *p, long n)
{
	uint8_t ct[64], pt[48], nonce[12] = { 0 };

	printf("ChaCha20-Poly1305, open 32 bytes + 16-byte tag, 32 bytes AD:\n");
	aead_encrypt(p->aead, ct, p->in, 32, 0, p->in, 32, p->key);
	TIME_LOOP("hand-written", n, aead_decrypt(p->aead, pt, ct, 48, 0, p->in, 32, p->key));
	TIME_LOOP("EVP (fetched once, context re-keyed)", n / 4, {
		int n_;

		EVP_CipherInit_ex2(p->cctx, NULL, p->key, nonce, 0, NULL);
		EVP_CIPHER_CTX_ctrl(p->cctx, EVP_CTRL_AEAD_SET_TAG, 16, ct + 32);
		EVP_CipherUpdate(p->cctx, NULL, &n_, p->in, 32);
		EVP_CipherUpdate(p->cctx, pt, &n_, ct, 32);
		EVP_CipherFinal_ex(p->cctx, pt + 32, &n_);
	});
}

/* Returns 0 or -EIO when OpenSSL cannot set up the comparison. */
static int bench_x25519(struct prims *p, long n)
{
	EVP_PKEY *sk = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, p->priv, 32);
	EVP_PKEY_CTX *dctx = sk ? EVP_PKEY_CTX_new_from_pkey(NULL, sk, NULL) : NULL;
	uint8_t out[32];
	int ret = -EIO;

	printf("X25519 with a fixed private key, varying peer keys:\n");
	TIME_LOOP("reused context and peer object (src/crypto/x25519.c)", n,
		  x25519_ctx_derive(p->xc, out, p->pub[it_ & 63]));
	if (!dctx || EVP_PKEY_derive_init(dctx) != 1)
		goto out;
	TIME_LOOP("reused context, new peer EVP_PKEY per call", n, {
		EVP_PKEY *pk = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, p->pub[it_ & 63], 32);
		size_t l = 32;

		EVP_PKEY_derive_set_peer(dctx, pk);
		EVP_PKEY_derive(dctx, out, &l);
		EVP_PKEY_free(pk);
	});
	TIME_LOOP("new context and peer EVP_PKEY per call", n, {
		EVP_PKEY *pk = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, p->pub[it_ & 63], 32);
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, sk, NULL);
		size_t l = 32;

		EVP_PKEY_derive_init(c);
		EVP_PKEY_derive_set_peer(c, pk);
		EVP_PKEY_derive(c, out, &l);
		EVP_PKEY_CTX_free(c);
		EVP_PKEY_free(pk);
	});
	ret = 0;
out:
	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_free(sk);
	return ret;
}

static int bench_primitives(int argc, char **argv)
{
	struct prims p;
	long n = 200000;
	int ret = 1;

	if (prims_init(&p)) {
		fprintf(stderr, "jitwg bench primitives: OpenSSL set-up failed\n");
		goto out;
	}
	printf("jitwg bench primitives (%s), nanoseconds per call:\n", OpenSSL_version(OPENSSL_VERSION));
	bench_hashes(&p, n);
	bench_macs(&p, n);
	bench_aead(&p, n);
	if (bench_x25519(&p, 4000))
		goto out;
	ret = 0;
out:
	prims_free(&p);
	return ret;
}

/* ---- dispatch ------------------------------------------------------------ */

/* `jitwg bench primitives` takes no options; --help must not run it. */
static int bench_primitives_cmd(int argc, char **argv)
{
	static const char use[] = "Usage: jitwg bench primitives\n"
				  "Nanoseconds per call of the hand-written BLAKE2s, HMAC, mac1, AEAD and X25519\n"
				  "paths next to OpenSSL's EVP equivalents.\n";

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(use, stdout);
		return 0;
	}
	if (argc >= 2) {
		fputs(use, stderr);
		return 2;
	}
	return bench_primitives(argc, argv);
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} benches[] = {
	{ "identify", bench_identify, "initiation decoder throughput vs raw X25519 [--threads N] [--seconds S]" },
	{ "primitives", bench_primitives_cmd, "BLAKE2s, HMAC, AEAD and X25519 paths, ours vs OpenSSL EVP" },
};

int cmd_bench(int argc, char **argv)
{
	bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
	FILE *f = help ? stdout : stderr;
	size_t i;

	for (i = 0; argc >= 2 && i < sizeof(benches) / sizeof(benches[0]); ++i) {
		if (!strcmp(argv[1], benches[i].name))
			return benches[i].fn(argc - 1, argv + 1);
	}
	if (argc >= 2 && !help)
		fprintf(stderr, "jitwg bench: unknown benchmark '%s'\n", argv[1]);
	fprintf(f, "Usage: jitwg bench <benchmark> [<args>]\n\nBenchmarks:\n");
	for (i = 0; i < sizeof(benches) / sizeof(benches[0]); ++i)
		fprintf(f, "  %-12s %s\n", benches[i].name, benches[i].help);
	return help ? 0 : 2;
}
