"""The instructor's tool for the course: ``dlopt-course --help``.

Its modules follow a submission's path (README, "The flow"):

- the book: :mod:`.build_book`, :mod:`.chapter_notebooks`, :mod:`.execute`;
- the exercises' student versions and the release: :mod:`.notebooks`, :mod:`.release`, :mod:`.release_checks`,
  :mod:`.leaks`;
- collection: :mod:`.trusted_collect`, :mod:`.lms_collector`, :mod:`.import_submissions`, :mod:`.intake`;
- grading: :mod:`.grading` (scheduling, preparing, the isolated run, merging into the gradebook), built on
  :mod:`.isolation` (the sandbox the kernel confines);
- feedback, export and reports: :mod:`.feedback_page`, :mod:`.export`, :mod:`.rubrics`, :mod:`.similarity`;
- the course on a shared machine: :mod:`.permissions`, :mod:`.integrity`, :mod:`.hub_setup`, ``jupyterhub/``;
- benchmarks: ``bench_*``.
"""

__version__ = "0.1.0"
