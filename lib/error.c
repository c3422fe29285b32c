#include "error.h"

const char *
rtmp_strerror(int error)
{
	switch (error) {
	case RTMP_OK:		return "success";
	case RTMP_ENOMEM:	return "out of memory";
	case RTMP_EPROTO:	return "protocol violation";
	case RTMP_ELIMIT:	return "limit exceeded";
	case RTMP_EHANDSHAKE:	return "handshake failed";
	case RTMP_ESPACE:	return "output buffer too small";
	case RTMP_EINVAL:	return "invalid argument";
	case RTMP_ESTATE:	return "not valid in this state";
	case RTMP_ESYS:		return "system error";
	case RTMP_ETLS:		return "tls failure";
	case RTMP_ETIMEOUT:	return "timed out";
	case RTMP_ECLOSED:	return "connection closed by peer";
	case RTMP_EREFUSED:	return "refused by peer";
	case RTMP_ENOTFOUND:	return "stream not found";
	case RTMP_ERESOLVE:	return "host not found";
	}
	return "unknown error";
}
