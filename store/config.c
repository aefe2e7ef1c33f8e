/* Repository config JSON and passphrase key files (include/store/config.h,
 * docs/FORMAT.md §7-8). */
#include "store/config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hex.h"
#include "lib/os.h"
#include "store/codec.h"
#include "store/snapshot.h"

#define KEYFILE_VERSION 1
static const char keyfile_aad[] = "cairn key v1";

int compression_parse(const char *s, int *comp, int *level)
{
	char *end;
	if (!strcmp(s, "none")) {
		*comp = COMP_NONE;
		*level = 0;
		return 0;
	}
	if (!strncmp(s, "zstd", 4)) {
		*comp = COMP_ZSTD;
		*level = 3;
		s += 4;
	} else if (!strncmp(s, "lz4", 3)) {
		*comp = COMP_LZ4;
		*level = 1;
		s += 3;
	} else {
		return -EINVAL;
	}
	if (!*s)
		return 0;
	if (*s != ':')
		return -EINVAL;
	long v = strtol(s + 1, &end, 10);
	if (end == s + 1 || *end || v < 1 || v > (*comp == COMP_ZSTD ? 19 : 65537))
		return -EINVAL;
	*level = (int)v;
	return 0;
}

void compression_format(int comp, int level, char *out, size_t n)
{
	if (comp == COMP_NONE)
		snprintf(out, n, "none");
	else
		snprintf(out, n, "%s:%d", comp == COMP_ZSTD ? "zstd" : "lz4", level);
}

int config_to_json(const struct repo_config *c, struct buf *out)
{
	char id[OID_HEX_LEN + 1], created[64], comp[16], key[2 * KEY_LEN + 1];
	oid_hex(id, &c->id);
	time_format_rfc3339(c->created_ns, created, sizeof(created));
	compression_format(c->compression, c->level, comp, sizeof(comp));
	json_t *o = json_pack("{sisssss{sssisisi}sssiss}",
		"version", (int)c->version, "id", id, "created", created,
		"chunker", "algorithm", "fastcdc", "min", (int)c->chunker.min,
		"avg", (int)c->chunker.avg, "max", (int)c->chunker.max,
		"compression", comp, "pack_size", (int)c->pack_size,
		"encryption", c->encrypted ? "aes-256-gcm" : "none");
	if (!o)
		return -ENOMEM;
	if (!c->encrypted) {
		hex_encode(key, c->id_key, KEY_LEN);
		json_object_set_new(o, "id_key", json_string(key));
	}
	char *txt = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!txt)
		return -ENOMEM;
	int r = buf_append(out, txt, strlen(txt));
	free(txt);
	return r;
}

int config_from_json(const void *p, size_t n, struct repo_config *c)
{
	memset(c, 0, sizeof(*c));
	json_t *o = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
	const char *id, *created, *algo, *comp, *enc, *key = NULL;
	json_int_t version, min, avg, max, pack_size;
	int r = -EBADMSG;
	if (!o || json_unpack(o, "{sIsssss{sssIsIsI}sssIss*}",
			      "version", &version, "id", &id, "created", &created,
			      "chunker", "algorithm", &algo, "min", &min, "avg", &avg,
			      "max", &max, "compression", &comp,
			      "pack_size", &pack_size, "encryption", &enc))
		goto out;
	json_unpack(o, "{s?s}", "id_key", &key);
	if (version != REPO_FORMAT_VERSION || oid_from_hex(&c->id, id) < 0 ||
	    time_parse_rfc3339(created, &c->created_ns) < 0 ||
	    strcmp(algo, "fastcdc") || min < 0 || avg < 0 || max < 0 ||
	    max > CHUNKER_MAX_LIMIT || pack_size < (1 << 20) || pack_size > (1 << 30))
		goto out;
	c->version = (uint32_t)version;
	c->chunker.min = (uint32_t)min;
	c->chunker.avg = (uint32_t)avg;
	c->chunker.max = (uint32_t)max;
	c->pack_size = (uint32_t)pack_size;
	if (chunker_params_check(&c->chunker) < 0 ||
	    compression_parse(comp, &c->compression, &c->level) < 0)
		goto out;
	if (!strcmp(enc, "aes-256-gcm") && !key) {
		c->encrypted = 1;
	} else if (!strcmp(enc, "none") && key) {
		if (strlen(key) != 2 * KEY_LEN || hex_decode(c->id_key, key, KEY_LEN) < 0)
			goto out;
	} else {
		goto out;
	}
	r = 0;
out:
	json_decref(o);
	return r;
}

int keyfile_create(const uint8_t *master, const char *pw, size_t pwlen,
		   const struct kdf_params *kdf, struct buf *out)
{
	uint8_t kek[KEY_LEN], nonce[NONCE_LEN], sealed[MASTER_LEN + TAG_LEN + NONCE_LEN];
	char host[256], user[256], created[64];
	char *salt = NULL, *data = NULL, *txt = NULL;
	json_t *o = NULL;
	int r;

	if ((r = crypto_kdf(kdf, pw, pwlen, kek)) < 0 ||
	    (r = crypto_random(nonce, sizeof(nonce))) < 0)
		goto out;
	memcpy(sealed, nonce, NONCE_LEN);
	r = crypto_aead_seal(kek, nonce, keyfile_aad, sizeof(keyfile_aad) - 1, master,
			     MASTER_LEN, sealed + NONCE_LEN, sealed + NONCE_LEN + MASTER_LEN);
	if (r < 0)
		goto out;
	time_format_rfc3339(os_now_ns(), created, sizeof(created));
	os_hostname(host, sizeof(host));
	os_username(user, sizeof(user));
	salt = base64_encode(kdf->salt, sizeof(kdf->salt));
	data = base64_encode(sealed, sizeof(sealed));
	r = -ENOMEM;
	if (!salt || !data)
		goto out;
	o = json_pack("{sisssssssss{sisisiss}ss}", "version", KEYFILE_VERSION,
		      "created", created, "host", host, "user", user,
		      "kdf", "argon2id", "kdf_params", "t", (int)kdf->t,
		      "m", (int)kdf->m, "p", (int)kdf->p, "salt", salt,
		      "master", data);
	if (!o || !(txt = json_dumps(o, JSON_INDENT(2))))
		goto out;
	r = buf_append(out, txt, strlen(txt));
out:
	crypto_wipe(kek, sizeof(kek));
	free(salt);
	free(data);
	free(txt);
	json_decref(o);
	return r;
}

/* Parses a key file; *sealed gets the base64 "master" value (borrowed
 * from *root, which the caller frees). */
static int parse_keyfile(const void *json, size_t n, json_t **root,
			 struct keyfile_info *info, const char **sealed)
{
	const char *created, *host, *user, *kdf, *salt;
	json_int_t version, t, m, p;
	memset(info, 0, sizeof(*info));
	*root = json_loadb(json, n, JSON_REJECT_DUPLICATES, NULL);
	if (!*root || json_unpack(*root, "{sIsssssssss{sIsIsIss}ss}",
				  "version", &version, "created", &created,
				  "host", &host, "user", &user, "kdf", &kdf,
				  "kdf_params", "t", &t, "m", &m, "p", &p,
				  "salt", &salt, "master", sealed))
		return -EBADMSG;
	if (version != KEYFILE_VERSION || strcmp(kdf, "argon2id") ||
	    t < 1 || t > 64 || p < 1 || p > 16 || m < 8 * p || m > (4 << 20) ||
	    base64_decode(info->kdf.salt, sizeof(info->kdf.salt), salt) !=
		    sizeof(info->kdf.salt) ||
	    time_parse_rfc3339(created, &info->created_ns) < 0)
		return -EBADMSG;
	info->kdf.t = (uint32_t)t;
	info->kdf.m = (uint32_t)m;
	info->kdf.p = (uint32_t)p;
	snprintf(info->host, sizeof(info->host), "%s", host);
	snprintf(info->user, sizeof(info->user), "%s", user);
	return 0;
}

int keyfile_info(const void *json, size_t n, struct keyfile_info *info)
{
	json_t *root;
	const char *sealed;
	int r = parse_keyfile(json, n, &root, info, &sealed);
	json_decref(root);
	return r;
}

int keyfile_open(const void *json, size_t n, const char *pw, size_t pwlen,
		 uint8_t *master)
{
	json_t *root;
	const char *b64;
	struct keyfile_info info;
	uint8_t sealed[NONCE_LEN + MASTER_LEN + TAG_LEN + 1], kek[KEY_LEN];
	int r = parse_keyfile(json, n, &root, &info, &b64);
	if (r < 0)
		goto out;
	if (!pwlen) {
		r = -EKEYREJECTED; /* no key is ever made for an empty password */
		goto out;
	}
	if (base64_decode(sealed, sizeof(sealed), b64) != NONCE_LEN + MASTER_LEN + TAG_LEN) {
		r = -EBADMSG;
		goto out;
	}
	if ((r = crypto_kdf(&info.kdf, pw, pwlen, kek)) < 0)
		goto out;
	r = crypto_aead_open(kek, sealed, keyfile_aad, sizeof(keyfile_aad) - 1,
			     sealed + NONCE_LEN, MASTER_LEN, master,
			     sealed + NONCE_LEN + MASTER_LEN);
	if (r == -EBADMSG)
		r = -EKEYREJECTED;
out:
	crypto_wipe(kek, sizeof(kek));
	json_decref(root);
	return r;
}
