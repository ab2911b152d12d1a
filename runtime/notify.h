/*
 * notify.h — telling the service manager how the node is doing, the
 * sd_notify(3) protocol spoken directly on $NOTIFY_SOCKET (no libsystemd).
 *
 * Under systemd with Type=notify, the unit is "started" only once the node
 * sends READY=1, and "stopping" once it sends STOPPING=1.  Outside systemd
 * NOTIFY_SOCKET is unset and every call does nothing, so the node runs the
 * same under any other supervisor or from a shell.
 *
 * No allocation, no state kept between calls: each message opens a
 * datagram socket, sends, and closes it.
 */
#ifndef VCOMP_NOTIFY_H
#define VCOMP_NOTIFY_H

/* Longest STATUS= text sent; longer text is cut. */
#define NOTIFY_STATUS_MAX	256

/*
 * Sends state (newline-separated VAR=value assignments, as sd_notify(3)
 * defines them) to $NOTIFY_SOCKET, which names either a socket file
 * ("/run/systemd/notify") or an abstract socket ("@name").  Returns 1 when
 * the message was sent, 0 when NOTIFY_SOCKET is unset or empty (nobody
 * listens: not an error), -1 when it could not be sent (logged as a
 * warning: the service manager will time the start out).
 */
int notify_send(const char *state);

/* READY=1: listeners are open and the upstreams are being started. */
void notify_ready(void);
/* STOPPING=1: the graceful shutdown has begun. */
void notify_stopping(void);
/* STATUS=text, shown by `systemctl status`.  Newlines in text become
 * spaces, so text can never add an assignment of its own. */
void notify_status(const char *text);

#endif
