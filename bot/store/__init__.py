"""Storage: all SQL (database, migrations, repositories) and the questionnaire files."""
