/* Unit tests for store/snapshot (JSON, time formats) and store/config
 * (config JSON, compression names, key files). */
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "lib/hex.h"
#include "store/codec.h"
#include "store/config.h"
#include "store/snapshot.h"

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static void fill_id(struct oid *id, uint8_t v)
{
	for (int i = 0; i < OID_LEN; i++)
		id->b[i] = (uint8_t)(v + 7 * i);
}

/* ================= snapshot ================= */

static char *tags[] = { "daily", "weekly", "", "ünïcode" };
static struct snapshot_source sources[] = {
	{ "laptop", "/home/ana", "laptop", 1718712000123456789LL },
	{ "drive", "drive", "cloud-host", -1000000001LL },
};

static void make_snapshot(struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->time_ns = 1718712000123456789LL;
	s->host = "laptop";
	s->user = "ana";
	s->tags = tags;
	s->ntags = 4;
	fill_id(&s->tree, 1);
	s->has_parent = true;
	fill_id(&s->parent, 2);
	s->sources = sources;
	s->nsources = 2;
	s->stats = (struct snapshot_stats){ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	s->stats.bytes_total = (uint64_t)1 << 50;
	s->program = "cairn 0.1.0";
}

static int snapshots_equal(const struct snapshot *a, const struct snapshot *b)
{
	if (a->time_ns != b->time_ns || strcmp(a->host, b->host) || strcmp(a->user, b->user) ||
	    strcmp(a->program, b->program) || a->ntags != b->ntags ||
	    !oid_eq(&a->tree, &b->tree) || a->has_parent != b->has_parent ||
	    (a->has_parent && !oid_eq(&a->parent, &b->parent)) || a->nsources != b->nsources ||
	    memcmp(&a->stats, &b->stats, sizeof(a->stats)))
		return 0;
	for (size_t i = 0; i < a->ntags; i++)
		if (strcmp(a->tags[i], b->tags[i]))
			return 0;
	for (size_t i = 0; i < a->nsources; i++) {
		const struct snapshot_source *x = &a->sources[i], *y = &b->sources[i];
		if (strcmp(x->name, y->name) || strcmp(x->path, y->path) ||
		    strcmp(x->host, y->host) || x->time_ns != y->time_ns)
			return 0;
	}
	return 1;
}

TEST(snapshot_json_round_trip)
{
	const char *zones[] = { "UTC0", "IST-5:30", "EST5EDT,M3.2.0,M11.1.0", "NPT-5:45" };
	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		set_tz(zones[z]);
		struct snapshot s, back;
		make_snapshot(&s);
		struct buf b = BUF_INIT;
		CHECK_EQ(snapshot_to_json(&s, &b), 0);
		memset(&back, 0x5a, sizeof(back));
		CHECK_EQ(snapshot_from_json(b.data, b.len, &back), 0);
		CHECK(snapshots_equal(&s, &back));
		if (!snapshots_equal(&s, &back))
			fprintf(stderr, "  TZ=%s: %.*s\n", zones[z], (int)b.len, b.data);
		snapshot_release(&back);
		CHECK(back.host == NULL && back.ntags == 0);

		/* without a parent */
		s.has_parent = false;
		s.ntags = 0;
		buf_reset(&b);
		CHECK_EQ(snapshot_to_json(&s, &b), 0);
		CHECK(memmem(b.data, b.len, "\"parent\"", 8) == NULL);
		CHECK_EQ(snapshot_from_json(b.data, b.len, &back), 0);
		CHECK(!back.has_parent);
		CHECK(snapshots_equal(&s, &back));
		snapshot_release(&back);
		buf_release(&b);
	}
	set_tz("UTC0");
}

TEST(snapshot_json_fields)
{
	set_tz("UTC0");
	struct snapshot s;
	make_snapshot(&s);
	struct buf b = BUF_INIT;
	CHECK_EQ(snapshot_to_json(&s, &b), 0);
	buf_put_u8(&b, 0);
	const char *j = (const char *)b.data;
	CHECK(strstr(j, "\"version\":1") != NULL);
	CHECK(strstr(j, "\"time\":\"2024-06-18T12:00:00.123456789+00:00\"") != NULL);
	char tree[OID_HEX_LEN + 1];
	oid_hex(tree, &s.tree);
	CHECK(strstr(j, tree) != NULL);
	CHECK(strstr(j, "\"tags\":[\"daily\",\"weekly\",\"\",") != NULL);
	CHECK(strstr(j, "\"bytes_total\":1125899906842624") != NULL);

	/* non-UTF-8 descriptive strings become '?' and still parse */
	s.host = "h\xff\xfe";
	s.ntags = 0;
	buf_reset(&b);
	CHECK_EQ(snapshot_to_json(&s, &b), 0);
	struct snapshot back;
	CHECK_EQ(snapshot_from_json(b.data, b.len, &back), 0);
	if (back.host)
		CHECK_STR(back.host, "h??");
	snapshot_release(&back);

	/* copy is deep */
	make_snapshot(&s);
	fill_id(&s.id, 9);
	struct snapshot cp;
	CHECK_EQ(snapshot_copy(&cp, &s), 0);
	CHECK(snapshots_equal(&s, &cp));
	CHECK(oid_eq(&s.id, &cp.id));
	CHECK(cp.host != s.host && cp.tags != s.tags && cp.sources != s.sources);
	char sid[9];
	snapshot_short_id(&cp, sid);
	char full[OID_HEX_LEN + 1];
	oid_hex(full, &s.id);
	CHECK_EQ(strlen(sid), 8);
	CHECK(!memcmp(sid, full, 8));
	snapshot_release(&cp);
	buf_release(&b);
}

#define TREE_HEX "0101010101010101010101010101010101010101010101010101010101010101"

static int snap_parse(const char *json)
{
	struct snapshot s;
	int r = snapshot_from_json(json, strlen(json), &s);
	if (r == 0)
		snapshot_release(&s);
	return r;
}

TEST(snapshot_json_rejects)
{
	const char *ok =
		"{\"version\":1,\"time\":\"2025-06-18T12:00:00.5+02:00\",\"host\":\"h\","
		"\"user\":\"u\",\"program\":\"p\",\"tree\":\"" TREE_HEX "\",\"tags\":[],"
		"\"sources\":[]}";
	CHECK_EQ(snap_parse(ok), 0);
	struct snapshot s;
	CHECK_EQ(snapshot_from_json(ok, strlen(ok), &s), 0);
	CHECK_EQ(s.time_ns, 1750240800500000000LL);
	snapshot_release(&s);

	const char *bad[] = {
		/* missing tree */
		"{\"version\":1,\"time\":\"2025-06-18T12:00:00Z\",\"host\":\"h\","
		"\"user\":\"u\",\"program\":\"p\",\"tags\":[],\"sources\":[]}",
		/* tree: bad hex, short, long, not a string */
		"{\"version\":1,\"time\":\"2025-06-18T12:00:00Z\",\"host\":\"h\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":\"0101010101010101010101010101010101010101010101010101010101010g01\","
		"\"tags\":[],\"sources\":[]}",
		"{\"version\":1,\"time\":\"2025-06-18T12:00:00Z\",\"host\":\"h\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":\"010101\",\"tags\":[],\"sources\":[]}",
		"{\"version\":1,\"time\":\"2025-06-18T12:00:00Z\",\"host\":\"h\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":\"" TREE_HEX "00\",\"tags\":[],\"sources\":[]}",
		"{\"version\":1,\"time\":\"2025-06-18T12:00:00Z\",\"host\":\"h\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":17,\"tags\":[],\"sources\":[]}",
		/* parent with bad hex */
		"{\"version\":1,\"time\":\"2025-06-18T12:00:00Z\",\"host\":\"h\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":\"" TREE_HEX "\",\"parent\":\"xyz\",\"tags\":[],\"sources\":[]}",
		/* bad times */
		"{\"version\":1,\"time\":\"2025-13-18T12:00:00Z\",\"host\":\"h\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":\"" TREE_HEX "\",\"tags\":[],\"sources\":[]}",
		"{\"version\":1,\"time\":\"2025-06-18 noon\",\"host\":\"h\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":\"" TREE_HEX "\",\"tags\":[],\"sources\":[]}",
		"{\"version\":1,\"time\":\"2025-06-18T12:00:00\",\"host\":\"h\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":\"" TREE_HEX "\",\"tags\":[],\"sources\":[]}",
		"{\"version\":1,\"time\":1750240800,\"host\":\"h\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":\"" TREE_HEX "\",\"tags\":[],\"sources\":[]}",
		"{\"version\":1,\"time\":\"2025-06-18T12:00:00Z\",\"host\":\"h\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":\"" TREE_HEX "\",\"tags\":[],"
		"\"sources\":[{\"name\":\"a\",\"path\":\"/\",\"host\":\"h\",\"time\":\"yesterday\"}]}",
		/* wrong or missing version */
		"{\"version\":2,\"time\":\"2025-06-18T12:00:00Z\",\"host\":\"h\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":\"" TREE_HEX "\",\"tags\":[],\"sources\":[]}",
		"{\"version\":0,\"time\":\"2025-06-18T12:00:00Z\",\"host\":\"h\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":\"" TREE_HEX "\",\"tags\":[],\"sources\":[]}",
		"{\"version\":\"1\",\"time\":\"2025-06-18T12:00:00Z\",\"host\":\"h\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":\"" TREE_HEX "\",\"tags\":[],\"sources\":[]}",
		"{\"time\":\"2025-06-18T12:00:00Z\",\"host\":\"h\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":\"" TREE_HEX "\",\"tags\":[],\"sources\":[]}",
		/* tags and sources of the wrong shape */
		"{\"version\":1,\"time\":\"2025-06-18T12:00:00Z\",\"host\":\"h\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":\"" TREE_HEX "\",\"tags\":\"daily\",\"sources\":[]}",
		"{\"version\":1,\"time\":\"2025-06-18T12:00:00Z\",\"host\":\"h\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":\"" TREE_HEX "\",\"tags\":[1],\"sources\":[]}",
		"{\"version\":1,\"time\":\"2025-06-18T12:00:00Z\",\"host\":\"h\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":\"" TREE_HEX "\",\"tags\":[],\"sources\":[{\"name\":\"a\"}]}",
		/* missing host */
		"{\"version\":1,\"time\":\"2025-06-18T12:00:00Z\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":\"" TREE_HEX "\",\"tags\":[],\"sources\":[]}",
		/* duplicate key, not JSON, not an object */
		"{\"version\":1,\"version\":1,\"time\":\"2025-06-18T12:00:00Z\",\"host\":\"h\",\"user\":\"u\","
		"\"program\":\"p\",\"tree\":\"" TREE_HEX "\",\"tags\":[],\"sources\":[]}",
		"{\"version\":1,",
		"[]",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = snap_parse(bad[i]);
		if (r != -EBADMSG)
			fprintf(stderr, "  bad snapshot #%zu: %d\n", i, r);
		CHECK_EQ(r, -EBADMSG);
	}
}

static int64_t parse(const char *s)
{
	int64_t ns = -42;
	if (time_parse_rfc3339(s, &ns) != 0)
		return INT64_MIN;
	return ns;
}

TEST(time_parse)
{
	const int64_t noon = 1718712000LL * 1000000000LL; /* 2024-06-18T12:00:00Z */
	CHECK_EQ(parse("1970-01-01T00:00:00Z"), 0);
	CHECK_EQ(parse("2024-06-18T12:00:00Z"), noon);
	CHECK_EQ(parse("2024-06-18 12:00:00Z"), noon);
	CHECK_EQ(parse("2024-06-18T12:00:00+00:00"), noon);
	CHECK_EQ(parse("2024-06-18T12:00:00-00:00"), noon);
	CHECK_EQ(parse("2024-06-18T14:00:00+02:00"), noon);
	CHECK_EQ(parse("2024-06-18T06:30:00-05:30"), noon);
	CHECK_EQ(parse("2024-06-19T01:45:00+13:45"), noon);
	CHECK_EQ(parse("2024-06-18T12:00:00.5Z"), noon + 500000000);
	CHECK_EQ(parse("2024-06-18T12:00:00.000000001Z"), noon + 1);
	CHECK_EQ(parse("2024-06-18T12:00:00.123456789+00:00"), noon + 123456789);
	CHECK_EQ(parse("2024-06-18T12:00:00.1234567891234Z"), noon + 123456789);
	CHECK_EQ(parse("1969-12-31T23:59:59.999999999Z"), -1);
	CHECK_EQ(parse("2000-02-29T00:00:00Z"), 951782400LL * 1000000000LL);

	const char *bad[] = {
		"", "abc", "2024-06-18", "2024-06-18T12:00:00", "2024-06-18T12:00Z",
		"2024-13-18T12:00:00Z", "2024-00-18T12:00:00Z", "2024-06-32T12:00:00Z",
		"2024-06-00T12:00:00Z", "2024-06-18T24:00:00Z", "2024-06-18T12:60:00Z",
		"2024-06-18T12:00:00.Z", "2024-06-18T12:00:00+2:00", "2024-06-18T12:00:00+02",
		"2024-06-18T12:00:00+0200", "2024-06-18T12:00:00+24:00", "2024-06-18T12:00:00+02:60",
		"2024-06-18T12:00:00Zjunk", "2024-06-18T12:00:00+02:00 ", "2024-06-18X12:00:00Z",
		"2024/06/18T12:00:00Z", "20a4-06-18T12:00:00Z", "2024-06-18T12:00:00z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ns;
		int r = time_parse_rfc3339(bad[i], &ns);
		if (r != -EINVAL)
			fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
		CHECK_EQ(r, -EINVAL);
	}
}

TEST(time_format_round_trip)
{
	const char *zones[] = { "UTC0", "IST-5:30", "EST5EDT,M3.2.0,M11.1.0", "NPT-5:45",
				"<-0330>3:30" };
	const int64_t times[] = {
		0, 1, -1, 999999999, 1000000000, -1000000000, -1500000000,
		1718712000123456789LL, 1710054000000000000LL /* near a DST switch */,
		4102444800000000001LL, -2208988800000000000LL,
	};
	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		set_tz(zones[z]);
		for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
			char s[64];
			time_format_rfc3339(times[i], s, sizeof(s));
			int64_t back = -42;
			CHECK_EQ(time_parse_rfc3339(s, &back), 0);
			if (back != times[i])
				fprintf(stderr, "  TZ=%s %lld -> %s -> %lld\n", zones[z],
					(long long)times[i], s, (long long)back);
			CHECK_EQ(back, times[i]);
			CHECK_EQ(strlen(s), 35);
		}
	}
	set_tz("UTC0");
	char s[64];
	time_format_rfc3339(1718712000123456789LL, s, sizeof(s));
	CHECK_STR(s, "2024-06-18T12:00:00.123456789+00:00");
	set_tz("IST-5:30");
	time_format_rfc3339(1718712000000000007LL, s, sizeof(s));
	CHECK_STR(s, "2024-06-18T17:30:00.000000007+05:30");
	set_tz("<-0330>3:30");
	time_format_rfc3339(1718712000000000000LL, s, sizeof(s));
	CHECK_STR(s, "2024-06-18T08:30:00.000000000-03:30");
	set_tz("UTC0");
}

TEST(dirname_format)
{
	char d[32];
	set_tz("UTC0");
	snapshot_dirname(1718712000123456789LL, d, sizeof(d));
	CHECK_STR(d, "@2024-06-18-120000");
	snapshot_dirname(0, d, sizeof(d));
	CHECK_STR(d, "@1970-01-01-000000");
	snapshot_dirname(1718751599999999999LL, d, sizeof(d)); /* 22:59:59.999 */
	CHECK_STR(d, "@2024-06-18-225959");
	set_tz("IST-5:30");
	snapshot_dirname(1718712000123456789LL, d, sizeof(d));
	CHECK_STR(d, "@2024-06-18-173000");
	set_tz("EST5EDT,M3.2.0,M11.1.0");
	snapshot_dirname(1718712000123456789LL, d, sizeof(d));
	CHECK_STR(d, "@2024-06-18-080000");
	set_tz("UTC0");
	CHECK_EQ(strlen(d), 18);
}

/* Folder names of snapshots at these times (time order), in names. */
static int folder_names(const int64_t *t, size_t n, char (*names)[SNAPSHOT_NAME_MAX])
{
	struct snapshot s[16];
	memset(s, 0, sizeof(s));
	for (size_t i = 0; i < n; i++)
		s[i].time_ns = t[i];
	memset(names, 'x', n * sizeof(*names));
	return snapshot_folder_names(s, n, names);
}

TEST(folder_names_suffix)
{
	char names[16][SNAPSHOT_NAME_MAX];
	const int64_t sec = 1718712000LL * 1000000000; /* 2024-06-18 12:00:00 UTC */
	set_tz("UTC0");
	CHECK_EQ(folder_names(NULL, 0, names), 0);

	/* distinct seconds: the plain snapshot_dirname */
	int64_t apart[] = { sec, sec + 1000000000, sec + 86400000000000LL };
	CHECK_EQ(folder_names(apart, 3, names), 0);
	CHECK_STR(names[0], "@2024-06-18-120000");
	CHECK_STR(names[1], "@2024-06-18-120001");
	CHECK_STR(names[2], "@2024-06-19-120000");

	/* the same second: the first keeps the name, later ones get -2, -3 */
	int64_t same[] = { sec, sec + 1, sec + 500000000, sec + 999999999,
			   sec + 1000000000, sec + 1200000000 };
	CHECK_EQ(folder_names(same, 6, names), 0);
	CHECK_STR(names[0], "@2024-06-18-120000");
	CHECK_STR(names[1], "@2024-06-18-120000-2");
	CHECK_STR(names[2], "@2024-06-18-120000-3");
	CHECK_STR(names[3], "@2024-06-18-120000-4");
	CHECK_STR(names[4], "@2024-06-18-120001");
	CHECK_STR(names[5], "@2024-06-18-120001-2");

	/* many in one second: -10 and beyond, all distinct */
	int64_t many[12];
	for (int i = 0; i < 12; i++)
		many[i] = sec + i * 1000;
	CHECK_EQ(folder_names(many, 12, names), 0);
	CHECK_STR(names[0], "@2024-06-18-120000");
	CHECK_STR(names[9], "@2024-06-18-120000-10");
	CHECK_STR(names[11], "@2024-06-18-120000-12");
	for (int i = 0; i < 12; i++)
		for (int j = i + 1; j < 12; j++)
			CHECK(strcmp(names[i], names[j]) != 0);

	/* clocks going back repeat a local time an hour later: not the same
	 * second, but the same name, so the later one is -2 as well */
	set_tz("EST5EDT,M3.2.0,M11.1.0");
	int64_t fold[] = {
		1730611800LL * 1000000000, /* 2024-11-03 01:30:00 EDT */
		1730612700LL * 1000000000, /* 01:45:00 EDT */
		1730615400LL * 1000000000, /* 01:30:00 EST */
		1730616300LL * 1000000000, /* 01:45:00 EST */
		1730616300LL * 1000000000 + 7,
	};
	CHECK_EQ(folder_names(fold, 5, names), 0);
	CHECK_STR(names[0], "@2024-11-03-013000");
	CHECK_STR(names[1], "@2024-11-03-014500");
	CHECK_STR(names[2], "@2024-11-03-013000-2");
	CHECK_STR(names[3], "@2024-11-03-014500-2");
	CHECK_STR(names[4], "@2024-11-03-014500-3");
	set_tz("UTC0");
}

/* ================= config ================= */

static void make_config(struct repo_config *c, int encrypted)
{
	memset(c, 0, sizeof(*c));
	c->version = REPO_FORMAT_VERSION;
	fill_id(&c->id, 0x33);
	c->created_ns = 1718712000123456789LL;
	c->encrypted = encrypted;
	c->chunker = (struct chunker_params){ CHUNKER_MIN_DEFAULT, CHUNKER_AVG_DEFAULT,
					      CHUNKER_MAX_DEFAULT };
	c->compression = COMP_ZSTD;
	c->level = 19;
	c->pack_size = PACK_SIZE_DEFAULT;
	if (!encrypted)
		for (int i = 0; i < KEY_LEN; i++)
			c->id_key[i] = (uint8_t)(0xc0 + i);
}

TEST(config_round_trip)
{
	for (int enc = 0; enc < 2; enc++) {
		struct repo_config c, back;
		make_config(&c, enc);
		if (enc) {
			c.compression = COMP_LZ4;
			c.level = 2;
			c.chunker = (struct chunker_params){ 64, 256, 1024 };
			c.pack_size = 1 << 20;
		}
		struct buf b = BUF_INIT;
		CHECK_EQ(config_to_json(&c, &b), 0);
		buf_put_u8(&b, 0);
		b.len--;
		const char *j = (const char *)b.data;
		char key[2 * KEY_LEN + 1];
		hex_encode(key, c.id_key, KEY_LEN);
		if (enc) {
			CHECK(strstr(j, "id_key") == NULL);
			CHECK(strstr(j, "\"encryption\":\"aes-256-gcm\"") != NULL);
		} else {
			CHECK(strstr(j, "\"id_key\"") != NULL);
			CHECK(strstr(j, key) != NULL);
			CHECK(strstr(j, "\"encryption\":\"none\"") != NULL);
			CHECK(strstr(j, "\"compression\":\"zstd:19\"") != NULL);
		}
		memset(&back, 0x77, sizeof(back));
		CHECK_EQ(config_from_json(b.data, b.len, &back), 0);
		CHECK_EQ(back.version, c.version);
		CHECK(oid_eq(&back.id, &c.id));
		CHECK_EQ(back.created_ns, c.created_ns);
		CHECK_EQ(back.encrypted, enc);
		CHECK_EQ(back.chunker.min, c.chunker.min);
		CHECK_EQ(back.chunker.avg, c.chunker.avg);
		CHECK_EQ(back.chunker.max, c.chunker.max);
		CHECK_EQ(back.compression, c.compression);
		CHECK_EQ(back.level, c.level);
		CHECK_EQ(back.pack_size, c.pack_size);
		CHECK_MEM(back.id_key, c.id_key, KEY_LEN); /* zero when encrypted */
		buf_release(&b);
	}
}

static int cfg_parse(const char *chunker, const char *comp, const char *enc,
		     const char *extra)
{
	char j[1024];
	snprintf(j, sizeof(j),
		 "{\"version\":1,\"id\":\"" TREE_HEX "\",\"created\":\"2024-06-18T12:00:00Z\","
		 "\"chunker\":{%s},\"compression\":\"%s\",\"pack_size\":16777216,"
		 "\"encryption\":\"%s\"%s}",
		 chunker, comp, enc, extra);
	struct repo_config c;
	return config_from_json(j, strlen(j), &c);
}

#define CH_OK "\"algorithm\":\"fastcdc\",\"min\":262144,\"avg\":1048576,\"max\":4194304"
#define KEY_OK ",\"id_key\":\"" TREE_HEX "\""

TEST(config_rejects)
{
	CHECK_EQ(cfg_parse(CH_OK, "zstd:3", "aes-256-gcm", ""), 0);
	CHECK_EQ(cfg_parse(CH_OK, "lz4", "none", KEY_OK), 0);

	/* chunker parameters */
	const char *chunkers[] = {
		"\"algorithm\":\"fastcdc\",\"min\":262144,\"avg\":1000000,\"max\":4194304",
		"\"algorithm\":\"fastcdc\",\"min\":1048576,\"avg\":1048576,\"max\":4194304",
		"\"algorithm\":\"fastcdc\",\"min\":262144,\"avg\":1048576,\"max\":1048576",
		"\"algorithm\":\"fastcdc\",\"min\":262144,\"avg\":1048576,\"max\":16777217",
		"\"algorithm\":\"fastcdc\",\"min\":262144,\"avg\":1048576,\"max\":4294967296",
		"\"algorithm\":\"fastcdc\",\"min\":-1,\"avg\":1048576,\"max\":4194304",
		"\"algorithm\":\"fastcdc\",\"min\":32,\"avg\":1048576,\"max\":4194304",
		"\"algorithm\":\"rabin\",\"min\":262144,\"avg\":1048576,\"max\":4194304",
		"\"algorithm\":\"fastcdc\",\"avg\":1048576,\"max\":4194304",
	};
	for (size_t i = 0; i < sizeof(chunkers) / sizeof(chunkers[0]); i++) {
		int r = cfg_parse(chunkers[i], "zstd", "aes-256-gcm", "");
		if (r != -EBADMSG)
			fprintf(stderr, "  chunker #%zu accepted\n", i);
		CHECK_EQ(r, -EBADMSG);
	}
	/* compression */
	CHECK_EQ(cfg_parse(CH_OK, "gzip", "aes-256-gcm", ""), -EBADMSG);
	CHECK_EQ(cfg_parse(CH_OK, "zstd:0", "aes-256-gcm", ""), -EBADMSG);
	CHECK_EQ(cfg_parse(CH_OK, "zstd:99", "aes-256-gcm", ""), -EBADMSG);
	CHECK_EQ(cfg_parse(CH_OK, "", "aes-256-gcm", ""), -EBADMSG);
	/* encryption and id_key must agree */
	CHECK_EQ(cfg_parse(CH_OK, "zstd", "aes-256-gcm", KEY_OK), -EBADMSG);
	CHECK_EQ(cfg_parse(CH_OK, "zstd", "none", ""), -EBADMSG);
	CHECK_EQ(cfg_parse(CH_OK, "zstd", "aes-128-gcm", ""), -EBADMSG);
	CHECK_EQ(cfg_parse(CH_OK, "zstd", "", ""), -EBADMSG);
	CHECK_EQ(cfg_parse(CH_OK, "zstd", "none", ",\"id_key\":\"abcd\""), -EBADMSG);
	CHECK_EQ(cfg_parse(CH_OK, "zstd", "none",
			   ",\"id_key\":\"" TREE_HEX "00\""), -EBADMSG);
	CHECK_EQ(cfg_parse(CH_OK, "zstd", "none",
			   ",\"id_key\":\"x101010101010101010101010101010101010101010101010101010101010101\""),
		 -EBADMSG);
	CHECK_EQ(cfg_parse(CH_OK, "zstd", "none", ",\"id_key\":5"), -EBADMSG);

	/* other fields */
	struct repo_config c;
	const char *bad[] = {
		"{\"version\":2,\"id\":\"" TREE_HEX "\",\"created\":\"2024-06-18T12:00:00Z\","
		"\"chunker\":{" CH_OK "},\"compression\":\"zstd\",\"pack_size\":16777216,"
		"\"encryption\":\"aes-256-gcm\"}",
		"{\"version\":1,\"id\":\"1234\",\"created\":\"2024-06-18T12:00:00Z\","
		"\"chunker\":{" CH_OK "},\"compression\":\"zstd\",\"pack_size\":16777216,"
		"\"encryption\":\"aes-256-gcm\"}",
		"{\"version\":1,\"id\":\"" TREE_HEX "\",\"created\":\"June\","
		"\"chunker\":{" CH_OK "},\"compression\":\"zstd\",\"pack_size\":16777216,"
		"\"encryption\":\"aes-256-gcm\"}",
		"{\"version\":1,\"id\":\"" TREE_HEX "\",\"created\":\"2024-06-18T12:00:00Z\","
		"\"chunker\":{" CH_OK "},\"compression\":\"zstd\",\"pack_size\":1000,"
		"\"encryption\":\"aes-256-gcm\"}",
		"{\"version\":1,\"id\":\"" TREE_HEX "\",\"created\":\"2024-06-18T12:00:00Z\","
		"\"chunker\":{" CH_OK "},\"compression\":\"zstd\",\"pack_size\":2147483648,"
		"\"encryption\":\"aes-256-gcm\"}",
		"{\"version\":1,\"id\":\"" TREE_HEX "\",\"created\":\"2024-06-18T12:00:00Z\","
		"\"chunker\":{" CH_OK "},\"compression\":\"zstd\","
		"\"encryption\":\"aes-256-gcm\"}",
		"{\"version\":1}", "not json", "", "[1]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = config_from_json(bad[i], strlen(bad[i]), &c);
		if (r != -EBADMSG)
			fprintf(stderr, "  config #%zu accepted\n", i);
		CHECK_EQ(r, -EBADMSG);
	}
}

TEST(compression_names)
{
	int comp = -1, level = -1;
	CHECK_EQ(compression_parse("zstd", &comp, &level), 0);
	CHECK_EQ(comp, COMP_ZSTD);
	CHECK_EQ(level, 3);
	CHECK_EQ(compression_parse("zstd:19", &comp, &level), 0);
	CHECK_EQ(comp, COMP_ZSTD);
	CHECK_EQ(level, 19);
	CHECK_EQ(compression_parse("zstd:1", &comp, &level), 0);
	CHECK_EQ(level, 1);
	CHECK_EQ(compression_parse("lz4", &comp, &level), 0);
	CHECK_EQ(comp, COMP_LZ4);
	CHECK_EQ(level, 1);
	CHECK_EQ(compression_parse("lz4:2", &comp, &level), 0);
	CHECK_EQ(comp, COMP_LZ4);
	CHECK_EQ(level, 2);
	CHECK_EQ(compression_parse("none", &comp, &level), 0);
	CHECK_EQ(comp, COMP_NONE);

	const char *bad[] = { "zstd:0", "zstd:20", "zstd:-1", "zstd:", "zstd:3x", "zstd3",
			      "zstdx", "gzip", "", "ZSTD", "lz4:0", "none:1", "nonE",
			      "lz4:", " zstd" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = compression_parse(bad[i], &comp, &level);
		if (r != -EINVAL)
			fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
		CHECK_EQ(r, -EINVAL);
	}

	char s[16];
	compression_format(COMP_ZSTD, 3, s, sizeof(s));
	CHECK_STR(s, "zstd:3");
	compression_format(COMP_LZ4, 1, s, sizeof(s));
	CHECK_STR(s, "lz4:1");
	compression_format(COMP_NONE, 0, s, sizeof(s));
	CHECK_STR(s, "none");
	/* format then parse */
	compression_format(COMP_ZSTD, 19, s, sizeof(s));
	CHECK_EQ(compression_parse(s, &comp, &level), 0);
	CHECK(comp == COMP_ZSTD && level == 19);
}

/* ================= key files ================= */

static struct kdf_params fast_kdf(void)
{
	struct kdf_params k = { .t = 1, .m = 64, .p = 1 };
	for (int i = 0; i < 16; i++)
		k.salt[i] = (uint8_t)(0xa0 + i);
	return k;
}

static void make_master(uint8_t *m)
{
	for (int i = 0; i < MASTER_LEN; i++)
		m[i] = (uint8_t)(i * 29 + 3);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

TEST(keyfile_round_trip)
{
	uint8_t master[MASTER_LEN], out[MASTER_LEN];
	make_master(master);
	struct kdf_params k = fast_kdf();
	struct buf b = BUF_INIT;
	int64_t before = now_ns();
	CHECK_EQ(keyfile_create(master, "correct horse", 13, &k, &b), 0);
	int64_t after = now_ns();
	/* the master secret is not in the file in any obvious form */
	CHECK(memmem(b.data, b.len, master, MASTER_LEN) == NULL);
	char mhex[2 * MASTER_LEN + 1];
	hex_encode(mhex, master, MASTER_LEN);
	CHECK(memmem(b.data, b.len, mhex, 32) == NULL);

	memset(out, 0, sizeof(out));
	CHECK_EQ(keyfile_open(b.data, b.len, "correct horse", 13, out), 0);
	CHECK_MEM(out, master, MASTER_LEN);

	struct keyfile_info info;
	CHECK_EQ(keyfile_info(b.data, b.len, &info), 0);
	CHECK_EQ(info.kdf.t, 1);
	CHECK_EQ(info.kdf.m, 64);
	CHECK_EQ(info.kdf.p, 1);
	CHECK_MEM(info.kdf.salt, k.salt, 16);
	/* created is formatted with nanoseconds, so it falls inside the call */
	CHECK(info.created_ns >= before && info.created_ns <= after);
	char host[256] = "";
	gethostname(host, sizeof(host));
	CHECK_STR(info.host, host);
	CHECK(info.user[0] != 0);

	/* a second passphrase for the same master */
	struct buf b2 = BUF_INIT;
	k.t = 2;
	k.salt[0] ^= 1;
	CHECK_EQ(keyfile_create(master, "other", 5, &k, &b2), 0);
	memset(out, 0, sizeof(out));
	CHECK_EQ(keyfile_open(b2.data, b2.len, "other", 5, out), 0);
	CHECK_MEM(out, master, MASTER_LEN);
	CHECK_EQ(keyfile_open(b2.data, b2.len, "correct horse", 13, out), -EKEYREJECTED);
	CHECK_EQ(keyfile_info(b2.data, b2.len, &info), 0);
	CHECK_EQ(info.kdf.t, 2);
	buf_release(&b);
	buf_release(&b2);
}

TEST(keyfile_wrong_password)
{
	uint8_t master[MASTER_LEN], out[MASTER_LEN];
	make_master(master);
	struct kdf_params k = fast_kdf();
	struct buf b = BUF_INIT;
	CHECK_EQ(keyfile_create(master, "pw", 2, &k, &b), 0);
	memset(out, 0xee, sizeof(out));
	CHECK_EQ(keyfile_open(b.data, b.len, "pW", 2, out), -EKEYREJECTED);
	CHECK_EQ(keyfile_open(b.data, b.len, "pw ", 3, out), -EKEYREJECTED);
	CHECK_EQ(keyfile_open(b.data, b.len, "p", 1, out), -EKEYREJECTED);
	CHECK_EQ(keyfile_open(b.data, b.len, "", 0, out), -EKEYREJECTED);
	CHECK_EQ(keyfile_open(b.data, b.len, "pw", 0, out), -EKEYREJECTED);
	CHECK_EQ(keyfile_open(b.data, b.len, "pw", 2, out), 0);
	CHECK_MEM(out, master, MASTER_LEN);
	/* no key is made for an empty passphrase */
	struct buf e = BUF_INIT;
	CHECK(keyfile_create(master, "", 0, &k, &e) < 0);
	buf_release(&e);
	buf_release(&b);
}

/* Replaces the first occurrence of `from` in the JSON text. */
static char *replace(const struct buf *b, const char *from, const char *to)
{
	char *s = strndup((const char *)b->data, b->len);
	char *p = strstr(s, from);
	if (!p)
		return s;
	size_t n = strlen(s) - strlen(from) + strlen(to);
	char *o = malloc(n + 1);
	size_t pre = (size_t)(p - s);
	memcpy(o, s, pre);
	strcpy(o + pre, to);
	strcat(o, p + strlen(from));
	free(s);
	return o;
}

/* The value of "key": "..." in the key file. */
static char *field(const struct buf *b, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\": \"", key);
	char *s = strndup((const char *)b->data, b->len);
	char *p = strstr(s, pat);
	char *r = NULL;
	if (p) {
		p += strlen(pat);
		char *q = strchr(p, '"');
		r = strndup(p, (size_t)(q - p));
	}
	free(s);
	return r;
}

TEST(keyfile_tampered)
{
	uint8_t master[MASTER_LEN], out[MASTER_LEN];
	make_master(master);
	struct kdf_params k = fast_kdf();
	struct buf b = BUF_INIT;
	CHECK_EQ(keyfile_create(master, "pw", 2, &k, &b), 0);
	char *m64 = field(&b, "master");
	CHECK(m64 != NULL);
	if (!m64)
		return;
	/* nonce | master | tag, base64 */
	CHECK_EQ(strlen(m64), 4 * ((NONCE_LEN + MASTER_LEN + TAG_LEN + 2) / 3));

	/* flip bits in each byte of the sealed master */
	uint8_t sealed[NONCE_LEN + MASTER_LEN + TAG_LEN];
	CHECK_EQ(base64_decode(sealed, sizeof(sealed), m64), (long)sizeof(sealed));
	int bad = 0;
	for (size_t i = 0; i < sizeof(sealed); i++) {
		sealed[i] ^= 0x08;
		char *enc = base64_encode(sealed, sizeof(sealed));
		char *j = replace(&b, m64, enc);
		int r = keyfile_open(j, strlen(j), "pw", 2, out);
		if (r != -EKEYREJECTED && r != -EBADMSG)
			bad++;
		free(j);
		free(enc);
		sealed[i] ^= 0x08;
	}
	CHECK_EQ(bad, 0);

	/* truncated or extended master */
	char *j = replace(&b, m64, "AAAA");
	CHECK_EQ(keyfile_open(j, strlen(j), "pw", 2, out), -EBADMSG);
	free(j);
	char longer[100];
	snprintf(longer, sizeof(longer), "%sAAAA", m64);
	j = replace(&b, m64, longer);
	CHECK_EQ(keyfile_open(j, strlen(j), "pw", 2, out), -EBADMSG);
	free(j);
	j = replace(&b, m64, "!!!!");
	CHECK_EQ(keyfile_open(j, strlen(j), "pw", 2, out), -EBADMSG);
	free(j);

	/* a changed salt derives another key: rejected */
	char *salt = field(&b, "salt");
	uint8_t sb[16];
	CHECK_EQ(base64_decode(sb, sizeof(sb), salt), 16);
	sb[0] ^= 1;
	char *s2 = base64_encode(sb, sizeof(sb));
	j = replace(&b, salt, s2);
	CHECK_EQ(keyfile_open(j, strlen(j), "pw", 2, out), -EKEYREJECTED);
	free(j);
	free(s2);
	/* a salt of the wrong length is malformed */
	j = replace(&b, salt, "AAAA");
	CHECK_EQ(keyfile_open(j, strlen(j), "pw", 2, out), -EBADMSG);
	CHECK_EQ(keyfile_info(j, strlen(j), &(struct keyfile_info){ 0 }), -EBADMSG);
	free(j);
	free(salt);
	free(m64);
	buf_release(&b);
}

TEST(keyfile_malformed)
{
	uint8_t master[MASTER_LEN], out[MASTER_LEN];
	make_master(master);
	struct kdf_params k = fast_kdf();
	struct buf b = BUF_INIT;
	CHECK_EQ(keyfile_create(master, "pw", 2, &k, &b), 0);
	struct keyfile_info info;

	/* truncated JSON */
	CHECK_EQ(keyfile_open(b.data, b.len / 2, "pw", 2, out), -EBADMSG);
	CHECK_EQ(keyfile_info(b.data, b.len / 2, &info), -EBADMSG);
	CHECK_EQ(keyfile_open("", 0, "pw", 2, out), -EBADMSG);
	CHECK_EQ(keyfile_open("{}", 2, "pw", 2, out), -EBADMSG);
	CHECK_EQ(keyfile_open("null", 4, "pw", 2, out), -EBADMSG);
	/* malformed even with an empty password: the file is checked first */
	CHECK_EQ(keyfile_open("{}", 2, "", 0, out), -EBADMSG);

	struct {
		const char *from, *to;
	} edits[] = {
		{ "\"version\": 1", "\"version\": 2" },
		{ "\"kdf\": \"argon2id\"", "\"kdf\": \"scrypt\"" },
		{ "\"t\": 1", "\"t\": 0" },
		{ "\"t\": 1", "\"t\": 65" },
		{ "\"m\": 64", "\"m\": 4" },
		{ "\"m\": 64", "\"m\": 99999999" },
		{ "\"p\": 1", "\"p\": 0" },
		{ "\"p\": 1", "\"p\": 17" },
		{ "\"t\": 1", "\"t\": \"1\"" },
		{ "\"created\": \"", "\"created\": \"x" },
		{ "\"master\"", "\"masterkey\"" },
		{ "\"salt\"", "\"pepper\"" },
		{ "\"version\": 1,", "\"version\": 1, \"version\": 1," },
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *j = replace(&b, edits[i].from, edits[i].to);
		if (strlen(j) == b.len && !memcmp(j, b.data, b.len)) {
			fprintf(stderr, "  edit #%zu did not apply\n", i);
			CHECK(0);
		}
		int r = keyfile_open(j, strlen(j), "pw", 2, out);
		if (r != -EBADMSG)
			fprintf(stderr, "  edit #%zu: open %d\n", i, r);
		CHECK_EQ(r, -EBADMSG);
		CHECK_EQ(keyfile_info(j, strlen(j), &info), -EBADMSG);
		free(j);
	}
	buf_release(&b);
}

/* Parameters each within the key file parser's bounds but together not
 * accepted by the KDF (m below 8 KiB per lane): the file is malformed, so
 * keyfile_open must say -EBADMSG (its contract allows only that or
 * -EKEYREJECTED), not pass the KDF's -EINVAL through. */
TEST(keyfile_kdf_params_inconsistent)
{
	uint8_t master[MASTER_LEN], out[MASTER_LEN];
	make_master(master);
	struct kdf_params k = fast_kdf();
	struct buf b = BUF_INIT;
	CHECK_EQ(keyfile_create(master, "pw", 2, &k, &b), 0);
	char *j = replace(&b, "\"p\": 1", "\"p\": 16"); /* m = 64 < 8 * 16 */
	CHECK(strstr(j, "\"p\": 16") != NULL);
	int r = keyfile_open(j, strlen(j), "pw", 2, out);
	CHECK(r == -EBADMSG || r == -EKEYREJECTED);
	if (r != -EBADMSG && r != -EKEYREJECTED)
		fprintf(stderr, "  keyfile_open with m=64, p=16: %d\n", r);
	free(j);
	buf_release(&b);
}

int main(void)
{
	set_tz("UTC0");
	RUN(snapshot_json_round_trip);
	RUN(snapshot_json_fields);
	RUN(snapshot_json_rejects);
	RUN(time_parse);
	RUN(time_format_round_trip);
	RUN(dirname_format);
	RUN(folder_names_suffix);
	RUN(config_round_trip);
	RUN(config_rejects);
	RUN(compression_names);
	RUN(keyfile_round_trip);
	RUN(keyfile_wrong_password);
	RUN(keyfile_tampered);
	RUN(keyfile_malformed);
	RUN(keyfile_kdf_params_inconsistent);
	HARNESS_DONE();
}
