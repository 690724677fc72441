"""What the commands run: the check pipeline and the load run, as library code.

A command in :mod:`yzt.commands` parses its flags and calls one entry point here
(:meth:`yzt.pipeline.check.CheckPipeline.run`, :func:`yzt.pipeline.load.run_load`); nothing here
reads ``sys.argv`` or imports a command, so the same steps can be driven from Python or from a test.
Nothing is imported at package level, so ``yzt --help`` stays fast.
"""
