/* metrics.c - the Prometheus registry behind /metrics (see metrics.h).
 *
 * A handful of metrics with a handful of series each: plain arrays and a
 * linear search under one mutex are simpler than a hash table and fast
 * enough for a few hundred requests per second. */
#include "base/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double bucket_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                       0.5,   1,    2.5,   5,    10,  30};
#define N_BUCKETS (sizeof bucket_bounds / sizeof bucket_bounds[0])

struct series {
    char *labels;
    double value;                  /* counter, gauge; histogram sum */
    unsigned long count;           /* histogram observations */
    unsigned long buckets[N_BUCKETS];
};

struct metric {
    char *name;
    char *help;
    anon_metric_type type;
    struct series *series;
    size_t n_series;
};

struct anon_metrics {
    pthread_mutex_t lock;
    struct metric *metrics;
    size_t n_metrics;
};

anon_metrics *anon_metrics_new(anon_error *err)
{
    anon_metrics *m = calloc(1, sizeof *m);
    if (m == NULL) {
        anon_fail(err, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

void anon_metrics_free(anon_metrics *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n_metrics; i++) {
        for (size_t j = 0; j < m->metrics[i].n_series; j++)
            free(m->metrics[i].series[j].labels);
        free(m->metrics[i].series);
        free(m->metrics[i].name);
        free(m->metrics[i].help);
    }
    free(m->metrics);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static struct metric *find_metric(anon_metrics *m, const char *name)
{
    for (size_t i = 0; i < m->n_metrics; i++)
        if (strcmp(m->metrics[i].name, name) == 0)
            return &m->metrics[i];
    return NULL;
}

int anon_metrics_declare(anon_metrics *m, const char *name, anon_metric_type type,
                         const char *help, anon_error *err)
{
    pthread_mutex_lock(&m->lock);
    int rc = 0;
    if (find_metric(m, name) != NULL) {
        rc = anon_fail(err, "metric %s declared twice", name);
        goto out;
    }
    struct metric *grown = realloc(m->metrics, (m->n_metrics + 1) * sizeof *grown);
    if (grown == NULL) {
        rc = anon_fail(err, "out of memory");
        goto out;
    }
    m->metrics = grown;
    struct metric *mt = &m->metrics[m->n_metrics];
    *mt = (struct metric){.name = strdup(name), .help = strdup(help), .type = type};
    if (mt->name == NULL || mt->help == NULL) {
        free(mt->name);
        free(mt->help);
        rc = anon_fail(err, "out of memory");
        goto out;
    }
    m->n_metrics++;
out:
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* Finds or creates a series; the caller holds the lock. */
static struct series *find_series(anon_metrics *m, const char *name, const char *labels,
                                  anon_metric_type want)
{
    struct metric *mt = find_metric(m, name);
    if (mt == NULL || mt->type != want)
        return NULL;
    if (labels == NULL)
        labels = "";
    for (size_t i = 0; i < mt->n_series; i++)
        if (strcmp(mt->series[i].labels, labels) == 0)
            return &mt->series[i];
    struct series *grown = realloc(mt->series, (mt->n_series + 1) * sizeof *grown);
    if (grown == NULL)
        return NULL;
    mt->series = grown;
    struct series *s = &mt->series[mt->n_series];
    *s = (struct series){.labels = strdup(labels)};
    if (s->labels == NULL)
        return NULL;
    mt->n_series++;
    return s;
}

static int update(anon_metrics *m, const char *name, const char *labels, double v,
                  int op)
{
    pthread_mutex_lock(&m->lock);
    struct metric *mt = find_metric(m, name);
    anon_metric_type type = mt ? mt->type : ANON_METRIC_COUNTER;
    struct series *s = mt ? find_series(m, name, labels, type) : NULL;
    int rc = -1;
    if (s != NULL && op == 'a' && type != ANON_METRIC_HISTOGRAM) {
        s->value += v;
        rc = 0;
    } else if (s != NULL && op == 's' && type == ANON_METRIC_GAUGE) {
        s->value = v;
        rc = 0;
    } else if (s != NULL && op == 'o' && type == ANON_METRIC_HISTOGRAM) {
        s->value += v;
        s->count++;
        for (size_t i = 0; i < N_BUCKETS; i++)
            if (v <= bucket_bounds[i])
                s->buckets[i]++;
        rc = 0;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

int anon_metrics_add(anon_metrics *m, const char *name, const char *labels, double v)
{
    return update(m, name, labels, v, 'a');
}

int anon_metrics_set(anon_metrics *m, const char *name, const char *labels, double v)
{
    return update(m, name, labels, v, 's');
}

int anon_metrics_observe(anon_metrics *m, const char *name, const char *labels, double v)
{
    return update(m, name, labels, v, 'o');
}

double anon_metrics_get(anon_metrics *m, const char *name, const char *labels)
{
    double v = 0;
    pthread_mutex_lock(&m->lock);
    struct metric *mt = find_metric(m, name);
    for (size_t i = 0; mt && i < mt->n_series; i++)
        if (strcmp(mt->series[i].labels, labels ? labels : "") == 0)
            v = mt->series[i].value;
    pthread_mutex_unlock(&m->lock);
    return v;
}

static int appendf(anon_buffer *out, anon_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int appendf(anon_buffer *out, anon_error *err, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        return anon_fail(err, "metrics line too long");
    return anon_buffer_append(out, line, (size_t)n, err);
}

/* "{labels}" or "{labels,extra}" or "{extra}" or "". */
static void label_set(char *dst, size_t size, const char *labels, const char *extra)
{
    const char *sep = labels[0] && extra[0] ? "," : "";
    if (!labels[0] && !extra[0])
        dst[0] = '\0';
    else
        snprintf(dst, size, "{%s%s%s}", labels, sep, extra);
}

static int render_series(const struct metric *mt, const struct series *s,
                         anon_buffer *out, anon_error *err)
{
    char set[640];
    if (mt->type != ANON_METRIC_HISTOGRAM) {
        label_set(set, sizeof set, s->labels, "");
        return appendf(out, err, "%s%s %.17g\n", mt->name, set, s->value);
    }
    for (size_t i = 0; i <= N_BUCKETS; i++) {
        char le[48];
        if (i < N_BUCKETS)
            snprintf(le, sizeof le, "le=\"%g\"", bucket_bounds[i]);
        else
            snprintf(le, sizeof le, "le=\"+Inf\"");
        label_set(set, sizeof set, s->labels, le);
        unsigned long n = i < N_BUCKETS ? s->buckets[i] : s->count;
        if (appendf(out, err, "%s_bucket%s %lu\n", mt->name, set, n) < 0)
            return -1;
    }
    label_set(set, sizeof set, s->labels, "");
    if (appendf(out, err, "%s_sum%s %.17g\n", mt->name, set, s->value) < 0)
        return -1;
    return appendf(out, err, "%s_count%s %lu\n", mt->name, set, s->count);
}

int anon_metrics_render(anon_metrics *m, anon_buffer *out, anon_error *err)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n_metrics && rc == 0; i++) {
        const struct metric *mt = &m->metrics[i];
        rc = appendf(out, err, "# HELP %s %s\n# TYPE %s %s\n", mt->name, mt->help,
                     mt->name, type_names[mt->type]);
        for (size_t j = 0; j < mt->n_series && rc == 0; j++)
            rc = render_series(mt, &mt->series[j], out, err);
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}
