"""Start-up, configuration, the operator CLI and the authoring commands."""
