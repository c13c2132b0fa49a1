/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Levelled logging for every iovm daemon and tool.  Messages go to stderr
 * (or syslog when asked); libraries never write to stdout.
 */
#ifndef IOVM_LOG_H
#define IOVM_LOG_H

enum iovm_log_level {
    IOVM_LOG_ERR = 0,
    IOVM_LOG_WARN,
    IOVM_LOG_INFO,
    IOVM_LOG_DEBUG,
};

void iovm_log_init(const char *ident, enum iovm_log_level level);
/* The program's name in its log lines. */
const char *iovm_log_ident(void);
void iovm_log_set_level(enum iovm_log_level level);
enum iovm_log_level iovm_log_get_level(void);
/* Parses "error", "warn", "info" or "debug"; returns 0 or -EINVAL. */
int iovm_log_level_parse(const char *s, enum iovm_log_level *level);
void iovm_log(enum iovm_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define LOG_ERR(...)   iovm_log(IOVM_LOG_ERR, __VA_ARGS__)
#define LOG_WARN(...)  iovm_log(IOVM_LOG_WARN, __VA_ARGS__)
#define LOG_INFO(...)  iovm_log(IOVM_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...)                                                   \
    do {                                                                 \
        if (iovm_log_get_level() >= IOVM_LOG_DEBUG)                      \
            iovm_log(IOVM_LOG_DEBUG, __VA_ARGS__);                       \
    } while (0)

#endif
