/* peer-cred.node: SO_PEERCRED for the engine (Node has no API for it). The engine connects to a
 * socket file in a directory the sandbox can write to; it asks the kernel who listens on the
 * other end and talks only to the sandbox's own rt-init (its init pid), never to a socket that a
 * process in the sandbox put there or pointed a link at. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <node_api.h>

static napi_value peer_cred(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	int32_t fd;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
	    napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
		napi_throw_type_error(env, NULL, "peerCred(fd): fd must be a number");
		return NULL;
	}
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		napi_throw_error(env, "ERR_PEERCRED", strerror(errno));
		return NULL;
	}
	napi_value result, v;
	napi_create_object(env, &result);
	napi_create_int32(env, cred.pid, &v);
	napi_set_named_property(env, result, "pid", v);
	napi_create_uint32(env, cred.uid, &v);
	napi_set_named_property(env, result, "uid", v);
	napi_create_uint32(env, cred.gid, &v);
	napi_set_named_property(env, result, "gid", v);
	return result;
}

NAPI_MODULE_INIT()
{
	napi_value fn;
	napi_create_function(env, "peerCred", NAPI_AUTO_LENGTH, peer_cred, NULL, &fn);
	napi_set_named_property(env, exports, "peerCred", fn);
	return exports;
}
