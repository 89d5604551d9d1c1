/*
 * barepod-attach: relays stdio to and from a container's conmon attach socket.
 *
 * conmon's attach socket (<bundle>/attach, made with --full-attach) is a unix
 * SOCK_SEQPACKET socket, which Node cannot open: this small program connects
 * to it and forwards bytes, nothing else (no terminal handling: conmon holds
 * the container's pty, barepod puts its own terminal in raw mode).
 *
 *   barepod-attach [-n] SOCKET
 *
 * Every packet conmon sends starts with one byte naming the stream: 2 stdout,
 * 3 stderr; the rest goes to our fd 1 or fd 2. Our stdin goes to the socket as
 * it comes (unless -n: no input); its end shuts the socket's write side, which
 * conmon takes as the end of the container's stdin (unless it was started
 * with --leave-stdin-open). Once connected, "ok\n" is written to fd 3 when it
 * is open (barepod waits for it before `runc start`) and fd 3 is closed.
 * Exit status: 0 when conmon closed the socket (the container ended), 3 when
 * there is no such socket or nobody listens on it, 1 on any other error.
 * It ends with barepod (SIGTERM when its parent dies).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF 8192

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int main(int argc, char **argv) {
  int input = 1;
  int argi = 1;
  if (argi < argc && strcmp(argv[argi], "-n") == 0) {
    input = 0;
    argi++;
  }
  if (argi + 1 != argc) {
    fprintf(stderr, "usage: barepod-attach [-n] SOCKET\n");
    return 1;
  }
  const char *path = argv[argi];
  signal(SIGPIPE, SIG_IGN);
  /* barepod gone (killed): no relay of ours lives on without it */
  pid_t parent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) == 0 && getppid() != parent) return 1;

  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  char target[4096];
  if (strlen(path) < sizeof addr.sun_path) {
    snprintf(target, sizeof target, "%s", path);
  } else {
    /* too long for sun_path: reach it through an fd of its directory */
    char dir[4096], base[4096];
    snprintf(dir, sizeof dir, "%s", path);
    snprintf(base, sizeof base, "%s", path);
    int dfd = open(dirname(dir), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
      fprintf(stderr, "barepod-attach: %s: %s\n", path, strerror(errno));
      return errno == ENOENT ? 3 : 1;
    }
    snprintf(target, sizeof target, "/proc/self/fd/%d/%s", dfd, basename(base));
  }
  if (strlen(target) >= sizeof addr.sun_path) {
    fprintf(stderr, "barepod-attach: %s: path too long\n", path);
    return 1;
  }
  memcpy(addr.sun_path, target, strlen(target) + 1);

  int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int e = errno;
    fprintf(stderr, "barepod-attach: %s: %s\n", path, strerror(e));
    return e == ENOENT || e == ECONNREFUSED ? 3 : 1;
  }
  if (fcntl(3, F_GETFD) >= 0) {
    if (write_all(3, "ok\n", 3) < 0) { /* nobody waits for it */
    }
    close(3);
  }

  char buf[BUF + 1];
  int stdin_open = input;
  for (;;) {
    struct pollfd fds[2] = {{.fd = sock, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
    int n = poll(fds, stdin_open ? 2 : 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("barepod-attach: poll");
      return 1;
    }
    if (fds[0].revents) {
      ssize_t r = recv(sock, buf, sizeof buf, 0);
      if (r < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        if (errno == ECONNRESET) return 0;
        perror("barepod-attach: recv");
        return 1;
      }
      if (r == 0) return 0; /* conmon closed it: the container has ended */
      int out = buf[0] == 3 ? 2 : 1;
      if (r > 1 && write_all(out, buf + 1, (size_t)r - 1) < 0) return 1;
    }
    if (stdin_open && fds[1].revents) {
      ssize_t r = read(0, buf, BUF);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) {
        shutdown(sock, SHUT_WR);
        stdin_open = 0;
        continue;
      }
      if (send(sock, buf, (size_t)r, 0) < 0 && errno != EINTR) {
        if (errno == EPIPE || errno == ECONNRESET) return 0;
        perror("barepod-attach: send");
        return 1;
      }
    }
  }
}
