"""The opt-out keywords Aculab's reference lists: an inbound message whose whole text is one
of these blocks (STOP_WORDS) or unblocks (START_WORDS) the pair. The stack's defaults
(StopWords, StartWords) and the webhook's, in one place."""

STOP_WORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
START_WORDS = ("START", "YES")
