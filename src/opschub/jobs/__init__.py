"""Background work: due rows in the database, carried to workers by a broker.

For a capability, three things matter (see docs/operations.md, "Jobs for developers"):

- declare a task in its ``tasks.py`` with :func:`task` and list the module in
  :data:`opschub.jobs.registry.TASK_MODULES`;
- create due work with :func:`schedule` (a unique key per unit of work) in the transaction of
  the change that makes it due;
- report progress with :meth:`JobContext.progress`; periodic runs are set in
  ``OPSCHUB_SCHEDULES``;
- raise :class:`GiveUp` when another try cannot succeed: the job is parked as failed at once.
"""

from opschub.jobs.registry import task
from opschub.jobs.runner import GiveUp, JobContext, LostClaim
from opschub.jobs.service import JobError, schedule

__all__ = ["GiveUp", "JobContext", "JobError", "LostClaim", "schedule", "task"]
