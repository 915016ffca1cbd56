/* SPDX-License-Identifier: MIT */
/* The bench's own plugin: appends a byte to argv[1] (to count runs) and is CRITICAL
 * while the file argv[2] exists (to inject a fault). */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
        int fd = argc > 1 ? open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;

        if (fd >= 0 && write(fd, "x", 1) == 1)
                (void) close(fd);
        if (argc > 2 && access(argv[2], F_OK) == 0) {
                puts("CRITICAL - fault injected | up=0;;;0;1");
                return 2;
        }
        puts("OK - tiny | up=1;;;0;1");
        return 0;
}
