"""The domain of the self-check, pure Python: questionnaire, scoring, conversation, groups."""
