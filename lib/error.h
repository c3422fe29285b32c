/*
 * error.h: the one status enum of rtmpkit.
 *
 * Every library function returns 0 (or a byte count, or a small positive
 * "what happened" code its header names) on success and a negative RTMP_E*
 * value on failure.  "Need more input" is never an error: parsers report it
 * as a non-negative result of their own.  rtmp_strerror() gives a short
 * lower-case phrase for logs; for RTMP_ESYS the cause is in errno.
 *
 * A peer's protocol violation (RTMP_EPROTO, RTMP_ELIMIT, RTMP_EHANDSHAKE)
 * ends that one connection; it is never a reason to exit the process.
 */
#ifndef RTMPKIT_ERROR_H
#define RTMPKIT_ERROR_H

enum rtmp_error {
	RTMP_OK = 0,
	RTMP_ENOMEM = -1,	/* allocation failed */
	RTMP_EPROTO = -2,	/* peer sent something malformed */
	RTMP_ELIMIT = -3,	/* peer exceeded a limit we set (size, count, depth) */
	RTMP_EHANDSHAKE = -4,	/* handshake version or digest wrong */
	RTMP_ESPACE = -5,	/* caller's output buffer too small */
	RTMP_EINVAL = -6,	/* caller passed a bad argument (URL, option) */
	RTMP_ESTATE = -7,	/* call not valid in the current state */
	RTMP_ESYS = -8,		/* a system call failed; see errno */
	RTMP_ETLS = -9,		/* TLS handshake or certificate failure */
	RTMP_ETIMEOUT = -10,	/* a deadline passed */
	RTMP_ECLOSED = -11,	/* peer closed the connection */
	RTMP_EREFUSED = -12,	/* peer answered _error or an error onStatus */
	RTMP_ENOTFOUND = -13,	/* NetStream.Play.StreamNotFound */
	RTMP_ERESOLVE = -14,	/* host name did not resolve */
};

const char	*rtmp_strerror(int error);

#endif
