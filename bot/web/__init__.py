"""The web transport: the workshop page for the projector, its PDF, and a participant's own PDF.

Everything here renders figures that `flows.aggregation` computed; `bot.web.model` is the one
place that reads the aggregation, and templates read only the page model it builds.
"""
