/*
 * notify.h — telling the service manager how the node is doing, the
 * sd_notify(3) protocol spoken directly on $NOTIFY_SOCKET (no libsystemd).
 *
 * Under systemd with Type=notify, the unit is "started" only once the node
 * sends READY=1, and "stopping" once it sends STOPPING=1.  Outside systemd
 * NOTIFY_SOCKET is unset and every call does nothing, so the node runs the
 * same under any other supervisor or from a shell.
 *
 * No allocation: each message opens a datagram socket, sends, and closes
 * it.  The only state is the last STATUS= text and the watchdog timer.
 */
#ifndef VCOMP_NOTIFY_H
#define VCOMP_NOTIFY_H

#include <stdint.h>

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
/* notify_status(text) when text differs from the last text sent. */
void notify_status_changed(const char *text);
/* When $WATCHDOG_USEC is set (and $WATCHDOG_PID, if set, is this
 * process), sends WATCHDOG=1 now and then every half of that time from
 * the event loop (loop_init() must have run).  Returns the interval in
 * ms, 0 when there is no watchdog. */
uint64_t notify_watchdog_start(void);
void notify_watchdog_stop(void);

#endif
