"""Training path for fer-audio's expression model (imports TensorFlow/Keras; not used at run time)."""
