/* File operations, performed in rt-init's mount namespace (the sandbox's root). */
#pragma once
#include "wire.h"

struct conn;

void files_read(struct conn *c, struct rd *r);
void files_write_open(struct conn *c, struct rd *r);
void files_write_data(struct conn *c, struct rd *r);
void files_write_close(struct conn *c, struct rd *r);
void files_stat(struct conn *c, struct rd *r);
void files_listdir(struct conn *c, struct rd *r);
void files_mkdir(struct conn *c, struct rd *r);
void files_remove(struct conn *c, struct rd *r);
void files_rename(struct conn *c, struct rd *r);

/* Closes the connection's open writes; what was written stays. */
void files_conn_gone(struct conn *c);
