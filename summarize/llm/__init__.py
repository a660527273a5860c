"""The model client (the only code that talks to openai/instructor), cassettes, prompts, rate limits."""
