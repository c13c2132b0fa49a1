/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Simulator test helpers (see simtest.h).  Trusts the test environment:
 * $IOVM_SIM names the iovm-sim binary under test.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "simtest.h"

static char sim_dir[64];

/*
 * popen() would let daemons started by the command inherit every open fd
 * of the test process, including Check's message file, whose offset they
 * would then share with the runner.  Run the command with only the pipe.
 */
static int run_capture(char *out, size_t len, const char *cmd)
{
    char buf[256];
    size_t n = 0;
    int p[2], status;
    pid_t pid;
    ssize_t r;

    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (!pid) {
        dup2(p[1], STDOUT_FILENO);
        closefrom(3);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    for (;;) {
        if (out && len && n < len - 1)
            r = read(p[0], out + n, len - 1 - n);
        else
            r = read(p[0], buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (out && len && n < len - 1)
            n += (size_t)r;
    }
    close(p[0]);
    if (out && len) {
        out[n] = '\0';
        while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
            out[--n] = '\0';
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (!WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

int simtest_sh(char *out, size_t len, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return run_capture(out, len, cmd);
}

static const char *sim_bin(void)
{
    const char *s = getenv("IOVM_SIM");

    return s && *s ? s : "iovm-sim";
}

int simtest_sim(char *out, size_t len, const char *fmt, ...)
{
    char args[1536], cmd[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "%s --dir %s %s", sim_bin(), sim_dir, args);
    return run_capture(out, len, cmd);
}

const char *simtest_start(void)
{
    if (sim_dir[0])
        return sim_dir;
    strcpy(sim_dir, "/tmp/iovm-test.XXXXXX");
    if (!mkdtemp(sim_dir)) {
        perror("mkdtemp");
        exit(1);
    }
    if (simtest_sim(NULL, 0, "start") != 0) {
        fprintf(stderr, "cannot start the simulator in %s\n", sim_dir);
        exit(1);
    }
    setenv("IOVM_SIM_DIR", sim_dir, 1);
    return sim_dir;
}

void simtest_stop(void)
{
    if (!sim_dir[0])
        return;
    simtest_sim(NULL, 0, "stop");
    simtest_sh(NULL, 0, "rm -rf %s", sim_dir);
    sim_dir[0] = '\0';
}

uint32_t simtest_domain(const char *tag)
{
    static unsigned int seq;
    char out[64];
    unsigned long id;
    char *end;

    ck_assert_int_eq(simtest_sim(out, sizeof(out), "domain create t%d-%u-%s",
                                 (int)getpid(), seq++, tag),
                     0);
    id = strtoul(out, &end, 10);
    ck_assert_msg(*out && !*end, "bad domid '%s'", out);
    return (uint32_t)id;
}

void simtest_enter(uint32_t domid)
{
    char path[128];

    snprintf(path, sizeof(path), "%s/dom%u/xenstore.sock", sim_dir, domid);
    setenv("XENSTORED_PATH", path, 1);
    snprintf(path, sizeof(path), "%s/dom%u/hv.sock", sim_dir, domid);
    setenv("IOVM_SIM_HV", path, 1);
}

void simtest_cloexec_all(void)
{
    int fd;

    for (fd = 3; fd < 1024; fd++) {
        int fl = fcntl(fd, F_GETFD);

        if (fl >= 0)
            fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
    }
}

int simtest_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

long simtest_field(const char *reply, const char *key)
{
    size_t kl = strlen(key);
    const char *p = reply;

    while ((p = strstr(p, key))) {
        if ((p == reply || p[-1] == ' ') && p[kl] == '=')
            return strtol(p + kl + 1, NULL, 10);
        p += kl;
    }
    return -1;
}
