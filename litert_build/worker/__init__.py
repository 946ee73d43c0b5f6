"""The conversion worker (a child process, the only place that imports TensorFlow/Keras): load,
convert, verify, write.
"""
