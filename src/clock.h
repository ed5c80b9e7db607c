/* clock.h - a monotonic clock in milliseconds, for stage timings. */
#ifndef ANON_CLOCK_H
#define ANON_CLOCK_H

double anon_now_ms(void);

#endif
