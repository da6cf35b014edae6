"""viva: a voice-first mock interviewer for machine-learning job interviews."""

__version__ = "0.1.0"
