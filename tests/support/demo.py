"""What the demo call (appliance.democall) says, as tests check a transcript of it."""

# Words that each utterance of the demo script must yield (robust to Whisper's spelling).
KEY_WORDS = [
    (1, ["nobody", "available"]),
    (0, ["disposed", "young man"]),
    (1, ["phone system"]),
    (0, ["selfish"]),
    (1, ["phone number", "area"]),
    (0, ["amiable"]),
    (1, ["representatives", "busy"]),
    (0, ["dashwood", "leisure"]),
]
