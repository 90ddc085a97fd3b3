"""The coordinator console (Django's admin site), by concept:

- ``base``: ``AuditedAdmin`` (every look at case data is an audit row), the read-only
  permission trio, and ``ExtensibleAdmin`` for admins other apps add to;
- ``hooks``: what intake, billing, reports, imaging and PACS add to the console, registered
  from their ``console.py`` at app-ready time (``cases`` imports none of them);
- ``queue``: the queue's rows, search, sidebar choices and paginator;
- ``case_page``: the case admin (queue configuration, case page, buttons, messages,
  dashboard views), with ``moves`` (the buttons' forms and checks), ``timeline``,
  ``dashboard``, ``filters`` and ``labels`` (the console's words);
- ``audit``: the audit log and the outbox; ``policy``: closures and the turnaround policy.

Django's admin discovery imports this package; importing the modules registers their admins.
"""

from . import audit, case_page, policy

__all__ = ["audit", "case_page", "policy"]
