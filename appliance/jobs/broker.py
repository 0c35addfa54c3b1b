"""The Celery application both sides share: the box publishes tickets, remote workers consume
them (appliance/jobs/dispatch.py, appliance/jobs/remote.py). RabbitMQ is the broker.

What the delivery guarantees rest on: the queue is durable and every message persistent and
confirmed by the broker before the box counts it as sent, so a broker restart loses nothing;
a worker acknowledges a ticket only after the box has stored its result (acks_late), and a
worker that dies mid-job, or whose connection drops, has its ticket redelivered
(reject_on_worker_lost); one ticket at a time per worker, so priorities hold. Redelivery can
make a job run twice; the box stores its result once (store.jobs.store_result).

Celery is an optional extra (`pip install .[scale]`): only imported where a broker is set.
"""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from appliance.jobs.contract import JobTicket

QUEUE = "appliance.transcribe"
TASK = "appliance.transcribe"
MAX_PRIORITY = 9


def celery_app(broker_url: str) -> Celery:
    app = Celery("appliance", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_queues=[Queue(QUEUE, routing_key=QUEUE, durable=True,
                           queue_arguments={"x-max-priority": MAX_PRIORITY})],
        task_default_queue=QUEUE,
        task_default_delivery_mode="persistent",
        task_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"confirm_publish": True},
        broker_connection_retry_on_startup=True,
        # A machine unplugged mid-job: RabbitMQ closes its connection after two missed
        # heartbeats, a minute, and redelivers its ticket.
        broker_heartbeat=30,
        # Workers need no remote control or task events: fewer queues on the broker.
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
    )
    return app


def publish(app: Celery, ticket: JobTicket) -> None:
    """Send a ticket and wait for the broker's confirmation; raises if the broker is away."""
    app.send_task(
        TASK, args=[ticket.to_dict()], queue=QUEUE, priority=min(ticket.priority, MAX_PRIORITY),
        retry=False,
        # What Celery shows of a message in its logs: the job, never the call's numbers.
        argsrepr=f"(job {ticket.job_id})", kwargsrepr="{}",
    )
