"""nbgrader configuration for the dlopt course (the course root is this folder).

Source assignments live in ``exercises/<assignment>/<assignment>.ipynb``; nbgrader writes
``release/``, ``submitted/``, ``autograded/``, ``feedback/`` and ``gradebook.db`` here
(all git-ignored: the gradebook stores the hidden tests and must never be committed or shipped).
"""

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "dlopt"
c.CourseDirectory.source_directory = "exercises"
c.CourseDirectory.release_directory = "release"

# Student notebooks and helper files only: never copy anything else into a release.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

# What a student sees where the model answer was.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# The per-cell time limit (ExecutePreprocessor.timeout is ignored by nbgrader 0.9).
c.Execute.timeout = 120

# `nbgrader collect` (from an exchange) with the course's collector: submission times from the kernel's
# change times, never from what the student's process wrote; links in a submission are never followed.
c.ExchangeFactory.collect = "dlopt_course.trusted_collect.TrustedCollect"

# `nbgrader generate_feedback` writes the course's feedback page: every check named with its points and
# diagnosis at the top, whole failure lines, no hidden test code, MathJax inlined (renders offline).
# The page is the instructor's tool: a student's checkout without dlopt_course keeps nbgrader's default.
try:
    from dlopt_course.feedback_page import configure as _configure_feedback
except ImportError:
    pass
else:
    _configure_feedback(c)
    # `nbgrader zip_collect` reads Canvas and Moodle download names (lms_collector's docstring says how).
    c.ZipCollectApp.collector_plugin = "dlopt_course.lms_collector.LmsCollector"
