"""Celery tasks of the cases app. Tasks take ids, reload, and are safe to run twice.

The outbox's tasks (sending, the sweep of stuck emails) are core's: core/tasks.py.
"""

from celery import shared_task

from .clock_alerts import acceptance_alerts_send, clock_alerts_send


@shared_task(acks_late=True)
def clock_sweep() -> int:
    return clock_alerts_send() + acceptance_alerts_send()
