"""litert-build: a doit plugin that turns Keras models into verified LiteRT artifacts.

Importing this package is cheap on purpose: TensorFlow and Keras are imported only
inside the conversion worker (``litert_build.worker.main``), never here.
"""

__version__ = "0.6.0"
