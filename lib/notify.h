/*
 * notify.h: readiness for a service manager, systemd's notify protocol
 * (sd_notify(3)) in a few lines of our own instead of libsystemd.
 *
 * notify_init() takes $NOTIFY_SOCKET out of the environment, so that the
 * commands a server starts (rtmp-listen -e) never speak for it, and keeps
 * the address: a path, or "@name" for Linux's abstract namespace.  Call
 * it once, early in main, before any command is started.
 *
 * notify_send() sends one datagram ("READY=1", "STOPPING=1",
 * "STATUS=...") to that address.  Without NOTIFY_SOCKET it does nothing
 * and returns 0; a service manager that is gone is not our failure, so
 * errors are only returned (RTMP_ESYS), never fatal.  The servers send READY=1 once their
 * listening sockets accept connections and STOPPING=1 when they stop
 * accepting (lib/server).
 */
#ifndef RTMPKIT_NOTIFY_H
#define RTMPKIT_NOTIFY_H

/*
 * 1 when a service manager listens, 0 without NOTIFY_SOCKET, RTMP_EINVAL
 * when it holds no usable address (then notify_send() does nothing).
 */
int	 notify_init(void);
int	 notify_send(const char *state);

#endif
