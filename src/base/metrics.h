/* metrics.h - a small thread-safe Prometheus registry.
 *
 * Long-running programs (anon-intake, later the workers) count what they do
 * here and serve the text exposition format on /metrics. A series is a
 * metric name plus a label string written the Prometheus way
 * (`route="/healthz",code="200"`, or "" for none); series are created on
 * first use. Histograms use one fixed set of latency buckets in seconds. */
#ifndef ANON_METRICS_H
#define ANON_METRICS_H

#include "base/buffer.h"
#include "base/error.h"

typedef enum { ANON_METRIC_COUNTER, ANON_METRIC_GAUGE, ANON_METRIC_HISTOGRAM } anon_metric_type;

typedef struct anon_metrics anon_metrics;

anon_metrics *anon_metrics_new(anon_error *err);
void anon_metrics_free(anon_metrics *m);

/* Declares a metric's type and help text; series of undeclared names are
 * refused, so a typo cannot invent a new metric. */
int anon_metrics_declare(anon_metrics *m, const char *name, anon_metric_type type,
                         const char *help, anon_error *err);

/* Adds to a counter or gauge (creating the series at 0 first). */
int anon_metrics_add(anon_metrics *m, const char *name, const char *labels, double v);
/* Sets a gauge. */
int anon_metrics_set(anon_metrics *m, const char *name, const char *labels, double v);
/* Records one observation in a histogram. */
int anon_metrics_observe(anon_metrics *m, const char *name, const char *labels, double v);

/* Reads a counter or gauge (0 when the series does not exist); for tests. */
double anon_metrics_get(anon_metrics *m, const char *name, const char *labels);

/* Appends the whole registry in the Prometheus text format 0.0.4. */
int anon_metrics_render(anon_metrics *m, anon_buffer *out, anon_error *err);

#endif
