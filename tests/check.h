/* check.h - the project's minimal unit-test harness.
 *
 * Each tests/test_*.c is one program: TEST() functions listed in a
 * RUN_TESTS() main. Every test prints `ok NAME` or `not ok NAME: why`; the
 * suite runner (scripts/run-tests) counts those lines over all programs and
 * prints the closing `N passed, N failed`. A CHECK that fails ends its test
 * (not the program), so one broken case does not hide the others. */
#ifndef ANON_CHECK_H
#define ANON_CHECK_H

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct check_state {
    jmp_buf bail;
    char why[512];
};

#define TEST(name) static void name(struct check_state *check_ctx_)

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            snprintf(check_ctx_->why, sizeof check_ctx_->why, "%s:%d: %s",  \
                     __FILE__, __LINE__, #cond);                             \
            longjmp(check_ctx_->bail, 1);                                    \
        }                                                                    \
    } while (0)

#define CHECKF(cond, ...)                                                    \
    do {                                                                     \
        if (!(cond)) {                                                       \
            int check_n_ = snprintf(check_ctx_->why, sizeof check_ctx_->why, \
                                    "%s:%d: ", __FILE__, __LINE__);          \
            snprintf(check_ctx_->why + check_n_,                             \
                     sizeof check_ctx_->why - (size_t)check_n_, __VA_ARGS__); \
            longjmp(check_ctx_->bail, 1);                                    \
        }                                                                    \
    } while (0)

typedef void (*check_fn)(struct check_state *);
struct check_case {
    const char *name;
    check_fn fn;
};

/* Runs one case; kept separate so that setjmp clobbers nothing of the loop. */
static inline int check_one(const char *suite, const struct check_case *c)
{
    struct check_state st;
    st.why[0] = '\0';
    volatile int passed = 0;
    if (setjmp(st.bail) == 0) {
        c->fn(&st);
        passed = 1;
    }
    if (passed)
        printf("ok %s.%s\n", suite, c->name);
    else
        printf("not ok %s.%s: %s\n", suite, c->name, st.why);
    fflush(stdout);
    return passed;
}

static inline int check_run(const char *suite, const struct check_case *cases,
                            size_t n)
{
    int failed = 0;
    const char *only = getenv("CHECK_ONLY");
    for (size_t i = 0; i < n; i++)
        if (!(only && strcmp(only, cases[i].name) != 0))
            failed += !check_one(suite, &cases[i]);
    return failed ? 1 : 0;
}

#define CASE(fn) {#fn, fn}
#define RUN_TESTS(suite, ...)                                                \
    int main(void)                                                           \
    {                                                                        \
        static const struct check_case cases[] = {__VA_ARGS__};              \
        return check_run(suite, cases, sizeof cases / sizeof cases[0]);      \
    }

#endif
