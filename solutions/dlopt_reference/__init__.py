"""dlopt_reference: the hidden reference implementations of the course (instructors only).

Every algorithm of the course exists here once; the graders (:mod:`dlopt_reference.grading`)
compare students' functions with these. Modules:

- :mod:`~dlopt_reference.optim` update rules ``f(w, dw, config) -> (next_w, config)``
- :mod:`~dlopt_reference.data` minibatches
- :mod:`~dlopt_reference.lr_range` the learning-rate range test
- :mod:`~dlopt_reference.schedules` learning-rate schedules (TensorFlow 1 semantics)
- :mod:`~dlopt_reference.batchnorm` batch normalization forward and backward (cs231n)
- :mod:`~dlopt_reference.search` hyperparameter search
- :mod:`~dlopt_reference.ensembles` model ensembles and parameter averaging
- :mod:`~dlopt_reference.second_order` Newton, BFGS and L-BFGS
- :mod:`~dlopt_reference.practice` warmup + cosine, global-norm clipping, layer normalization, the top
  Hessian eigenvalue
"""

__version__ = "0.1.0"
