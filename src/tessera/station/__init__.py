"""The station daemon: policy, executor, data access; and enrolment."""
