/* version.h: the release this tree builds. */
#ifndef RTMPKIT_VERSION_H
#define RTMPKIT_VERSION_H
#define RTMPKIT_VERSION "0.1.0"
#endif
