/*
 * barepod-prober: the probes of one pod, as the kubelet runs them, in a few
 * hundred kB (one static C process per probed pod instead of a Node one).
 *
 * usage: barepod-prober POD_DIR
 *
 * Node (src/pod/prober.ts) writes POD_DIR/probes.conf atomically whenever a
 * container instance of the pod starts or goes; this program re-reads it when
 * it changes. Lines, fields separated by one tab, each field escaped
 * (\\ \t \n \r \0):
 *
 *   barepod-prober 1
 *   pod NAME
 *   pause PID STARTTIME NETNS          NETNS 1: enter /proc/PID/ns/net
 *   prober PID STARTTIME               the pod's recorded prober (absent until one is)
 *   runc BIN ROOT                      exec probes: BIN --root ROOT exec ID CMD...
 *   unhealthy ARGV...                  + CONTAINER LAUNCHID WHY on a liveness/startup failure
 *   container NAME LAUNCHID STARTEDMS RUNCID PID STARTTIME
 *   probe KIND INITIAL PERIOD TIMEOUT SUCCESS FAILURE exec ARG...
 *   probe KIND INITIAL PERIOD TIMEOUT SUCCESS FAILURE tcp HOST PORT
 *   probe KIND INITIAL PERIOD TIMEOUT SUCCESS FAILURE http HOST PORT PATH [NAME VALUE]...
 *   end
 *
 * (probe lines belong to the container line before them; KIND is startup,
 * liveness or readiness). A prober that sees another, newer prober recorded
 * ends: it was replaced (its starter was killed before it could record it). It writes POD_DIR/probes.json atomically, in the
 * format readProbeStatus reads. It exits when the config is removed, the pod
 * directory is gone or the pause is dead. It reads nothing a container
 * controls: its own config, /proc/PID/stat of recorded processes, and the
 * network (from inside the pod's network namespace).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CONFIG "probes.conf"
#define STATUS "probes.json"
#define MSG 1024

enum { STARTUP, LIVENESS, READINESS, KINDS };
static const char *const KIND_NAMES[KINDS] = { "startup", "liveness", "readiness" };
enum { H_EXEC, H_TCP, H_HTTP };

struct probe {
	int defined;
	long initial, period, timeout, success, failure;
	int handler;
	char **args; /* exec: the command; tcp: host port; http: host port path [name value]... */
	int nargs;
	int bad; /* an argument held a NUL byte */
	/* counters of the current launch */
	long successes, failures;
	long long last_run;
	int busy;
};

struct container {
	char *name, *launch, *runcid, *starttime;
	long long started_ms;
	long pid;
	struct probe probes[KINDS];
	/* what the prober concluded about this launch */
	int tracked, started, ready, killed;
	char message[MSG];
};

struct config {
	char *pod, *pause_start, *runc_bin, *runc_root;
	long pause_pid;
	long prober_pid;
	unsigned long long prober_start;
	int netns;
	char **unhealthy;
	int nunhealthy;
	struct container *cs;
	int ncs;
};

/* one probe in flight */
struct op {
	int used;
	char *name, *launch; /* the container launch it is for */
	int kind, handler, timeout_s;
	long long deadline; /* monotonic ms */
	pid_t pid; /* exec */
	int fd, phase; /* tcp/http: 0 connecting, 1 sending, 2 reading */
	char *req;
	size_t req_len, sent;
	char resp[512];
	size_t resp_len;
	char what[MSG]; /* tcp: HOST:PORT; http: the path; exec: the command */
};

static int dirfd_ = -1;
static struct config cfg;
static struct stat cfg_stat;
static struct op *ops;
static int nops;
static char written[1 << 16];
static int written_len = -1;

static long long now_ms(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p) {
		fputs("barepod-prober: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s);
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	return p;
}

/* Copies at most MSG-1 bytes, never cutting a UTF-8 sequence. */
static void set_msg(char *dst, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(dst, MSG, fmt, ap);
	va_end(ap);
	if (n >= MSG) {
		size_t end = MSG - 1;
		while (end > 0 && ((unsigned char)dst[end] & 0xC0) == 0x80)
			end--;
		dst[end] = '\0';
	}
}

/* ---- /proc ---- */

/* Whether the very process recorded (pid + start time, /proc/PID/stat field 22) is alive and not a zombie. */
static int alive(long pid, const char *starttime)
{
	if (pid <= 0)
		return 0;
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* the command name (field 2) is the process's to choose: skip past its last ')' */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	p += 2;
	char state = *p;
	if (state == 'Z' || state == 'X')
		return 0;
	/* p is field 3; field 22 is 19 fields further */
	for (int i = 0; i < 19; i++) {
		p = strchr(p, ' ');
		if (!p)
			return 0;
		p++;
	}
	size_t len = strcspn(p, " ");
	return len == strlen(starttime) && strncmp(p, starttime, len) == 0;
}

/* ---- the config ---- */

/* Undoes the field escapes in place; sets *nul when the field held a NUL byte. */
static void unescape(char *s, int *nul)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r != '\\' || !r[1]) {
			*w++ = *r;
			continue;
		}
		r++;
		switch (*r) {
		case 't': *w++ = '\t'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case '0': *nul = 1; break;
		default: *w++ = *r;
		}
	}
	*w = '\0';
}

/* Splits a line into its fields (in place). */
static int split(char *line, char **f, int max, int *nul)
{
	int n = 0;
	for (char *p = line; n < max;) {
		f[n++] = p;
		char *tab = strchr(p, '\t');
		if (!tab)
			break;
		*tab = '\0';
		p = tab + 1;
	}
	for (int i = 0; i < n; i++)
		unescape(f[i], nul);
	return n;
}

static char **dup_fields(char **f, int n)
{
	char **out = xmalloc(sizeof(char *) * (size_t)(n + 1));
	for (int i = 0; i < n; i++)
		out[i] = xstrdup(f[i]);
	return out;
}

static void free_fields(char **f, int n)
{
	if (!f)
		return;
	for (int i = 0; i < n; i++)
		free(f[i]);
	free(f);
}

static void free_config(struct config *c)
{
	free(c->pod);
	free(c->pause_start);
	free(c->runc_bin);
	free(c->runc_root);
	free_fields(c->unhealthy, c->nunhealthy);
	for (int i = 0; i < c->ncs; i++) {
		struct container *k = &c->cs[i];
		free(k->name);
		free(k->launch);
		free(k->runcid);
		free(k->starttime);
		for (int j = 0; j < KINDS; j++)
			free_fields(k->probes[j].args, k->probes[j].nargs);
	}
	free(c->cs);
	memset(c, 0, sizeof *c);
}

#define MAXF 1024

/* Parses the config text; 0 when whole (it ends with "end"). */
static int parse_config(char *text, struct config *c)
{
	memset(c, 0, sizeof *c);
	int cap = 0, ended = 0;
	static char *f[MAXF];
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		int nul = 0;
		int n = split(line, f, MAXF, &nul);
		line = nl ? nl + 1 : NULL;
		if (n == 0)
			continue;
		if (!strcmp(f[0], "barepod-prober")) {
			if (n < 2 || strcmp(f[1], "1"))
				return -1;
		} else if (!strcmp(f[0], "pod") && n >= 2) {
			c->pod = xstrdup(f[1]);
		} else if (!strcmp(f[0], "pause") && n >= 4) {
			c->pause_pid = atol(f[1]);
			c->pause_start = xstrdup(f[2]);
			c->netns = atoi(f[3]);
		} else if (!strcmp(f[0], "prober") && n >= 3) {
			c->prober_pid = atol(f[1]);
			c->prober_start = strtoull(f[2], NULL, 10);
		} else if (!strcmp(f[0], "runc") && n >= 3) {
			c->runc_bin = xstrdup(f[1]);
			c->runc_root = xstrdup(f[2]);
		} else if (!strcmp(f[0], "unhealthy") && n >= 2) {
			c->unhealthy = dup_fields(f + 1, n - 1);
			c->nunhealthy = n - 1;
		} else if (!strcmp(f[0], "container") && n >= 7) {
			if (c->ncs == cap) {
				cap = cap ? cap * 2 : 4;
				struct container *cs = realloc(c->cs, sizeof *cs * (size_t)cap);
				if (!cs)
					return -1;
				c->cs = cs;
			}
			struct container *k = &c->cs[c->ncs++];
			memset(k, 0, sizeof *k);
			k->name = xstrdup(f[1]);
			k->launch = xstrdup(f[2]);
			k->started_ms = atoll(f[3]);
			k->runcid = xstrdup(f[4]);
			k->pid = atol(f[5]);
			k->starttime = xstrdup(f[6]);
		} else if (!strcmp(f[0], "probe") && n >= 9 && c->ncs > 0) {
			int kind = -1;
			for (int i = 0; i < KINDS; i++)
				if (!strcmp(f[1], KIND_NAMES[i]))
					kind = i;
			if (kind < 0)
				continue;
			struct probe *p = &c->cs[c->ncs - 1].probes[kind];
			free_fields(p->args, p->nargs);
			memset(p, 0, sizeof *p);
			p->initial = atol(f[2]);
			p->period = atol(f[3]);
			p->timeout = atol(f[4]);
			p->success = atol(f[5]);
			p->failure = atol(f[6]);
			if (!strcmp(f[7], "exec"))
				p->handler = H_EXEC;
			else if (!strcmp(f[7], "tcp") && n >= 10)
				p->handler = H_TCP;
			else if (!strcmp(f[7], "http") && n >= 11)
				p->handler = H_HTTP;
			else
				continue;
			p->args = dup_fields(f + 8, n - 8);
			p->nargs = n - 8;
			p->bad = nul;
			p->defined = 1;
		} else if (!strcmp(f[0], "end")) {
			ended = 1;
			break;
		}
	}
	return ended && c->pod && c->pause_start && c->runc_bin && c->unhealthy ? 0 : -1;
}

/* Reads the config when it changed; 1 when it is gone (the pod's prober is to end). */
static int reload(void)
{
	struct stat st;
	int fd = openat(dirfd_, CONFIG, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 1 : 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	if (cfg.pod && st.st_ino == cfg_stat.st_ino && st.st_size == cfg_stat.st_size && st.st_mtim.tv_sec == cfg_stat.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == cfg_stat.st_mtim.tv_nsec) {
		close(fd);
		return 0;
	}
	char *text = xmalloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	text[got] = '\0';
	struct config next;
	int bad = parse_config(text, &next);
	free(text);
	if (bad) {
		free_config(&next);
		return cfg.pod ? 0 : 1; /* a config it cannot read at the start: nothing to probe */
	}
	/* the same launch keeps what was concluded and its counters; a new launch starts afresh */
	for (int i = 0; i < next.ncs; i++) {
		struct container *k = &next.cs[i];
		for (int j = 0; j < cfg.ncs; j++) {
			struct container *o = &cfg.cs[j];
			if (strcmp(o->name, k->name) || strcmp(o->launch, k->launch))
				continue;
			k->tracked = o->tracked;
			k->started = o->started;
			k->ready = o->ready;
			k->killed = o->killed;
			memcpy(k->message, o->message, MSG);
			for (int m = 0; m < KINDS; m++) {
				k->probes[m].successes = o->probes[m].successes;
				k->probes[m].failures = o->probes[m].failures;
				k->probes[m].last_run = o->probes[m].last_run;
				k->probes[m].busy = o->probes[m].busy;
			}
		}
	}
	free_config(&cfg);
	cfg = next;
	cfg_stat = st;
	return 0;
}

/* ---- probes.json ---- */

static void json_str(char *out, size_t cap, size_t *len, const char *s)
{
	if (*len + 2 >= cap)
		return;
	out[(*len)++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p && *len + 8 < cap; p++) {
		if (*p == '"' || *p == '\\') {
			out[(*len)++] = '\\';
			out[(*len)++] = (char)*p;
		} else if (*p < 0x20 || *p == 0x7f) {
			*len += (size_t)snprintf(out + *len, cap - *len, "\\u%04x", *p);
		} else {
			out[(*len)++] = (char)*p;
		}
	}
	out[(*len)++] = '"';
}

static void write_status(void)
{
	static char buf[sizeof written];
	size_t len = 0;
	int first = 1;
	buf[len++] = '{';
	for (int i = 0; i < cfg.ncs; i++) {
		struct container *k = &cfg.cs[i];
		if (!k->tracked || len + 4 * MSG > sizeof buf)
			continue;
		if (!first)
			buf[len++] = ',';
		first = 0;
		json_str(buf, sizeof buf, &len, k->name);
		len += (size_t)snprintf(buf + len, sizeof buf - len, ":{\"launchId\":");
		json_str(buf, sizeof buf, &len, k->launch);
		len += (size_t)snprintf(buf + len, sizeof buf - len, ",\"started\":%s,\"ready\":%s,\"message\":", k->started ? "true" : "false",
					k->ready ? "true" : "false");
		json_str(buf, sizeof buf, &len, k->message);
		buf[len++] = '}';
	}
	buf[len++] = '}';
	if ((int)len == written_len && !memcmp(buf, written, len))
		return;
	char tmp[64];
	snprintf(tmp, sizeof tmp, "." STATUS ".%ld.tmp", (long)getpid());
	int fd = openat(dirfd_, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	int ok = write(fd, buf, len) == (ssize_t)len && fsync(fd) == 0;
	close(fd);
	if (!ok || renameat(dirfd_, tmp, dirfd_, STATUS) < 0) {
		unlinkat(dirfd_, tmp, 0);
		return; /* tried again at the next round */
	}
	memcpy(written, buf, len);
	written_len = (int)len;
}

/* ---- running probes ---- */

static struct container *find(const char *name, const char *launch)
{
	for (int i = 0; i < cfg.ncs; i++)
		if (!strcmp(cfg.cs[i].name, name) && !strcmp(cfg.cs[i].launch, launch))
			return &cfg.cs[i];
	return NULL;
}

static void reset_child(void)
{
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
}

/* `barepod _unhealthy POD CONTAINER LAUNCHID WHY`: event, SIGTERM, SIGKILL after the grace period (a Node start only on failure). */
static void report_unhealthy(struct container *k, const char *why)
{
	pid_t pid = fork();
	if (pid != 0)
		return; /* reaped in the main loop; a failed fork: the next failure tries again */
	reset_child();
	setsid(); /* not in the prober's process group: a replaced prober's group kill must not cut its grace period short */
	char **argv = xmalloc(sizeof(char *) * (size_t)(cfg.nunhealthy + 4));
	for (int i = 0; i < cfg.nunhealthy; i++)
		argv[i] = cfg.unhealthy[i];
	argv[cfg.nunhealthy] = k->name;
	argv[cfg.nunhealthy + 1] = k->launch;
	argv[cfg.nunhealthy + 2] = (char *)why;
	argv[cfg.nunhealthy + 3] = NULL;
	execvp(argv[0], argv);
	_exit(127);
}

/* A probe's outcome, applied as runProber did: thresholds, the startup gate, readiness, the kill. */
static void finish(struct op *op, const char *failure)
{
	struct container *k = find(op->name, op->launch);
	struct probe *p = k ? &k->probes[op->kind] : NULL;
	if (p)
		p->busy = 0;
	if (op->fd >= 0)
		close(op->fd);
	free(op->name);
	free(op->launch);
	free(op->req);
	int kind = op->kind;
	memset(op, 0, sizeof *op);
	op->fd = -1;
	if (!p || k->killed)
		return;
	if (!failure) {
		p->successes++;
		p->failures = 0;
	} else {
		p->failures++;
		p->successes = 0;
	}
	if (kind == READINESS) {
		if (!failure && p->successes >= p->success)
			k->ready = 1;
		if (failure && p->failures >= p->failure)
			k->ready = 0;
		if (failure)
			set_msg(k->message, "readiness probe: %s", failure);
		else
			k->message[0] = '\0';
	} else if (kind == STARTUP && !failure) {
		k->started = 1;
		set_msg(k->message, "started");
	} else if (failure) {
		set_msg(k->message, "%s probe: %s", KIND_NAMES[kind], failure);
		if (p->failures >= p->failure) {
			k->killed = 1;
			char why[MSG];
			set_msg(why, "%s probe failed %ld times: %s", KIND_NAMES[kind], p->failures, failure);
			report_unhealthy(k, why);
		}
	}
}

static struct op *new_op(struct container *k, int kind)
{
	int i;
	for (i = 0; i < nops && ops[i].used; i++)
		;
	if (i == nops) {
		struct op *more = realloc(ops, sizeof *ops * (size_t)(nops + 4));
		if (!more)
			return NULL;
		ops = more;
		for (int j = nops; j < nops + 4; j++) {
			memset(&ops[j], 0, sizeof ops[j]);
			ops[j].fd = -1;
		}
		nops += 4;
	}
	struct op *op = &ops[i];
	op->used = 1;
	op->name = xstrdup(k->name);
	op->launch = xstrdup(k->launch);
	op->kind = kind;
	op->fd = -1;
	op->handler = k->probes[kind].handler;
	op->timeout_s = (int)k->probes[kind].timeout;
	op->deadline = now_ms(CLOCK_MONOTONIC) + k->probes[kind].timeout * 1000;
	return op;
}

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "error";
}

/* HOST of a probe as an address ("localhost" is 127.0.0.1); names are not resolved (no resolver in a static program). */
static int address(const char *host, int port, struct sockaddr_storage *sa, socklen_t *len)
{
	memset(sa, 0, sizeof *sa);
	const char *h = !strcmp(host, "localhost") ? "127.0.0.1" : host;
	struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
	char bare[64];
	size_t hl = strlen(h);
	if (hl >= 2 && hl < sizeof bare + 2 && h[0] == '[' && h[hl - 1] == ']') {
		memcpy(bare, h + 1, hl - 2);
		bare[hl - 2] = '\0';
		h = bare;
	}
	if (inet_pton(AF_INET, h, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*len = sizeof *v4;
		return 0;
	}
	if (inet_pton(AF_INET6, h, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*len = sizeof *v6;
		return 0;
	}
	return -1;
}

/* Header names and values, and the path, go on the wire as they are: no control characters (no header injection). */
static int clean(const char *s, int spaces)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f || (!spaces && *p == ' '))
			return 0;
	return 1;
}

static void start_probe(struct container *k, int kind)
{
	struct probe *p = &k->probes[kind];
	struct op *op = new_op(k, kind);
	if (!op)
		return;
	p->busy = 1;
	p->last_run = now_ms(CLOCK_REALTIME);
	if (p->handler == H_EXEC) {
		size_t len = 0;
		for (int i = 0; i < p->nargs && len < MSG; i++)
			len += (size_t)snprintf(op->what + len, MSG - len, "%s%s", i ? " " : "", p->args[i]);
		if (p->bad) {
			finish(op, "an argument of the command holds a NUL byte");
			return;
		}
		pid_t pid = fork();
		if (pid < 0) {
			char why[MSG];
			set_msg(why, "could not start runc exec: %s", errname(errno));
			finish(op, why);
			return;
		}
		if (pid == 0) {
			/* exactly the runc exec the Node prober ran: runc --root ROOT exec ID CMD... (stdio to /dev/null) */
			reset_child();
			char **argv = xmalloc(sizeof(char *) * (size_t)(p->nargs + 6));
			argv[0] = cfg.runc_bin;
			argv[1] = "--root";
			argv[2] = cfg.runc_root;
			argv[3] = "exec";
			argv[4] = k->runcid;
			for (int i = 0; i < p->nargs; i++)
				argv[5 + i] = p->args[i];
			argv[5 + p->nargs] = NULL;
			execvp(argv[0], argv);
			_exit(127);
		}
		op->pid = pid;
		return;
	}
	const char *host = p->args[0][0] ? p->args[0] : "127.0.0.1";
	int port = atoi(p->args[1]);
	if (p->handler == H_TCP)
		set_msg(op->what, "%s:%d", host, port);
	else
		set_msg(op->what, "%s", p->args[2]);
	char why[MSG];
	struct sockaddr_storage sa;
	socklen_t salen;
	if (address(host, port, &sa, &salen) < 0) {
		if (p->handler == H_TCP)
			set_msg(why, "tcp %s: %s is not an IP address (host names are not resolved)", op->what, host);
		else
			set_msg(why, "GET %s: %s is not an IP address (host names are not resolved)", op->what, host);
		finish(op, why);
		return;
	}
	if (p->handler == H_HTTP) {
		/* the request Node's http.get sent: User-Agent barepod-probe unless a header replaces it, Host host:port */
		int ua = 0, hh = 0;
		size_t cap = 256 + strlen(p->args[2]) + strlen(host);
		for (int i = 3; i + 1 < p->nargs; i += 2) {
			cap += strlen(p->args[i]) + strlen(p->args[i + 1]) + 4;
			if (!strcasecmp(p->args[i], "User-Agent"))
				ua = 1;
			if (!strcasecmp(p->args[i], "Host"))
				hh = 1;
			if (!clean(p->args[i], 0) || !clean(p->args[i + 1], 1) || !p->args[i][0]) {
				set_msg(why, "GET %s: invalid header %s", op->what, p->args[i]);
				finish(op, why);
				return;
			}
		}
		if (!clean(p->args[2], 0)) {
			set_msg(why, "GET %s: the path holds spaces or control characters", op->what);
			finish(op, why);
			return;
		}
		op->req = xmalloc(cap);
		size_t n = (size_t)snprintf(op->req, cap, "GET %s HTTP/1.1\r\n", p->args[2]);
		if (!ua)
			n += (size_t)snprintf(op->req + n, cap - n, "User-Agent: barepod-probe\r\n");
		for (int i = 3; i + 1 < p->nargs; i += 2)
			n += (size_t)snprintf(op->req + n, cap - n, "%s: %s\r\n", p->args[i], p->args[i + 1]);
		if (!hh) {
			int v6 = strchr(host, ':') && host[0] != '[';
			if (port == 80)
				n += (size_t)snprintf(op->req + n, cap - n, "Host: %s%s%s\r\n", v6 ? "[" : "", host, v6 ? "]" : "");
			else
				n += (size_t)snprintf(op->req + n, cap - n, "Host: %s%s%s:%d\r\n", v6 ? "[" : "", host, v6 ? "]" : "", port);
		}
		n += (size_t)snprintf(op->req + n, cap - n, "Connection: close\r\n\r\n");
		op->req_len = n;
	}
	op->fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (op->fd < 0 || (connect(op->fd, (struct sockaddr *)&sa, salen) < 0 && errno != EINPROGRESS)) {
		int e = errno;
		if (p->handler == H_TCP)
			set_msg(why, "tcp %s: %s", op->what, errname(e));
		else
			set_msg(why, "GET %s: %s", op->what, errname(e));
		finish(op, why);
		return;
	}
	op->phase = 0;
}

/* Moves a tcp/http probe on after poll said its socket is ready. */
static void advance(struct op *op, short revents)
{
	char why[MSG];
	if (op->phase == 0) {
		int err = 0;
		socklen_t l = sizeof err;
		if (getsockopt(op->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
			err = errno;
		if (err == 0 && !(revents & POLLOUT))
			return;
		if (err) {
			if (op->handler == H_TCP)
				set_msg(why, "tcp %s: %s", op->what, errname(err));
			else
				set_msg(why, "GET %s: %s", op->what, errname(err));
			finish(op, why);
			return;
		}
		if (op->handler == H_TCP) {
			finish(op, NULL);
			return;
		}
		op->phase = 1;
	}
	if (op->phase == 1) {
		while (op->sent < op->req_len) {
			ssize_t n = send(op->fd, op->req + op->sent, op->req_len - op->sent, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			if (n < 0) {
				set_msg(why, "GET %s: %s", op->what, errname(errno));
				finish(op, why);
				return;
			}
			op->sent += (size_t)n;
		}
		op->phase = 2;
		return;
	}
	/* phase 2: the status line is all it needs */
	for (;;) {
		ssize_t n = recv(op->fd, op->resp + op->resp_len, sizeof op->resp - 1 - op->resp_len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			set_msg(why, "GET %s: %s", op->what, errname(errno));
			finish(op, why);
			return;
		}
		op->resp_len += (size_t)n;
		op->resp[op->resp_len] = '\0';
		char *eol = strchr(op->resp, '\n');
		if (n == 0 && !eol) {
			set_msg(why, "GET %s: ECONNRESET", op->what);
			finish(op, why);
			return;
		}
		if (!eol && op->resp_len < sizeof op->resp - 1)
			continue;
		int major, minor, code;
		char sp;
		if (sscanf(op->resp, "HTTP/%d.%d %3d%c", &major, &minor, &code, &sp) < 3 || code < 100 || code > 999) {
			set_msg(why, "GET %s: not an HTTP response", op->what);
			finish(op, why);
			return;
		}
		if (code >= 200 && code < 400) {
			finish(op, NULL);
		} else {
			set_msg(why, "HTTP %d from %s", code, op->what);
			finish(op, why);
		}
		return;
	}
}

/* Reaps exited children: an exec probe's runc exec, an _unhealthy call, a timed-out one. */
static void reap(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < nops; i++) {
			struct op *op = &ops[i];
			if (!op->used || op->handler != H_EXEC || op->pid != pid)
				continue;
			char why[MSG];
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
				finish(op, NULL);
			} else if (WIFEXITED(status)) {
				set_msg(why, "%s exited with %d", op->what, WEXITSTATUS(status));
				finish(op, why);
			} else {
				set_msg(why, "%s was killed by signal %d", op->what, WTERMSIG(status));
				finish(op, why);
			}
		}
	}
}

/* Probes past their timeout fail; an exec probe's runc exec gets SIGKILL (as the Node prober's deadline did). */
static void deadlines(void)
{
	long long now = now_ms(CLOCK_MONOTONIC);
	for (int i = 0; i < nops; i++) {
		struct op *op = &ops[i];
		if (!op->used || now < op->deadline)
			continue;
		char why[MSG];
		if (op->handler == H_EXEC) {
			kill(op->pid, SIGKILL); /* still our unreaped child: the pid is its */
			set_msg(why, "timed out after %ds", op->timeout_s);
		} else if (op->handler == H_TCP) {
			set_msg(why, "tcp %s: timed out", op->what);
		} else {
			set_msg(why, "GET %s: timed out after %ds", op->what, op->timeout_s);
		}
		finish(op, why);
	}
}

/* The round runProber made every 100 ms: which probes are due, for containers whose process runs. */
static void schedule(void)
{
	long long now = now_ms(CLOCK_REALTIME);
	for (int i = 0; i < cfg.ncs; i++) {
		struct container *k = &cfg.cs[i];
		if (!alive(k->pid, k->starttime))
			continue;
		if (!k->tracked) {
			k->tracked = 1;
			k->started = !k->probes[STARTUP].defined;
			k->ready = 0;
			set_msg(k->message, "not probed yet");
		}
		int from = k->started ? LIVENESS : STARTUP, to = k->started ? READINESS : STARTUP;
		for (int kind = from; kind <= to; kind++) {
			struct probe *p = &k->probes[kind];
			if (!p->defined || p->busy || k->killed || now < k->started_ms + p->initial * 1000 || now < p->last_run + p->period * 1000)
				continue;
			start_probe(k, kind);
			k = &cfg.cs[i]; /* finish() never reallocates cfg.cs, but stay safe */
		}
	}
}

/* Enters the pause's network namespace, making sure the namespace opened is the recorded process's. */
static int enter_netns(void)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/ns/net", cfg.pause_pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* checked after the open: the fd holds the namespace of the process that was alive then */
	if (!alive(cfg.pause_pid, cfg.pause_start) || setns(fd, CLONE_NEWNET) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* This process's start time (/proc/self/stat field 22). */
static unsigned long long own_start(void)
{
	char buf[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	for (int i = 0; p && i < 20; i++) {
		p = strchr(p + 1, ' ');
	}
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* Another prober, started after this one, is the pod's recorded one: this one was replaced. */
static int replaced(unsigned long long mine)
{
	return cfg.prober_pid > 0 && cfg.prober_pid != (long)getpid() && cfg.prober_start > mine;
}

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fputs("usage: barepod-prober POD_DIR (barepod starts it: it probes one pod)\n", stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	setsid(); /* its own process group (already so when barepod started it): its exec probes go with it */
	if (chdir("/") < 0) /* holds no directory of its starter's busy */
		return 1;
	unsigned long long mine = own_start();
	dirfd_ = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd_ < 0) {
		fprintf(stderr, "barepod-prober: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (reload() || !cfg.pod) {
		fprintf(stderr, "barepod-prober: no readable %s/" CONFIG "\n", argv[1]);
		return 1;
	}
	if (cfg.netns && enter_netns() < 0) {
		fprintf(stderr, "barepod-prober: cannot enter the network namespace of pause pid %ld\n", cfg.pause_pid);
		return 1;
	}
	long long next = 0;
	for (;;) {
		long long now = now_ms(CLOCK_MONOTONIC);
		if (now >= next) {
			struct stat st;
			/* the pod is gone: its directory removed, its config removed, its pause dead */
			if (fstat(dirfd_, &st) < 0 || st.st_nlink == 0 || reload() || !alive(cfg.pause_pid, cfg.pause_start) || replaced(mine))
				return 0;
			reap();
			deadlines();
			schedule();
			write_status();
			next = now + 100;
		}
		/* wait for the sockets in flight, at most until the next round */
		struct pollfd pfd[64];
		int idx[64], n = 0;
		for (int i = 0; i < nops && n < 64; i++) {
			if (!ops[i].used || ops[i].handler == H_EXEC || ops[i].fd < 0)
				continue;
			pfd[n].fd = ops[i].fd;
			pfd[n].events = ops[i].phase == 2 ? POLLIN : POLLOUT;
			pfd[n].revents = 0;
			idx[n++] = i;
		}
		long long wait = next - now_ms(CLOCK_MONOTONIC);
		int r = poll(pfd, (nfds_t)n, wait < 0 ? 0 : (int)wait);
		for (int i = 0; r > 0 && i < n; i++)
			if (pfd[i].revents)
				advance(&ops[idx[i]], pfd[i].revents);
		reap();
		write_status();
	}
}
