"""Who is calling: staff users with passwords, API keys, and the roles they hold."""
