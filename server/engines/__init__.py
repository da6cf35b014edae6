"""Model engines behind small interfaces: speech to text, text to speech, the optional LLM.

Engines know nothing of sessions or the protocol. They are loaded once, in the
app's lifespan, and shared by every connection.
"""
