"""The two wirings of the stages: the live session (camera -> cues) and narration (photos -> sentences)."""
