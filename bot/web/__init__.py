"""The web transport: the workshop page for the projector, its PDF, and a participant's own PDF.

Everything here renders what `flows.disclosure` published (`PublishedReport`, the object the
chat report renders too); `bot.web.model` is the one place that reads it, and templates read
only the page model it builds.
"""
