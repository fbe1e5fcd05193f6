"""fer-audio: hear the facial expressions of the person you are talking to."""

__version__ = "0.1.0"
