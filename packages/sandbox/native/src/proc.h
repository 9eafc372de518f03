/* Spawned processes: the process table, output capture, stdin feeding, attachments, exit
 * delivery, timeouts and reaping. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct conn;

extern size_t g_keep_output;

void proc_spawn(struct conn *c, struct rd *r);
void proc_stdin(struct conn *c, struct rd *r);
void proc_stdin_close(struct conn *c, struct rd *r);
void proc_signal(struct conn *c, struct rd *r);
void proc_attach(struct conn *c, struct rd *r);
void proc_detach(struct conn *c, struct rd *r);
void proc_list(struct conn *c, struct rd *r);
void proc_forget(struct conn *c, struct rd *r);
void proc_resize(struct conn *c, struct rd *r);

/* Reaps every exited child (waitpid(-1) until none is left); only tracked ones produce EXIT. */
void procs_reap(void);
/* Drops every reference a closing connection held (attachments, pending SPAWNED). */
void procs_conn_gone(struct conn *c);
/* Sends sig to the process group of every spawned process; returns how many are still live. */
int procs_signal_all(int sig);
int procs_live(void);
/* When set, SPAWN is refused and exits are reported to this hook (shutdown progress). */
extern int g_shutting_down;
void shutdown_on_exit(void);
