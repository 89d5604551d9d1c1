/*
 * pause: the sandbox process of a barepod pod.
 *
 * It exists to hold the pod's namespaces (net, ipc, uts, and pid when the pod
 * shares it) for as long as the pod lives, so that app containers can crash
 * and restart into the same namespaces. As PID 1 of a shared pid namespace it
 * must also reap every orphan that is re-parented to it, or zombies pile up.
 *
 * Semantics (SCENARIOS.md S3): SIGINT/SIGTERM -> print a message, exit 0;
 * SIGCHLD -> reap every exited child without blocking; "-v" prints the
 * version; a warning when not PID 1; otherwise sleep in pause() forever.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef BAREPOD_PAUSE_VERSION
#define BAREPOD_PAUSE_VERSION "dev"
#endif

static void on_shutdown(int sig)
{
	/* psignal is not async-signal-safe; write(2) is. */
	const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
	char msg[64];
	int n = snprintf(msg, sizeof msg, "pause: got %s, shutting down\n", name);
	if (n > 0)
		(void)!write(STDERR_FILENO, msg, (size_t)n);
	_exit(0);
}

static void on_child(int sig)
{
	int saved = errno;
	(void)sig;
	/* One SIGCHLD may stand for many exits: reap until none is left. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

static int install(int sig, void (*handler)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("barepod pause %s\n", BAREPOD_PAUSE_VERSION);
			return 0;
		}
	}
	if (getpid() != 1)
		fprintf(stderr, "pause: warning: not PID 1 (pid %d); orphans of this pod may not be reaped here\n",
			(int)getpid());

	if (install(SIGINT, on_shutdown, 0) < 0)
		return 1;
	if (install(SIGTERM, on_shutdown, 0) < 0)
		return 2;
	if (install(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART) < 0)
		return 3;

	for (;;)
		pause();
	/* not reached */
	fprintf(stderr, "pause: loop ended\n");
	return 42;
}
