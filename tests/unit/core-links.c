/* SPDX-License-Identifier: MIT */
/*
 * Linked with the whole core library (--whole-archive) and none of libsystemd or
 * libcurl: if any core object needed them, this program would not link, and the build
 * would fail. That is the test; running it only reports it.
 */
#include <stdio.h>

int main(void) {
        printf("1..1\nok 1 - the whole core library links without libsystemd and libcurl\n");
        return 0;
}
