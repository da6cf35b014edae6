"""One live session, made of parts that each own one job (see ARCHITECTURE.md).

`conversation.Conversation` wires them: the `Listener` turns microphone samples into
typed events, the `PieceTranscriber` has each piece transcribed, the `Assessor` scores,
the `ReplyPlanner` decides the interviewer's move, the `Speaker` says it, and the
`Journal` keeps the records and their storage in order.
"""
