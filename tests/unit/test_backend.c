#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "error.h"
#include "unit.h"

static void
add(struct backend_set *set, const char *line)
{
	struct backend_spec	 s;
	char			 err[256];

	if (backend_parse_line(line, &s, err, sizeof(err)) != 1 ||
	    backend_set_add(set, &s) < 0)
		CHECK(0, "add %s: %s", line, err);
}

/* The names of count picks, one letter each (the set's a, b, c...). */
static void
picks(struct backend_set *set, enum backend_algo a, size_t count, char *out)
{
	struct backend	*b;
	size_t		 i;

	for (i = 0; i < count; i++) {
		b = backend_pick(set, a, NULL, 0, 0);
		out[i] = b == NULL ? '-' : (char)('a' + backend_index(set, b));
	}
	out[count] = '\0';
}

static void
test_parse(void)
{
	struct backend_spec	 s, specs[4];
	char			 err[256];
	size_t			 n;
	const char		*text;

	CHECK_EQ(backend_parse_line("127.0.0.1:1935", &s, err, sizeof(err)), 1, "host:port");
	CHECK(strcmp(s.addr.host, "127.0.0.1") == 0 && s.addr.port == 1935 &&
	    s.weight == 1 && s.maxconn == 0, "host, port, defaults");
	CHECK_EQ(backend_parse_line("[::1]:19350 weight 3 maxconn 10 # v6", &s, err,
	    sizeof(err)), 1, "[v6]:port with weight, maxconn and a comment");
	CHECK(strcmp(s.addr.host, "::1") == 0 && s.addr.port == 19350 && s.weight == 3 &&
	    s.maxconn == 10 && strcmp(s.name, "[::1]:19350") == 0, "its fields");
	CHECK_EQ(backend_parse_line("\tunix:/run/rtmp/a.sock maxconn 2", &s, err,
	    sizeof(err)), 1, "unix:/path");
	CHECK(s.addr.family_unix && strcmp(s.addr.path, "/run/rtmp/a.sock") == 0 &&
	    s.maxconn == 2, "its path");
	CHECK_EQ(backend_parse_line("127.0.0.1:443 tls weight 2", &s, err, sizeof(err)), 1,
	    "tls, a word alone");
	CHECK(s.tls && s.weight == 2, "tls and the setting after it");
	CHECK_EQ(backend_parse_line("127.0.0.1:443 maxconn 3 tls", &s, err, sizeof(err)), 1,
	    "tls last");
	CHECK(s.tls && s.maxconn == 3, "both");
	CHECK_EQ(backend_parse_line("127.0.0.1:1935", &s, err, sizeof(err)), 1, "no proxy");
	CHECK_EQ(s.proxy, 0, "no PROXY header by default");
	CHECK_EQ(backend_parse_line("127.0.0.1:1935 proxy v1", &s, err, sizeof(err)), 1,
	    "proxy v1");
	CHECK(s.proxy == 1 && s.weight == 1 && !s.tls, "v1, the rest the defaults");
	CHECK_EQ(backend_parse_line("unix:/run/a.sock proxy v2 tls", &s, err, sizeof(err)), 1,
	    "proxy v2 before a word alone");
	CHECK(s.proxy == 2 && s.tls, "v2 and tls");
	CHECK_EQ(backend_parse_line("[::1]:1 weight 2 maxconn 3 tls proxy v2 # all", &s, err,
	    sizeof(err)), 1, "every setting on one line: the most words");
	CHECK(s.weight == 2 && s.maxconn == 3 && s.tls && s.proxy == 2, "all four");
	CHECK_EQ(backend_parse_line("h:1 proxy", &s, err, sizeof(err)), RTMP_EINVAL,
	    "proxy without a version");
	CHECK(strcmp(err, "proxy: v1 or v2 must follow") == 0, "says why: %s", err);
	CHECK_EQ(backend_parse_line("h:1 proxy v3", &s, err, sizeof(err)), RTMP_EINVAL,
	    "proxy v3");
	CHECK(strcmp(err, "proxy v3: not v1 or v2") == 0, "says why: %s", err);
	CHECK_EQ(backend_parse_line("h:1 proxy 2", &s, err, sizeof(err)), RTMP_EINVAL,
	    "proxy 2: the version is spelled v2");
	CHECK_EQ(backend_parse_line("h:1 proxy tls", &s, err, sizeof(err)), RTMP_EINVAL,
	    "proxy takes the next word as its version, even tls");
	CHECK_EQ(backend_parse_line("h:1 send-proxy", &s, err, sizeof(err)), RTMP_EINVAL,
	    "HAProxy's word is not ours");
	CHECK(strcmp(err, "send-proxy: not weight, maxconn, tls, proxy, publish or play") == 0,
	    "the known words named: %s", err);
	CHECK_EQ(backend_parse_line("   # only a comment", &s, err, sizeof(err)), 0, "comment");
	CHECK_EQ(backend_parse_line("", &s, err, sizeof(err)), 0, "blank");
	CHECK_EQ(backend_parse_line(":1935", &s, err, sizeof(err)), RTMP_EINVAL, "no host");
	CHECK_EQ(backend_parse_line("h:0", &s, err, sizeof(err)), RTMP_EINVAL, "port 0");
	CHECK_EQ(backend_parse_line("h", &s, err, sizeof(err)), RTMP_EINVAL, "no port");
	CHECK_EQ(backend_parse_line("h:1 weight 0", &s, err, sizeof(err)), RTMP_EINVAL,
	    "weight 0");
	CHECK(strstr(err, "weight 0: too small") != NULL, "says why: %s", err);
	CHECK_EQ(backend_parse_line("h:1 weight 1001", &s, err, sizeof(err)), RTMP_EINVAL,
	    "weight too large");
	CHECK_EQ(backend_parse_line("h:1 weight", &s, err, sizeof(err)), RTMP_EINVAL,
	    "weight without a number");
	CHECK_EQ(backend_parse_line("h:1 speed 3", &s, err, sizeof(err)), RTMP_EINVAL,
	    "unknown word");
	CHECK_EQ(backend_parse_line("h:1 weight 2 weight 3 maxconn 4 maxconn 5 tls tls tls tls",
	    &s, err, sizeof(err)), RTMP_EINVAL, "too many words");

	text = "# backends\n127.0.0.1:1 weight 2\n\n127.0.0.1:2\r\nunix:/x\n";
	CHECK_EQ(backend_parse_text(text, strlen(text), specs, 4, &n, err, sizeof(err)), 0,
	    "a file");
	CHECK_EQ(n, 3, "three backends");
	CHECK(specs[0].weight == 2 && specs[1].addr.port == 2 && specs[2].addr.family_unix,
	    "in order");
	text = "127.0.0.1:1\n127.0.0.1:2 maxconn x\n";
	CHECK_EQ(backend_parse_text(text, strlen(text), specs, 4, &n, err, sizeof(err)),
	    RTMP_EINVAL, "a bad line");
	CHECK(strncmp(err, "line 2: maxconn x", 17) == 0, "named by number: %s", err);
	text = "h:1 proxy v2\nh:2 proxy v4\n";
	CHECK_EQ(backend_parse_text(text, strlen(text), specs, 4, &n, err, sizeof(err)),
	    RTMP_EINVAL, "a bad proxy version in a file");
	CHECK(strcmp(err, "line 2: proxy v4: not v1 or v2") == 0, "named by number: %s", err);
	text = "h:1\nh:2\nh:3\n";
	CHECK_EQ(backend_parse_text(text, strlen(text), specs, 2, &n, err, sizeof(err)),
	    RTMP_EINVAL, "more lines than allowed");
	CHECK(strncmp(err, "line 3: more than 2", 19) == 0, "%s", err);
	text = "h:1 weight 3\nh:2\n# the end\n\n";
	CHECK_EQ(backend_parse_text(text, strlen(text), specs, 2, &n, err, sizeof(err)), 0,
	    "as many as allowed, then comments");
	CHECK(n == 2 && specs[0].weight == 3 && specs[0].addr.port == 1,
	    "the comment past the last did not clobber the first (fuzz)");
	{
		char	 host[300];

		memset(host, 'a', 260);
		memcpy(host + 260, ":1", 3);
		CHECK_EQ(backend_parse_line(host, &s, err, sizeof(err)), RTMP_EINVAL,
		    "a host longer than url.h takes");
	}
	CHECK_EQ(backend_parse_text("h:1\0\n", 5, specs, 2, &n, err, sizeof(err)),
	    RTMP_EINVAL, "a NUL");
	{
		char	*big = malloc(BACKEND_LINE_MAX + 10);

		memset(big, ' ', BACKEND_LINE_MAX + 9);
		memcpy(big, "h:1", 3);
		big[BACKEND_LINE_MAX + 9] = '\n';
		CHECK_EQ(backend_parse_text(big, BACKEND_LINE_MAX + 10, specs, 2, &n, err,
		    sizeof(err)), RTMP_EINVAL, "a line too long");
		CHECK(strstr(err, "line 1: longer than") != NULL, "%s", err);
		free(big);
	}
	{
		char	*ops[] = { "h:1 weight 2", "# nothing", "unix:/y" };
		char	*bad[] = { "h:1", "h" };

		CHECK_EQ(backend_load(NULL, ops, 3, specs, 4, &n, err, sizeof(err)), 0,
		    "operands");
		CHECK(n == 2 && specs[0].weight == 2 && specs[1].addr.family_unix,
		    "two of three operands are backends");
		CHECK_EQ(backend_load(NULL, bad, 2, specs, 4, &n, err, sizeof(err)),
		    RTMP_EINVAL, "a bad operand");
		CHECK(strncmp(err, "backend h: h: not host:port", 27) == 0, "%s", err);
		CHECK_EQ(backend_load(NULL, ops, 3, specs, 1, &n, err, sizeof(err)),
		    RTMP_EINVAL, "more operands than room");
	}
	CHECK_EQ(backend_read_file("/nonexistent/backends", specs, 4, &n, err, sizeof(err)),
	    RTMP_ESYS, "a missing file");
	CHECK(strstr(err, "/nonexistent/backends: No such file") != NULL, "%s", err);
}

static void
test_roundrobin(void)
{
	struct backend_set	 set;
	char			 got[32];

	backend_set_init(&set);
	add(&set, "h:1 weight 5");
	add(&set, "h:2");
	add(&set, "h:3");
	picks(&set, BACKEND_ROUNDROBIN, 14, got);
	CHECK(strcmp(got, "aabacaaaabacaa") == 0, "5,1,1 is smooth: %s", got);
	CHECK(strncmp(got, got + 7, 7) == 0, "and periodic: %s", got);
	backend_set_free(&set);

	backend_set_init(&set);
	add(&set, "h:1");
	add(&set, "h:2");
	add(&set, "h:3");
	picks(&set, BACKEND_ROUNDROBIN, 6, got);
	CHECK(strcmp(got, "abcabc") == 0, "equal weights in turn: %s", got);
	set.b[1]->up = 0;
	picks(&set, BACKEND_ROUNDROBIN, 4, got);
	CHECK(strcmp(got, "acac") == 0, "a down backend gets none: %s", got);
	set.b[1]->up = 1;
	set.b[2]->spec.maxconn = 1;
	backend_attach(set.b[2]);
	picks(&set, BACKEND_ROUNDROBIN, 4, got);
	CHECK(strchr(got, 'c') == NULL, "one at its maxconn gets none: %s", got);
	set.b[0]->up = set.b[1]->up = 0;
	picks(&set, BACKEND_ROUNDROBIN, 1, got);
	CHECK(strcmp(got, "-") == 0, "none available: NULL");
	set.b[0]->up = 1;
	CHECK(backend_pick(&set, BACKEND_ROUNDROBIN, NULL, 0, 1) == NULL,
	    "the skip mask leaves nothing");
	backend_set_free(&set);
}

static void
test_leastconn(void)
{
	struct backend_set	 set;
	struct backend		*b;
	size_t			 i;
	char			 got[16];

	backend_set_init(&set);
	add(&set, "h:1");
	add(&set, "h:2 weight 2");
	add(&set, "h:3");
	for (i = 0; i < 8; i++) {
		b = backend_pick(&set, BACKEND_LEASTCONN, NULL, 0, 0);
		got[i] = (char)('a' + backend_index(&set, b));
		backend_attach(b);
	}
	got[i] = '\0';
	CHECK(strcmp(got, "abcbabcb") == 0, "fewest per weight, ties by order: %s", got);
	CHECK(set.b[0]->active == 2 && set.b[1]->active == 4 && set.b[2]->active == 2,
	    "2, 4, 2");
	backend_detach(set.b[2]);
	backend_detach(set.b[2]);
	b = backend_pick(&set, BACKEND_LEASTCONN, NULL, 0, 0);
	CHECK(b == set.b[2], "the emptied one next");
	CHECK(backend_pick(&set, BACKEND_LEASTCONN, NULL, 0, 1u << 2) == set.b[0],
	    "skipped: the next best");
	set.b[0]->spec.maxconn = 2;
	CHECK(backend_pick(&set, BACKEND_LEASTCONN, NULL, 0, 1u << 2) == set.b[1],
	    "one at its maxconn is passed over");
	backend_set_free(&set);
}

static void
test_hash(void)
{
	struct backend_set	 set;
	struct backend		*b, *was[10000];
	char			 key[32];
	size_t			 i, moved = 0, to_new = 0, count[4] = { 0 };

	backend_set_init(&set);
	add(&set, "10.0.0.1:1935");
	add(&set, "10.0.0.2:1935");
	add(&set, "10.0.0.3:1935");
	CHECK(backend_pick(&set, BACKEND_SOURCE, "127.0.0.1", 9, 0) ==
	    backend_pick(&set, BACKEND_SOURCE, "127.0.0.1", 9, 0), "source: stable");
	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "live/stream%zu", i);
		was[i] = backend_pick(&set, BACKEND_STREAM, key, strlen(key), 0);
		count[backend_index(&set, was[i])]++;
	}
	CHECK(count[0] > 3000 && count[1] > 3000 && count[2] > 3000,
	    "three share evenly: %zu %zu %zu", count[0], count[1], count[2]);
	add(&set, "10.0.0.4:1935");
	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "live/stream%zu", i);
		b = backend_pick(&set, BACKEND_STREAM, key, strlen(key), 0);
		if (b != was[i]) {
			moved++;
			to_new += b == set.b[3];
		}
	}
	CHECK(moved > 2200 && moved < 2800, "a 4th moves about a quarter: %zu", moved);
	CHECK(to_new == moved, "and only to the new one");
	set.b[3]->up = 0;
	for (i = moved = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "live/stream%zu", i);
		moved += backend_pick(&set, BACKEND_STREAM, key, strlen(key), 0) != was[i];
	}
	CHECK_EQ(moved, 0, "it down: every stream back where it was");
	set.b[3]->up = 1;
	set.b[0]->spec.weight = 3;
	memset(count, 0, sizeof(count));
	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "live/stream%zu", i);
		count[backend_index(&set, backend_pick(&set, BACKEND_STREAM, key, strlen(key),
		    0))]++;
	}
	CHECK(count[0] > 4600 && count[0] < 5400, "weight 3 of 6: half: %zu", count[0]);
	backend_set_free(&set);
}

static void
test_merge(void)
{
	struct backend_set	 set;
	struct backend_spec	 specs[3];
	struct backend		*a;
	char			 err[256];
	size_t			 added;
	const char		*text = "h:1 weight 4 proxy v1\nh:3\n";
	size_t			 n;

	backend_set_init(&set);
	add(&set, "h:1");
	add(&set, "h:2");
	a = set.b[0];
	backend_attach(set.b[0]);
	backend_attach(set.b[1]);
	CHECK_EQ(backend_parse_text(text, strlen(text), specs, 3, &n, err, sizeof(err)), 0,
	    "new file");
	CHECK_EQ(backend_set_merge(&set, specs, n, &added), 0, "merged");
	CHECK_EQ(added, 1, "one new");
	CHECK(set.n == 3 && set.b[0] == a && a->spec.weight == 4 && a->active == 1,
	    "the kept one keeps its state, takes the new weight");
	CHECK_EQ(a->spec.proxy, 1, "and the new proxy");
	CHECK(set.b[1]->removed && !backend_available(set.b[1]), "the dropped one: removed");
	backend_set_compact(&set, NULL, NULL);
	CHECK_EQ(set.n, 3, "still there while a connection lives");
	backend_detach(set.b[1]);
	backend_set_compact(&set, NULL, NULL);
	CHECK(set.n == 2 && strcmp(set.b[1]->spec.name, "h:3") == 0, "then freed");
	backend_set_free(&set);

	/* One server for both roles is two backends, told apart by their role. */
	text = "h:1 publish\nh:1 play\n";
	backend_set_init(&set);
	CHECK_EQ(backend_parse_text(text, strlen(text), specs, 3, &n, err, sizeof(err)), 0,
	    "one address, both roles");
	CHECK_EQ(backend_set_merge(&set, specs, n, &added), 0, "merged");
	CHECK(set.n == 2 && added == 2 && set.b[0]->spec.role == BACKEND_ROLE_PUBLISH &&
	    set.b[1]->spec.role == BACKEND_ROLE_PLAY, "two backends, one per role");
	CHECK(strcmp(set.b[0]->spec.label, "h:1 publish") == 0 &&
	    strcmp(set.b[1]->spec.label, "h:1 play") == 0 &&
	    strcmp(set.b[1]->spec.name, "h:1") == 0, "labelled by role, named by address");
	CHECK_EQ(backend_role_skip(&set, BACKEND_ROLE_PUBLISH), 2, "publishers: the first");
	CHECK_EQ(backend_role_skip(&set, BACKEND_ROLE_PLAY), 1, "players: the second");
	a = set.b[0];
	CHECK_EQ(backend_set_merge(&set, specs, n, &added), 0, "the same file again");
	CHECK(added == 0 && set.n == 2 && set.b[0] == a && !a->removed && !set.b[1]->removed,
	    "both kept as they were");
	backend_set_free(&set);
	CHECK_EQ(backend_algo_parse("leastconn", &(enum backend_algo){ 0 }), 0, "algo names");
	CHECK_EQ(backend_algo_parse("random", &(enum backend_algo){ 0 }), RTMP_EINVAL,
	    "unknown algo");
}

static void
gone(struct backend *b, void *arg)
{
	(void)b;
	(*(int *)arg)++;
}

static void
test_load(void)
{
	struct backend_set	 set;
	char			 path[] = "/tmp/test_backend.XXXXXX", err[256];
	char			*ops[] = { "127.0.0.1:9" };
	size_t			 n, added;
	int			 fd, freed = 0;
	FILE			*f;

	backend_set_init(&set);
	if ((fd = mkstemp(path)) == -1)
		return;
	f = fdopen(fd, "w");
	fputs("127.0.0.1:1\n127.0.0.1:2 weight 2\n", f);
	fclose(f);
	CHECK_EQ(backend_set_load(&set, path, ops, 1, &n, &added, gone, &freed, err,
	    sizeof(err)), 0, "loaded");
	CHECK(n == 3 && added == 3 && set.n == 3 && set.b[0]->resolved && set.b[2]->resolved,
	    "the file's then the operand's, resolved");
	backend_attach(set.b[0]);
	f = fopen(path, "w");
	fputs("127.0.0.1:3\n", f);
	fclose(f);
	CHECK_EQ(backend_set_load(&set, path, ops, 1, &n, &added, gone, &freed, err,
	    sizeof(err)), 0, "reloaded");
	CHECK(n == 2 && added == 1 && set.n == 3 && freed == 1, "one new, the idle dropped one "
	    "freed (%zu %zu %zu %d)", n, added, set.n, freed);
	CHECK(set.b[0]->removed && set.b[0]->active == 1, "the busy dropped one kept, removed");
	f = fopen(path, "w");
	fputs("127.0.0.1:3 weight x\n", f);
	fclose(f);
	CHECK_EQ(backend_set_load(&set, path, ops, 1, &n, &added, gone, &freed, err,
	    sizeof(err)), RTMP_EINVAL, "a bad file");
	CHECK(n == 0 && set.n == 3 && strstr(err, "line 1: weight x") != NULL,
	    "changes nothing: %s", err);
	unlink(path);
	backend_set_free(&set);
}

/* Roles and a directory of sockets: the stream mode's backends. */
static void
test_stream_backends(void)
{
	struct backend_set	 set;
	struct backend_spec	 s;
	struct sockaddr_un	 sun;
	char			 err[256], dir[] = "/tmp/test_backend.XXXXXX", line[128];
	int			 fd, lfd;

	CHECK_EQ(backend_parse_line("127.0.0.1:1935 publish weight 2", &s, err, sizeof(err)),
	    1, "publish, a word alone");
	CHECK(s.role == BACKEND_ROLE_PUBLISH && s.weight == 2 && !s.directory, "its role");
	CHECK_EQ(backend_parse_line("127.0.0.1:1936 play", &s, err, sizeof(err)), 1, "play");
	CHECK_EQ(s.role, BACKEND_ROLE_PLAY, "play's role");
	CHECK_EQ(backend_parse_line("127.0.0.1:1936 play publish", &s, err, sizeof(err)),
	    RTMP_EINVAL, "both roles");
	CHECK(strstr(err, "one of publish or play") != NULL, "why: %s", err);
	CHECK_EQ(backend_parse_line("127.0.0.1:1 weight 2 maxconn 3 tls proxy v2 play # x",
	    &s, err, sizeof(err)), 1, "every word on one line");
	backend_set_init(&set);
	add(&set, "127.0.0.1:1 publish");
	add(&set, "127.0.0.1:2 play");
	add(&set, "127.0.0.1:3");
	CHECK_EQ(backend_role_skip(&set, BACKEND_ROLE_PUBLISH), 2, "publishers skip the player set");
	CHECK_EQ(backend_role_skip(&set, BACKEND_ROLE_PLAY), 1, "players skip the publisher set");
	backend_set_free(&set);

	CHECK(mkdtemp(dir) != NULL, "a directory");
	snprintf(line, sizeof(line), "unix:%s/ play", dir);
	CHECK_EQ(backend_parse_line(line, &s, err, sizeof(err)), 1, "unix:DIR/");
	CHECK(s.directory && s.addr.family_unix && s.role == BACKEND_ROLE_PLAY, "a directory");
	backend_set_init(&set);
	backend_set_add(&set, &s);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/cam.sock", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == 0 && listen(lfd, 4) == 0,
	    "cam.sock listens");
	CHECK_EQ(backend_connect(set.b[0], "live/cam", 8, &fd), 0, "live/cam: DIR/cam.sock");
	close(fd);
	errno = 0;
	CHECK(backend_connect(set.b[0], "live/other", 10, &fd) < 0 && errno == ENOENT,
	    "no such stream: ENOENT");
	errno = 0;
	CHECK(backend_connect(set.b[0], "live/..", 7, &fd) < 0 && errno == EINVAL,
	    "'..' refused");
	CHECK(backend_connect(set.b[0], "live/.cam", 9, &fd) < 0 && errno == EINVAL,
	    "a leading dot refused");
	CHECK(backend_connect(set.b[0], "live/a\001b", 8, &fd) < 0 && errno == EINVAL,
	    "a control character refused");
	CHECK(backend_connect(set.b[0], "live/c\0m", 8, &fd) < 0 && errno == EINVAL,
	    "a NUL refused");
	CHECK(backend_connect(set.b[0], "live/", 5, &fd) < 0 && errno == EINVAL,
	    "an empty name refused");
	CHECK(backend_connect(set.b[0], "live/a/b", 8, &fd) < 0 && errno == ENOENT,
	    "the name after the last '/'");
	close(lfd);
	unlink(sun.sun_path);
	rmdir(dir);
	backend_set_free(&set);
}

int
main(void)
{
	test_stream_backends();
	test_parse();
	test_roundrobin();
	test_leastconn();
	test_hash();
	test_merge();
	test_load();
	return unit_done();
}
