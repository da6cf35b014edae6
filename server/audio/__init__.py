"""Audio plumbing: PCM conversion, resampling, voice activity, endpointing, pacing."""
