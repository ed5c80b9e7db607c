/* test_metrics.c - the Prometheus registry behind /metrics. */
#include "check.h"
#include "base/metrics.h"

static int contains(const anon_buffer *b, const char *text)
{
    return b->len && memmem(b->data, b->len, text, strlen(text)) != NULL;
}

TEST(counters_gauges_histograms_render)
{
    anon_error err;
    anon_metrics *m = anon_metrics_new(&err);
    CHECK(m != NULL);
    CHECK(anon_metrics_declare(m, "req_total", ANON_METRIC_COUNTER, "requests", &err) == 0);
    CHECK(anon_metrics_declare(m, "busy", ANON_METRIC_GAUGE, "busy now", &err) == 0);
    CHECK(anon_metrics_declare(m, "lat_seconds", ANON_METRIC_HISTOGRAM, "latency", &err) == 0);
    CHECK(anon_metrics_add(m, "req_total", "code=\"200\"", 1) == 0);
    CHECK(anon_metrics_add(m, "req_total", "code=\"200\"", 2) == 0);
    CHECK(anon_metrics_add(m, "req_total", "code=\"503\"", 1) == 0);
    CHECK(anon_metrics_set(m, "busy", "", 7) == 0);
    CHECK(anon_metrics_observe(m, "lat_seconds", "route=\"/x\"", 0.02) == 0);
    CHECK(anon_metrics_observe(m, "lat_seconds", "route=\"/x\"", 100) == 0);
    CHECK(anon_metrics_get(m, "req_total", "code=\"200\"") == 3);

    anon_buffer out = ANON_BUFFER_INIT;
    CHECK(anon_metrics_render(m, &out, &err) == 0);
    CHECK(contains(&out, "# TYPE req_total counter\n"));
    CHECK(contains(&out, "req_total{code=\"200\"} 3\n"));
    CHECK(contains(&out, "req_total{code=\"503\"} 1\n"));
    CHECK(contains(&out, "busy 7\n"));
    CHECK(contains(&out, "lat_seconds_bucket{route=\"/x\",le=\"0.01\"} 0\n"));
    CHECK(contains(&out, "lat_seconds_bucket{route=\"/x\",le=\"0.025\"} 1\n"));
    CHECK(contains(&out, "lat_seconds_bucket{route=\"/x\",le=\"+Inf\"} 2\n"));
    CHECK(contains(&out, "lat_seconds_count{route=\"/x\"} 2\n"));
    anon_buffer_free(&out);
    anon_metrics_free(m);
}

TEST(misuse_is_refused)
{
    anon_error err;
    anon_metrics *m = anon_metrics_new(&err);
    CHECK(anon_metrics_declare(m, "c", ANON_METRIC_COUNTER, "c", &err) == 0);
    CHECK(anon_metrics_declare(m, "c", ANON_METRIC_GAUGE, "again", &err) == -1);
    CHECK(anon_metrics_add(m, "undeclared", "", 1) == -1);
    CHECK(anon_metrics_set(m, "c", "", 1) == -1);       /* counters are not set */
    CHECK(anon_metrics_observe(m, "c", "", 1) == -1);   /* nor observed */
    anon_metrics_free(m);
}

RUN_TESTS("metrics", CASE(counters_gauges_histograms_render), CASE(misuse_is_refused))
