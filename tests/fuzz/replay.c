/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Replays a fuzz corpus through a libFuzzer entry point without libFuzzer,
 * so every corpus input runs under `make check` (and the sanitizers).
 * Usage: fuzz-X FILE|DIR...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long len;

    if (!f) {
        perror(path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    buf = malloc(len ? len : 1);
    if (!buf || fread(buf, 1, len, f) != (size_t)len) {
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned int n = 0;
    int i;

    for (i = 1; i < argc; i++) {
        struct stat st;

        if (stat(argv[i], &st)) {
            perror(argv[i]);
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            struct dirent **ents;
            int k, m = scandir(argv[i], &ents, NULL, alphasort);

            for (k = 0; k < m; k++) {
                char p[4096];

                if (ents[k]->d_name[0] != '.') {
                    snprintf(p, sizeof(p), "%s/%s", argv[i], ents[k]->d_name);
                    if (run_file(p))
                        return 1;
                    n++;
                }
                free(ents[k]);
            }
            free(ents);
        } else {
            if (run_file(argv[i]))
                return 1;
            n++;
        }
    }
    if (!n) {
        fprintf(stderr, "replay: no inputs\n");
        return 1;
    }
    printf("replayed %u inputs\n", n);
    return 0;
}
