/* RabbitMQ through its management HTTP API (GET /api/overview and GET /api/queues; fields as
 * documented in the management plugin's HTTP API reference, RabbitMQ 3.10). */
#ifndef HM_COLLECTORS_RABBITMQ_H
#define HM_COLLECTORS_RABBITMQ_H

#include <stdint.h>

#include "collectors/collector.h"
#include "lib/util.h"

typedef struct rabbitmq_queue {
    char *name;
    char *vhost;
    double messages;   /* total; 0 when the broker has not published stats for the queue yet */
    double ready;      /* messages_ready */
    double unacked;    /* messages_unacknowledged */
    double consumers;
} rabbitmq_queue;

typedef struct rabbitmq_info {
    char *version; /* rabbitmq_version, e.g. "3.10.8", or NULL */
    char *node;    /* node, e.g. "rabbit@localhost", or NULL */
    rabbitmq_queue *queues;
    size_t n_queues;
} rabbitmq_info;

void rabbitmq_info_free(rabbitmq_info *info);

/* Reads version and node from the answer of /api/overview. Returns 0, or -1 with e set
 * ("empty answer instead of JSON", "malformed JSON at line L: ...", "expected a JSON object"). */
int rabbitmq_parse_overview(const char *json, rabbitmq_info *info, hm_err *e);

/* Reads the queues from the answer of /api/queues (an array). A missing or non-numeric counter
 * counts as 0; entries without a string name are skipped. Returns 0, or -1 with e set as
 * rabbitmq_parse_overview does ("expected an array of queues"). */
int rabbitmq_parse_queues(const char *json, rabbitmq_info *info, hm_err *e);

/* The "rabbitmq" component and its samples from parsed answers: ok with "RabbitMQ V on NODE: N
 * queues, M messages", or warning when a queue holds at least queue_warning messages, naming
 * the fullest ("queue 'hm.tasks' holds 12 messages (warning at 10)"). Samples rabbitmq.up 1,
 * rabbitmq.queues and per queue rabbitmq.queue.{messages,messages_ready,
 * messages_unacknowledged,consumers}{queue="Q"[,vhost="V" when V is not "/"]}, all at now_ms. */
void rabbitmq_report(const rabbitmq_info *info, double queue_warning, int64_t now_ms,
                     hm_result *out);

#endif
