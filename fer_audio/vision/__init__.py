"""Frame -> faces with probabilities: sources, detection, crops, the expression model (Recognizer)."""
