/* The program version, shown by `cairn version` and stored in snapshots. */
#ifndef CAIRN_LIB_VERSION_H
#define CAIRN_LIB_VERSION_H

#define CAIRN_VERSION "0.1.0"

#endif
