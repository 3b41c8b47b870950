"""The ``openrouter-fallback`` command: validate, payloads, schema, drill, demo, notebooks."""
