/* queue_check.h - a helper the queue tests share: consume until quiet. */
#ifndef ANON_QUEUE_CHECK_H
#define ANON_QUEUE_CHECK_H

#include "service/queue.h"

/* Consumes and acks until no message comes for timeout_ms, setting
 * seen[id] for every valid job with 1 <= id <= max_id (duplicates are
 * fine: delivery is at least once). Returns the number of messages, or -1
 * with err filled when consuming or acking failed. */
static inline int consume_all(anon_queue *q, char *seen, int max_id, long timeout_ms,
                              anon_error *err)
{
    anon_delivery d;
    int got = 0, rc;
    while ((rc = anon_queue_next(q, &d, timeout_ms, err)) == 1) {
        if (d.valid && d.job.id >= 1 && d.job.id <= max_id)
            seen[d.job.id] = 1;
        rc = anon_queue_ack(q, &d, err);
        anon_delivery_free(&d);
        if (rc < 0)
            return -1;
        got++;
    }
    return rc < 0 ? -1 : got;
}

#endif
