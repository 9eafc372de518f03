/* CONNECT: connecting to a TCP port inside the sandbox, then relaying raw bytes between it and
 * the client's unix connection, with backpressure and half-close propagation. */
#pragma once
#include "wire.h"

struct conn;

void relay_connect(struct conn *c, struct rd *r);
/* The connection closed while its CONNECT was still in progress. */
void relay_abort(struct conn *c);
